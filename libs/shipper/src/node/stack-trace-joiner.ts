import { CappedLineBytes, keptLineBytes } from '../line-cap';
import { RecordStream } from './container-record';
import { FilePosition, JoinedLine, JoinerLimits, oldestStartIn } from './piece-joiner';

/** What a group's first line says follows it: Python's and Go's traces have lines of their own shapes. */
type TraceKind = 'plain' | 'python' | 'go';

interface Group<F> {
  first: JoinedLine<F>;
  last: JoinedLine<F>;
  kind: TraceKind;
  /** Made at the first continuation: most lines have none and go out as they came. */
  bytes?: CappedLineBytes;
  partsTruncatedBytes: number;
  partsInvalidUtf8: boolean;
  complete: boolean;
  fileStarts: FilePosition<F>[];
  lastPartMs: number;
}

const INDENTED = /^[ \t]+\S/;
// Java's (and Kotlin's, Scala's) lines below a frame list, and an unindented frame.
const JAVA_CONTINUATION = /^(?:(?:Caused by|Suppressed): |\.\.\. \d+ (?:more|common frames omitted)$|at \S.*\)$)/;
const PYTHON_START = /^Traceback \(most recent call last\):$/;
const PYTHON_CHAIN =
  /^(?:Traceback \(most recent call last\):|During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;
// `ValueError: bad`, `KeyboardInterrupt`: the line after the last indented frame.
const PYTHON_EXCEPTION = /^[A-Za-z_][\w.]*(?::\s.*)?$/;
const GO_START = /^(?:panic: |fatal error: )/;
const GO_GOROUTINE = /^goroutine \d+ \[[^\]]*\]:$/;
// `main.main()`, `main.(*T).run(0xc000010000)`, `created by main.start in goroutine 1`, `[signal SIGSEGV: …]`.
const GO_CONTINUATION = /^(?:created by \S|\[signal |[\w./*()[\]{}-]+\(.*\)$)/;

function kindOf(text: string): TraceKind {
  if (PYTHON_START.test(text)) return 'python';
  return GO_START.test(text) || GO_GOROUTINE.test(text) ? 'go' : 'plain';
}

/**
 * Joins stack traces (Java, Python, Go, Node) to the line they belong to, per stream, with `\n`
 * between their lines: DAYLOG_MULTILINE=stacktrace, after pieces are joined. Only lines of a trace's
 * own shapes join, and only within the time-out of the line before by their own times (a backlog
 * read at once must not join lines written apart): a false join hides a line inside another, a
 * missed one only leaves a trace in parts. Every line waits for the next line of its stream, or the
 * time-out.
 */
export class StackTraceJoiner<F> {
  private readonly open = new Map<RecordStream, Group<F>>();
  private readonly capBytes: number;

  constructor(private readonly limits: JoinerLimits) {
    this.capBytes = keptLineBytes(limits.maxLineBytes);
  }

  /** Takes the next line; returns the line it showed to be whole, if any. */
  push(line: JoinedLine<F>, nowMs: number): JoinedLine<F> | undefined {
    const group = this.open.get(line.stream);
    if (group && this.continues(group, line)) {
      this.append(group, line, nowMs);
      return undefined;
    }
    const done = group && this.finish(group);
    this.open.set(line.stream, {
      first: line,
      last: line,
      kind: kindOf(line.text),
      partsTruncatedBytes: line.truncatedBytes,
      partsInvalidUtf8: line.invalidUtf8,
      complete: line.complete,
      fileStarts: [...line.fileStarts],
      lastPartMs: nowMs,
    });
    return done;
  }

  /** Lines no continuation came for within the time-out, counted from `notBeforeMs` if later (as PieceJoiner's). */
  expire(nowMs: number, notBeforeMs = 0): JoinedLine<F>[] {
    return this.deliver((group) => nowMs - Math.max(group.lastPartMs, notBeforeMs) >= this.limits.timeoutMs);
  }

  flush(): JoinedLine<F>[] {
    return this.deliver(() => true);
  }

  /** The earliest offset in `file` that a held line needs: no checkpoint of `file` may pass it. */
  oldestOpenStart(file: F): number | undefined {
    return oldestStartIn(file, this.open.values());
  }

  private continues(group: Group<F>, line: JoinedLine<F>): boolean {
    const { text, tsMs } = line;
    const before = group.last.tsMs;
    if (tsMs !== null && before !== null && Math.abs(tsMs - before) > this.limits.timeoutMs) return false;
    if (INDENTED.test(text) || JAVA_CONTINUATION.test(text)) return true;
    if (group.kind === 'python') return PYTHON_CHAIN.test(text) || (INDENTED.test(group.last.text) && PYTHON_EXCEPTION.test(text));
    if (group.kind === 'go') return GO_GOROUTINE.test(text) || GO_CONTINUATION.test(text);
    return false;
  }

  private append(group: Group<F>, line: JoinedLine<F>, nowMs: number): void {
    if (!group.bytes) {
      group.bytes = new CappedLineBytes(this.capBytes);
      group.bytes.append(Buffer.from(group.first.text));
    }
    group.bytes.append(Buffer.from(`\n${line.text}`));
    group.last = line;
    group.partsTruncatedBytes += line.truncatedBytes;
    group.partsInvalidUtf8 ||= line.invalidUtf8;
    group.complete &&= line.complete;
    for (const start of line.fileStarts) {
      if (!group.fileStarts.some((known) => known.file === start.file)) group.fileStarts.push(start);
    }
    group.lastPartMs = nowMs;
  }

  private deliver(due: (group: Group<F>) => boolean): JoinedLine<F>[] {
    const lines: JoinedLine<F>[] = [];
    for (const group of this.open.values()) if (due(group)) lines.push(this.finish(group));
    return lines;
  }

  private finish(group: Group<F>): JoinedLine<F> {
    this.open.delete(group.first.stream);
    if (!group.bytes) return group.first;
    const joined = group.bytes.take();
    return {
      text: joined.text,
      // Bytes a part lost were past the cap of the whole as well: a cut part filled the cap itself.
      truncatedBytes: joined.truncatedBytes + group.partsTruncatedBytes,
      invalidUtf8: joined.invalidUtf8 || group.partsInvalidUtf8,
      stream: group.first.stream,
      tsMs: group.first.tsMs,
      start: group.first.start,
      end: group.last.end,
      fileStarts: group.fileStarts,
      complete: group.complete,
    };
  }
}
