// What Daylog stored of the compose scene's nginx, read from the host as a user would (test/compose/scene.sh).
//   node scene-lines.mjs labelled URL      every stored line carries the seed pod's labels, its level and its own
//                                          time; a 200, a 404, a 502 and an error.log line are among them
//   node scene-lines.mjs same URL DIR      the stored lines of each source are exactly nginx's own file DIR/<source>,
//                                          each line as many times as nginx wrote it
// Exit 0: it holds; 2: not yet (lines still missing, none wrong: worth asking again); 1: a wrong line.
import console from 'node:console';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URLSearchParams } from 'node:url';

const SOURCES = ['access.log', 'error.log'];
const LABELS = { namespace: 'default', pod: 'webserver', container: 'nginx' };
// The levels nginx's error.log is written at (error_log ... warn) as Daylog names them.
const ERROR_LOG_LEVELS = { warn: 'warn', error: 'error', crit: 'fatal', alert: 'fatal', emerg: 'fatal' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const [mode, base, dir] = process.argv.slice(2);

/** Every line of the seed pod, oldest first, page after page. */
async function storedLines() {
  const lines = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ pod: LABELS.pod, since: '1h', direction: 'forward', limit: '5000', format: 'json' });
    if (cursor) query.set('cursor', cursor);
    const response = await globalThis.fetch(`${base}/api/v1/logs?${query}`);
    if (!response.ok) throw new Error(`GET /api/v1/logs?${query}: ${response.status} ${await response.text()}`);
    const page = await response.json();
    lines.push(...page.lines);
    cursor = page.nextCursor;
  } while (cursor);
  return lines;
}

/** The time nginx wrote in the line (the containers' zone is UTC), as Daylog's `ts`. */
function ownTime(line) {
  const access = /\[(\d\d)\/(\w{3})\/(\d{4}):(\d\d:\d\d:\d\d) \+0000\]/.exec(line.message);
  if (line.source === 'access.log' && access) {
    const [, day, month, year, time] = access;
    return `${year}-${String(MONTHS.indexOf(month) + 1).padStart(2, '0')}-${day}T${time}.000Z`;
  }
  const error = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d) /.exec(line.message);
  return error && `${error[1]}-${error[2]}-${error[3]}T${error[4]}.000Z`;
}

function expectedLevel(line) {
  if (line.source === 'error.log') return ERROR_LOG_LEVELS[/^\S+ \S+ \[(\w+)\]/.exec(line.message)?.[1]];
  const status = line.fields?.status;
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

function wrongIn(line) {
  const labels = { namespace: line.namespace, pod: line.pod, container: line.container };
  if (JSON.stringify(labels) !== JSON.stringify(LABELS)) return `labels ${JSON.stringify(labels)}`;
  if (!SOURCES.includes(line.source)) return `source ${line.source}`;
  if (line.level !== expectedLevel(line)) return `level ${line.level}, expected ${expectedLevel(line)}`;
  if (line.ts !== ownTime(line)) return `ts ${line.ts}, the line's own time ${ownTime(line)}`;
  return null;
}

async function labelled() {
  const lines = await storedLines();
  const wrong = lines.map((line) => [wrongIn(line), line]).find(([why]) => why);
  if (wrong) {
    console.log(`a stored line is wrong (${wrong[0]}): ${JSON.stringify(wrong[1])}`);
    return 1;
  }
  const seen = new Set(lines.map((line) => (line.source === 'access.log' ? `access.log ${line.fields?.status}` : line.source)));
  const missing = ['access.log 200', 'access.log 404', 'access.log 502', 'error.log'].filter((kind) => !seen.has(kind));
  console.log(`${lines.length} lines stored, each with its labels, level and time; not yet seen: ${missing.join(', ') || 'none'}`);
  return missing.length ? 2 : 0;
}

const counted = (lines) => lines.reduce((counts, line) => counts.set(line, (counts.get(line) ?? 0) + 1), new Map());

async function same() {
  const stored = await storedLines();
  let status = 0;
  for (const source of SOURCES) {
    const written = counted(readFileSync(join(dir, source), 'utf8').split('\n').filter(Boolean));
    const kept = counted(stored.filter((line) => line.source === source).map((line) => line.message));
    const missing = [...written].filter(([line, times]) => (kept.get(line) ?? 0) < times).map(([line]) => line);
    const extra = [...kept].filter(([line, times]) => times > (written.get(line) ?? 0)).map(([line]) => line);
    const total = (counts) => [...counts.values()].reduce((sum, times) => sum + times, 0);
    console.log(`${source}: nginx wrote ${total(written)} lines, Daylog has ${total(kept)}; ${missing.length} missing, ${extra.length} doubled or unknown`);
    for (const line of [...missing.slice(0, 3).map((l) => `missing: ${l}`), ...extra.slice(0, 3).map((l) => `extra: ${l}`)]) console.log(`  ${line}`);
    if (extra.length) status = 1;
    else if (missing.length && status === 0) status = 2;
  }
  return status;
}

const modes = { labelled, same };
if (!(mode in modes) || !base || (mode === 'same' && !dir)) {
  console.error('usage: node scene-lines.mjs labelled URL | same URL DIR');
  process.exit(1);
}
process.exitCode = await modes[mode]().catch((error) => {
  console.log(error.message);
  return 2;
});
