import { QueryBudgetExceeded, serveJobs, sharedClockNow, testLinesUntil } from '@daylog/storage';
import { BlockJob, CompactedReads } from './block-reads';
import { Statement } from './page-statement';
import { ReadConnections } from './read-connections';
import { ForgetFiles, RowsAnswer, SearchWork, WindowWork, WindowsAnswer } from './search-protocol';
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

/** Each window in turn, the rows it may still add its limit (rows come in reading order: the first are those a LIMIT keeps). */
function windows(work: (WindowWork & { deadline: number | null })[], limit: number): WindowsAnswer {
  const answer: WindowsAnswer = { rows: [], outOfTime: null };
  let found = 0;
  for (const [i, window] of work.entries()) {
    if (found >= limit) break;
    const left = limit - found;
    const late = window.deadline !== null && sharedClockNow() > window.deadline;
    const read = late ? 'out-of-time' : window.job ? blocks(window.file, { ...window.job, limit: left }, window.deadline) : rows(window.file, window.statement, window.deadline);
    if (read === 'out-of-time') return { ...answer, outOfTime: i };
    answer.rows.push(read.slice(0, left));
    found += Math.min(read.length, left);
  }
  return answer;
}

serveJobs<SearchWork, ForgetFiles>(
  (work, deadline) => {
    if (work.type === 'rows') return rows(work.file, work.statement, deadline);
    if (work.type === 'blocks') return blocks(work.file, work.job, deadline);
    if (work.type === 'windows') return windows(work.windows, work.limit);
    return testLinesUntil(work, deadline);
  },
  ({ forget }) => connections.forget(forget),
);
