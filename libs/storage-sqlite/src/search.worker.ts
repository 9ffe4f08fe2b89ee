import { QueryBudgetExceeded, serveJobs, sharedClockNow, testLinesUntil } from '@daylog/storage';
import { BlockJob, CompactedReads } from './block-reads';
import { Statement } from './page-statement';
import { ReadConnections } from './read-connections';
import { ForgetFiles, RowsAnswer, SearchWork } from './search-protocol';
import { TextSearchFunctions } from './text-search-functions';

const textSearch = new TextSearchFunctions();
const connections = new ReadConnections(textSearch);

function rows(file: string, statement: Statement, deadline: number | null): RowsAnswer {
  textSearch.limitTime(deadline === null ? null : { maxScannedLines: Infinity, deadlineMs: deadline, timeoutMs: Infinity, now: sharedClockNow });
  try {
    return connections.get(file).all(statement);
  } catch (error) {
    if (error instanceof QueryBudgetExceeded) return 'out-of-time';
    throw error;
  }
}

function blocks(file: string, job: BlockJob, deadline: number | null): RowsAnswer {
  textSearch.limitTime(deadline === null ? null : { maxScannedLines: Infinity, deadlineMs: deadline, timeoutMs: Infinity, now: sharedClockNow });
  try {
    return new CompactedReads(connections.get(file), file, deadline).run(job);
  } catch (error) {
    if (error instanceof QueryBudgetExceeded) return 'out-of-time';
    throw error;
  }
}

serveJobs<SearchWork, ForgetFiles>(
  (work, deadline) => {
    if (work.type === 'rows') return rows(work.file, work.statement, deadline);
    if (work.type === 'blocks') return blocks(work.file, work.job, deadline);
    return testLinesUntil(work, deadline);
  },
  ({ forget }) => connections.forget(forget),
);
