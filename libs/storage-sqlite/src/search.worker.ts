import { parentPort } from 'node:worker_threads';
import { LogLine } from '@daylog/log-model';
import { LineFilter, lineMatcher, LinesTest, QueryBudgetExceeded } from '@daylog/storage';
import { ReadConnections } from './read-connections';
import { SearchReply, SearchRequest, sharedClockNow } from './search-protocol';
import { TextSearchFunctions } from './text-search-functions';

const port = parentPort!;
const textSearch = new TextSearchFunctions();
const connections = new ReadConnections(textSearch);

/** The clock is read after this many lines tested, or sooner after this many characters. */
const LINES_PER_CLOCK_READ = 64;
const CHARACTERS_PER_CLOCK_READ = 65_536;

/** Live tails' filters in use, by their JSON: a tail's is tested on every batch. */
const filters = new Map<string, (line: LogLine) => boolean>();
const FILTERS_KEPT = 32;

function matcherOf(filter: LineFilter): (line: LogLine) => boolean {
  const key = JSON.stringify(filter);
  let matcher = filters.get(key);
  if (!matcher) {
    if (filters.size >= FILTERS_KEPT) filters.clear();
    matcher = lineMatcher(filter);
    filters.set(key, matcher);
  }
  return matcher;
}

/** Tests lines in order until the deadline passes: which match, of how many tested. */
function test(filter: LineFilter, lines: LogLine[], deadline: number): LinesTest {
  const matches = matcherOf(filter);
  const passed = new Uint8Array(lines.length);
  let characters = 0;
  for (let i = 0; i < lines.length; i++) {
    characters += lines[i].message.length;
    if ((i % LINES_PER_CLOCK_READ === 0 || characters >= CHARACTERS_PER_CLOCK_READ) && sharedClockNow() > deadline) {
      return { matches: passed, tested: i };
    }
    if (characters >= CHARACTERS_PER_CLOCK_READ) characters = 0;
    passed[i] = matches(lines[i]) ? 1 : 0;
  }
  return { matches: passed, tested: lines.length };
}

function answer(request: Exclude<SearchRequest, { type: 'forget' }>): SearchReply {
  if (request.type === 'test') return { type: 'tested', id: request.id, ...test(request.filter, request.lines, request.deadline) };
  const { deadline } = request;
  textSearch.limitTime(deadline === null ? null : { maxScannedLines: Infinity, deadlineMs: deadline, timeoutMs: Infinity, now: sharedClockNow });
  try {
    return { type: 'rows', id: request.id, rows: connections.get(request.file).all(request.statement) };
  } catch (error) {
    if (error instanceof QueryBudgetExceeded) return { type: 'out-of-time', id: request.id };
    throw error;
  }
}

port.on('message', (request: SearchRequest) => {
  if (request.type === 'forget') {
    connections.forget(request.files);
    return;
  }
  try {
    port.postMessage(answer(request));
  } catch (error) {
    port.postMessage({ type: 'failed', id: request.id, message: (error as Error).message } satisfies SearchReply);
  }
});
