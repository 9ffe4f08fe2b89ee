import { IsOptional } from 'class-validator';
import { MAX_LABEL_LENGTH, MESSAGE_FORMATS, MessageFormat } from '@daylog/log-model';
import { IsSingleChoice, IsSingleLevel, IsSingleText } from '../http/query-params';

/** Defaults for a batch's lines, from the query string (the only place text/plain bodies have). */
export class IngestQueryDto {
  @IsOptional() @IsSingleText('namespace', MAX_LABEL_LENGTH) namespace?: string;
  @IsOptional() @IsSingleText('pod', MAX_LABEL_LENGTH) pod?: string;
  @IsOptional() @IsSingleText('container', MAX_LABEL_LENGTH) container?: string;
  @IsOptional() @IsSingleText('source', MAX_LABEL_LENGTH) source?: string;
  @IsOptional() @IsSingleLevel('level') level?: string;
  @IsOptional() @IsSingleChoice('format', MESSAGE_FORMATS) format?: MessageFormat;
}
