import { BadRequestException, Inject, Injectable, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { IngestAnswer } from '@daylog/log-model';
import { LokiStream, PushLimits, PushTooLarge, decodeJsonPush, decodeProtobufPush, toWireLines } from '@daylog/loki';
import { NamespaceScope } from '../auth/access';
import { DAYLOG_CONFIG } from '../config/config.module';
import { IngestBody } from '../ingest/ingest-body';
import { IngestService } from '../ingest/ingest.service';
import { RequestShare } from '../ingest/queue-shares';
import { bodyTooLarge, tooManyLines, tooManyObjects } from '../ingest/request-limits';

const LISTED_REJECTIONS = 3;

/** Loki's push API over Daylog's ingest: what Promtail, Alloy, Fluent Bit and the Loki logger libraries send. */
@Injectable()
export class LokiPushService {
  constructor(
    private readonly ingest: IngestService,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
  ) {}

  /** Stores the valid lines; like Loki, answers 400 naming what it refused when some were invalid. */
  async push(body: IngestBody | undefined, scope: NamespaceScope, share: RequestShare): Promise<void> {
    const streams = this.decode(body, share);
    const lines = toWireLines(streams).map((value, index) => ({ index, value }));
    if (lines.length === 0) return;
    const answer = await this.ingest.ingestLines(lines, { labels: {} }, null, scope, share).catch((error: unknown) => {
      // A push with no valid entry at all is refused whole; its rejections are said as for a partial one.
      const body = error instanceof BadRequestException ? (error.getResponse() as Partial<IngestAnswer>) : undefined;
      if (body?.rejected) return { accepted: 0, rejected: body.rejected, duplicate: false };
      throw error;
    });
    if (answer.rejected.length > 0) {
      const listed = answer.rejected.slice(0, LISTED_REJECTIONS).map((r) => `entry ${r.index}: ${r.reason}`);
      const more = answer.rejected.length > LISTED_REJECTIONS ? `; and ${answer.rejected.length - LISTED_REJECTIONS} more` : '';
      throw new BadRequestException({
        error: `${answer.rejected.length} of ${lines.length} entries refused (${answer.accepted} stored): ${listed.join('; ')}${more}`,
      });
    }
  }

  /** A protobuf push's entries are held in the client's share once counted, before they are decoded; a JSON push's at admission. */
  private decode(body: IngestBody | undefined, share: RequestShare): LokiStream[] {
    if (body === undefined) throw new BadRequestException({ error: 'the push has no body' });
    if (body.format !== 'json' && body.format !== 'protobuf') {
      throw new UnsupportedMediaTypeException({ error: 'a Loki push is application/json or application/x-protobuf (snappy)' });
    }
    const limits: PushLimits = {
      maxBytes: this.config.maxBodyBytes,
      maxEntries: this.config.maxLinesPerRequest,
      maxObjects: this.config.maxObjectsPerRequest,
    };
    const streams = body.format === 'json' ? decodeJsonPush(body.value, limits) : decodeProtobufPush(body.bytes, limits, (entries) => share.hold(entries));
    if (typeof streams === 'string') throw new BadRequestException({ error: streams });
    if (streams instanceof PushTooLarge) throw new PayloadTooLargeException({ error: this.tooLarge(streams) });
    return streams;
  }

  private tooLarge({ limit }: PushTooLarge): string {
    const { maxBodyBytes, maxLinesPerRequest, maxObjectsPerRequest } = this.config;
    if (limit === 'maxBytes') return bodyTooLarge(maxBodyBytes);
    if (limit === 'maxEntries') return tooManyLines(maxLinesPerRequest, 'entries');
    return tooManyObjects(maxObjectsPerRequest, maxLinesPerRequest, 'streams, entries and metadata pairs');
  }
}
