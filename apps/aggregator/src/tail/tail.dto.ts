import { IsOptional } from 'class-validator';
import { IsSingleChoice, IsSingleInteger } from '../http/query-params';
import { LineFilterDto, MAX_LIMIT, RAW_CHOICES } from '../query/query-logs.dto';

export const TAIL_FORMATS = ['text', 'ndjson'] as const;
export type TailFormat = (typeof TAIL_FORMATS)[number];

/** The query string of GET /api/v1/tail: the filters of /api/v1/logs, how many lines to start with, a streamable format. */
export class TailDto extends LineFilterDto {
  @IsOptional() @IsSingleInteger('limit', 0, MAX_LIMIT) limit?: string;
  @IsOptional() @IsSingleChoice('format', TAIL_FORMATS) format?: TailFormat;
  @IsOptional() @IsSingleChoice('raw', RAW_CHOICES) raw?: (typeof RAW_CHOICES)[number];
}
