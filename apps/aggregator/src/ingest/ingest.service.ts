import { BadRequestException, ForbiddenException, HttpException, HttpStatus, Inject, Injectable, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import {
  IngestAnswer,
  LABEL_NAMES,
  LineBounds,
  LineDefaults,
  LineProblem,
  LineRejection,
  LogLine,
  Labels,
  OLDER_THAN_RETENTION,
  RejectionCause,
  labelProblem,
  normalizeLevel,
  validateLine,
} from '@daylog/log-model';
import { AppendResult, CursorPosition, DiskFull, LOG_STORE, LogStore, StoredLogLine, batchKey } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { RetryLaterException } from '../http/retry-later.exception';
import { NamespaceScope } from '../auth/access';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';
import { RetentionService } from '../retention/retention.service';
import { TailHub } from '../tail/tail-hub';
import { IngestBody, NumberedLine } from './ingest-body';
import { IngestQueryDto } from './ingest-query.dto';
import { QueueShares, RequestShare } from './queue-shares';
import { tooManyLines } from './request-limits';

const FUTURE_TOLERANCE_MS = 5 * 60_000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
export const WRITER_BEHIND = 'the writer is behind; retry this batch later';
export const WRITER_BEHIND_RETRY_SECONDS = 1;
/** Room is made in well under a second; a few seconds spares the disk a storm of retries meanwhile. */
const DISK_FULL_RETRY_SECONDS = 5;
const BATCH_SHAPE = 'the JSON body must be {"labels": {...}, "lines": [...]} or an array of lines';

/** A line for a namespace the sender's token may not write to is refused like any invalid line. */
function outOfScope(line: LogLine | LineProblem, scope: NamespaceScope): LogLine | LineProblem {
  if (line instanceof LineProblem || !scope || (line.namespace !== null && scope.includes(line.namespace))) return line;
  const namespace = line.namespace === null ? 'no namespace' : `namespace ${line.namespace}`;
  return new LineProblem('forbidden_namespace', `${namespace}: this token may only write to ${scope.join(', ')}`);
}

/** The lines of a batch that were stored, with where: what live tails are sent. */
function storedLines(lines: LogLine[], positions: (CursorPosition | undefined)[]): StoredLogLine[] {
  const stored: StoredLogLine[] = [];
  lines.forEach((line, i) => {
    const position = positions[i];
    if (position) stored.push({ ...line, position });
  });
  return stored;
}

@Injectable()
export class IngestService {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: AggregatorMetrics,
    private readonly tails: TailHub,
    private readonly retention: RetentionService,
    private readonly shares: QueueShares,
  ) {}

  async ingest(
    body: IngestBody | undefined,
    query: IngestQueryDto,
    idempotencyKey: string | undefined,
    scope: NamespaceScope,
    share: RequestShare,
  ): Promise<IngestAnswer> {
    if (body === undefined) {
      throw new BadRequestException({ error: 'the request has no body: send lines as application/json, application/x-ndjson or text/plain' });
    }
    const key = this.checkIdempotencyKey(idempotencyKey);
    const { lines, batchLabels } = this.unpack(body);
    const defaults: LineDefaults = {
      labels: { ...this.queryLabels(query), ...batchLabels },
      level: query.level === undefined ? undefined : normalizeLevel(query.level),
      format: query.format,
    };
    return this.ingestLines(lines, defaults, key, scope, share);
  }

  /**
   * Validates each line on its own, stores the valid ones as one batch, and says what became of each.
   * `share` is the request's hold on its client's part of the writer's queue.
   */
  async ingestLines(lines: NumberedLine[], defaults: LineDefaults, key: string | null, scope: NamespaceScope, share: RequestShare): Promise<IngestAnswer> {
    const now = this.clock.now();
    const bounds: LineBounds = {
      receivedTs: now,
      oldestTs: now - this.config.retentionMs,
      newestTs: now + FUTURE_TOLERANCE_MS,
      maxMessageBytes: this.config.maxLineBytes,
    };

    const accepted: LogLine[] = [];
    const acceptedIndexes: number[] = [];
    const rejected: LineRejection[] = [];
    const causes: RejectionCause[] = [];
    for (const { index, value } of lines) {
      const line = value instanceof LineProblem ? value : outOfScope(validateLine(value, defaults, bounds), scope);
      if (line instanceof LineProblem) {
        rejected.push({ index, reason: line.reason });
        causes.push(line.cause);
      } else {
        accepted.push(line);
        acceptedIndexes.push(index);
      }
    }
    if (accepted.length === 0 && key === null) throw this.noValidLine(lines, rejected, causes);
    this.admit(share, accepted.length);
    const result = await this.append({
      idempotencyKey: key === null ? null : batchKey(key, scope),
      receivedMs: now,
      lines: accepted,
      wantPositions: this.tails.wantsIngestedLines(),
    }).finally(() => share.giveBack());
    if (result.positions) this.tails.publish(storedLines(accepted, result.positions));
    if (result.duplicate) {
      this.metrics.countDuplicateBatch();
      return { accepted: 0, rejected: [], duplicate: true };
    }
    if (accepted.length === 0) throw this.noValidLine(lines, rejected, causes);
    for (const i of result.expired) {
      rejected.push({ index: acceptedIndexes[i], reason: OLDER_THAN_RETENTION });
      causes.push('too_old');
    }
    for (const i of result.tooManyLabelSets) {
      rejected.push({ index: acceptedIndexes[i], reason: this.labelSetLimitReason(accepted[i].namespace) });
      causes.push('too_many_label_sets');
    }
    rejected.sort((a, b) => a.index - b.index);
    this.metrics.countIngest(result.accepted, causes);
    return { accepted: result.accepted, rejected, duplicate: false };
  }

  /** A full disk refuses the batch whole (SQLite rolled it back) and has the pruner make room; the sender retries. */
  private async append(batch: Parameters<LogStore['appendBatch']>[0]): Promise<AppendResult> {
    try {
      return await this.store.appendBatch(batch);
    } catch (error) {
      if (!(error instanceof DiskFull)) throw error;
      this.metrics.countDiskFull();
      this.retention.makeRoom();
      throw new RetryLaterException(
        `${error.message}: this batch was refused; the oldest partitions are being dropped to make room, retry in a few seconds`,
        DISK_FULL_RETRY_SECONDS,
        HttpStatus.INSUFFICIENT_STORAGE,
      );
    }
  }

  private labelSetLimitReason(namespace: string | null): string {
    const has = namespace === null ? 'lines without a namespace already have' : `namespace ${namespace} already has`;
    return (
      `${has} ${this.config.maxLabelSetsPerNamespace} label sets with lines within the retention, the most ` +
      'DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE allows: a line of a new pod, container or source is refused until older ones pass the retention'
    );
  }

  private checkIdempotencyKey(key: string | undefined): string | null {
    if (key === undefined) return null;
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new BadRequestException({
        error: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      });
    }
    return key;
  }

  /** What refuses any batch of `client`'s now, if anything does: a request can be answered before its body is read. */
  refusalBeforeBody(client: string): RetryLaterException | undefined {
    if (this.shares.isFull(client)) return this.shares.shareFull(client);
    if (this.store.queuedLines() >= this.config.maxQueuedLines) return new RetryLaterException(WRITER_BEHIND, WRITER_BEHIND_RETRY_SECONDS);
    return undefined;
  }

  /**
   * Backpressure: a batch is refused whole, before any of it is queued, when it does not fit beside its client's
   * lines already queued (a 429: QueueShares), or beside everyone's (a 503). Every batch fits an empty share: none
   * is longer than DAYLOG_MAX_LINES_PER_REQUEST, which is at most the share (checked at boot). A text or NDJSON
   * body's lines were held when the body parser counted them: that count, an upper bound on the lines accepted,
   * stays held until the writer has answered; a JSON batch's (no count is cheaper than parsing it) are held here.
   */
  private admit(share: RequestShare, lineCount: number): void {
    share.hold(lineCount);
    if (this.store.queuedLines() + lineCount > this.config.maxQueuedLines) {
      share.giveBack();
      throw new RetryLaterException(WRITER_BEHIND, WRITER_BEHIND_RETRY_SECONDS);
    }
  }

  /**
   * A batch with no line to store: a 400 naming each line's problem; but when the token may write none
   * of them, a 403: the sender's token is wrong, not its lines, and a sender keeps what a 403 refuses
   * until its configuration is fixed, where it gives up lines refused as lines.
   */
  private noValidLine(lines: NumberedLine[], rejected: LineRejection[], causes: RejectionCause[]): HttpException {
    this.metrics.countIngest(0, causes);
    if (causes.length > 0 && causes.every((cause) => cause === 'forbidden_namespace')) {
      return new ForbiddenException({ error: `this token may not write these lines: ${rejected[0].reason}`, accepted: 0, rejected });
    }
    const error = lines.length === 0 ? 'the batch has no lines' : 'no valid line';
    return new BadRequestException({ error, accepted: 0, rejected });
  }

  private unpack(body: IngestBody): { lines: NumberedLine[]; batchLabels: Labels } {
    if (body.format === 'protobuf') {
      throw new UnsupportedMediaTypeException({ error: 'protobuf is for Loki clients, at /loki/api/v1/push: send application/json, application/x-ndjson or text/plain here' });
    }
    if (body.format !== 'json') return { lines: body.lines, batchLabels: {} };
    const value = body.value;
    if (Array.isArray(value)) return { lines: this.numbered(value), batchLabels: {} };
    if (typeof value !== 'object' || value === null) throw new BadRequestException({ error: BATCH_SHAPE });
    const { labels, lines, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new BadRequestException({ error: `unknown key "${extra}": ${BATCH_SHAPE}` });
    if (!Array.isArray(lines)) throw new BadRequestException({ error: `"lines" must be an array: ${BATCH_SHAPE}` });
    return { lines: this.numbered(lines), batchLabels: this.batchLabels(labels) };
  }

  /** The text and NDJSON parsers count lines before splitting; a JSON batch's are counted once it is parsed. */
  private numbered(lines: unknown[]): NumberedLine[] {
    if (lines.length > this.config.maxLinesPerRequest) throw new PayloadTooLargeException({ error: tooManyLines(this.config.maxLinesPerRequest) });
    return lines.map((value, index) => ({ index, value }));
  }

  private batchLabels(labels: unknown): Labels {
    if (labels === undefined || labels === null) return {};
    if (typeof labels !== 'object' || Array.isArray(labels)) {
      throw new BadRequestException({ error: '"labels" must be an object of namespace, pod, container and source' });
    }
    const result: Labels = {};
    for (const [name, value] of Object.entries(labels)) {
      if (!(LABEL_NAMES as readonly string[]).includes(name)) {
        throw new BadRequestException({ error: `labels.${name} is not a label: use ${LABEL_NAMES.join(', ')}` });
      }
      const problem = labelProblem(`labels.${name}`, value);
      if (problem) throw new BadRequestException({ error: problem });
      result[name as keyof Labels] = value as string;
    }
    return result;
  }

  private queryLabels(query: IngestQueryDto): Labels {
    const labels: Labels = {};
    for (const name of LABEL_NAMES) if (query[name] !== undefined) labels[name] = query[name];
    return labels;
  }
}
