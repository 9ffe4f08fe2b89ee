import { Fields, Level, LogLine, MessageFormat } from '@daylog/log-model';
import { AppendBatch } from '@daylog/storage';

type LabelValues = Pick<LogLine, 'namespace' | 'pod' | 'container' | 'source'>;

/**
 * A batch as it crosses to the writer thread: one array per column, and each line's label set as an index
 * into the few the batch has. A thread copies a message by structured clone, object by object and key by key;
 * a batch of a thousand lines sent as objects cost each side 1–3 ms, as columns ~0.4 ms, and the writer
 * thread is the one ingest waits for.
 */
export interface WireBatch {
  idempotencyKey: string | null;
  receivedMs: number;
  wantPositions: boolean;
  ts: Float64Array;
  levels: Level[];
  messages: string[];
  fields: (Fields | null)[];
  formats: (MessageFormat | null)[];
  labelSets: LabelValues[];
  /** Each line's label set, as an index into labelSets. */
  labelSetOf: Uint32Array;
}

const sameLabels = (a: LabelValues, b: LogLine) =>
  a.pod === b.pod && a.namespace === b.namespace && a.container === b.container && a.source === b.source;

/** A label set's values as one string; JSON keeps a null apart from any text. */
const labelsKey = (line: LogLine) => JSON.stringify([line.namespace, line.pod, line.container, line.source]);

export function toWire(batch: AppendBatch): WireBatch {
  const count = batch.lines.length;
  const wire: WireBatch = {
    idempotencyKey: batch.idempotencyKey,
    receivedMs: batch.receivedMs,
    wantPositions: batch.wantPositions ?? false,
    ts: new Float64Array(count),
    levels: new Array<Level>(count),
    messages: new Array<string>(count),
    fields: new Array<Fields | null>(count),
    formats: new Array<MessageFormat | null>(count),
    labelSets: [],
    labelSetOf: new Uint32Array(count),
  };
  const setsByKey = new Map<string, number>();
  batch.lines.forEach((line, i) => {
    wire.ts[i] = line.ts;
    wire.levels[i] = line.level;
    wire.messages[i] = line.message;
    wire.fields[i] = line.fields;
    wire.formats[i] = line.format;
    // A batch's lines mostly share the labels of the line before: only the others are looked up by key.
    const previous = i === 0 ? -1 : wire.labelSetOf[i - 1];
    if (previous >= 0 && sameLabels(wire.labelSets[previous], line)) {
      wire.labelSetOf[i] = previous;
      return;
    }
    const key = labelsKey(line);
    let set = setsByKey.get(key);
    if (set === undefined) {
      set = wire.labelSets.push({ namespace: line.namespace, pod: line.pod, container: line.container, source: line.source }) - 1;
      setsByKey.set(key, set);
    }
    wire.labelSetOf[i] = set;
  });
  return wire;
}

export function fromWire(wire: WireBatch): AppendBatch {
  const lines = new Array<LogLine>(wire.ts.length);
  for (let i = 0; i < lines.length; i++) {
    const { namespace, pod, container, source } = wire.labelSets[wire.labelSetOf[i]];
    lines[i] = {
      ts: wire.ts[i],
      level: wire.levels[i],
      namespace,
      pod,
      container,
      source,
      message: wire.messages[i],
      fields: wire.fields[i],
      format: wire.formats[i],
    };
  }
  return { idempotencyKey: wire.idempotencyKey, receivedMs: wire.receivedMs, lines, wantPositions: wire.wantPositions };
}
