import { IsOptional } from 'class-validator';
import { IsSingleChoice, IsSingleDuration } from '../http/query-params';
import { LineFilterDto } from '../query/query-logs.dto';

export const STATS_FORMATS = ['text', 'json'] as const;
export type StatsFormat = (typeof STATS_FORMATS)[number];
export const GROUPINGS = ['level', 'pod'] as const;
export type Grouping = (typeof GROUPINGS)[number];
export const LABEL_PATHS = ['namespace', 'pod', 'container', 'source'] as const;

/** The query string of GET /api/v1/stats: the filters of /api/v1/logs, a bucket width and a grouping. */
export class StatsDto extends LineFilterDto {
  @IsOptional() @IsSingleDuration('step') step?: string;
  @IsOptional() @IsSingleChoice('by', GROUPINGS) by?: Grouping;
  @IsOptional() @IsSingleChoice('format', STATS_FORMATS) format?: StatsFormat;
}

/** The query string of GET /api/v1/labels/{label}: the filters of /api/v1/logs. */
export class LabelValuesDto extends LineFilterDto {
  @IsOptional() @IsSingleChoice('format', STATS_FORMATS) format?: StatsFormat;
}
