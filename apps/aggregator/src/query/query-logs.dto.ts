import { IsOptional } from 'class-validator';
import { MAX_LABEL_LENGTH } from '@daylog/log-model';
import {
  AreLevels,
  AreFieldConditions,
  AreTexts,
  CommaList,
  IsSingleChoice,
  IsSingleDuration,
  IsSingleInteger,
  IsSingleLevel,
  IsSingleText,
  IsSingleTimestamp,
  IsMatchExpression,
  IsLinearRegex,
  RepeatableList,
} from '../http/query-params';

export const MAX_LIMIT = 5000;
export const FORMATS = ['text', 'ndjson', 'json'] as const;
export type Format = (typeof FORMATS)[number];
export const DIRECTIONS = ['backward', 'forward'] as const;
export const RAW_CHOICES = ['true', 'false'] as const;
const MAX_SEARCH_LENGTH = 1000;

/** Which lines: the filters every read of lines takes, named as on the wire. */
export class LineFilterDto {
  @IsOptional() @CommaList() @AreTexts('namespace', MAX_LABEL_LENGTH) namespace?: string[];
  @IsOptional() @CommaList() @AreTexts('pod', MAX_LABEL_LENGTH) pod?: string[];
  @IsOptional() @CommaList() @AreTexts('container', MAX_LABEL_LENGTH) container?: string[];
  @IsOptional() @CommaList() @AreTexts('source', MAX_LABEL_LENGTH) source?: string[];
  @IsOptional() @CommaList() @AreLevels('level') level?: string[];
  @IsOptional() @IsSingleLevel('min_level') min_level?: string;
  @IsOptional() @IsSingleDuration('since') since?: string;
  @IsOptional() @IsSingleTimestamp('from') from?: string;
  @IsOptional() @IsSingleTimestamp('to') to?: string;
  @IsOptional() @RepeatableList() @AreTexts('q', MAX_SEARCH_LENGTH) q?: string[];
  @IsOptional() @RepeatableList() @AreTexts('exclude', MAX_SEARCH_LENGTH) exclude?: string[];
  @IsOptional() @IsMatchExpression('match', MAX_SEARCH_LENGTH) match?: string;
  @IsOptional() @IsLinearRegex('regex') regex?: string;
  @IsOptional() @RepeatableList() @AreFieldConditions('field') field?: string[];
  @IsOptional() @RepeatableList() @AreFieldConditions('exclude_field') exclude_field?: string[];
}

/** The query string of GET /api/v1/logs. */
export class QueryLogsDto extends LineFilterDto {
  @IsOptional() @IsSingleInteger('limit', 1, MAX_LIMIT) limit?: string;
  @IsOptional() @IsSingleChoice('direction', DIRECTIONS) direction?: (typeof DIRECTIONS)[number];
  @IsOptional() @IsSingleText('cursor', 200) cursor?: string;
  @IsOptional() @IsSingleChoice('format', FORMATS) format?: Format;
  /** Text as stored, control characters included, instead of escaped for a terminal. */
  @IsOptional() @IsSingleChoice('raw', RAW_CHOICES) raw?: (typeof RAW_CHOICES)[number];
}

export const MAX_CONTEXT_LINES = 1000;

/** The query string of GET /api/v1/logs/context. */
export class LineContextDto {
  @IsSingleText('cursor', 200) cursor!: string;
  @IsOptional() @IsSingleInteger('before', 0, MAX_CONTEXT_LINES) before?: string;
  @IsOptional() @IsSingleInteger('after', 0, MAX_CONTEXT_LINES) after?: string;
  @IsOptional() @IsSingleChoice('format', FORMATS) format?: Format;
  @IsOptional() @IsSingleChoice('raw', RAW_CHOICES) raw?: (typeof RAW_CHOICES)[number];
}
