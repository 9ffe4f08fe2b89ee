import { BadRequestException } from '@nestjs/common';
import { FieldCondition, Level, MatchExpression, levelsAtOrAbove, normalizeLevel, parseDuration, parseFieldCondition, parseMatchExpression, parseTimestamp } from '@daylog/log-model';
import { LineFilter } from '@daylog/storage';
import { NamespaceScope } from '../auth/access';
import { MAX_FIELD_TERMS, tooManyFieldTerms } from '../http/query-params';
import { LineFilterDto } from './query-logs.dto';

export function badParam(param: string, error: string): BadRequestException {
  return new BadRequestException({ error, param });
}

/**
 * The filters of a request as storage takes them. Lines older than the retention are never asked
 * for, whether or not the pruner has run; `to` defaults to `openEndMs`.
 */
export function lineFilterOf(
  params: LineFilterDto,
  scope: NamespaceScope,
  nowMs: number,
  retentionMs: number,
  openEndMs = Number.MAX_SAFE_INTEGER,
): LineFilter {
  const oldest = nowMs - retentionMs;
  if (params.since !== undefined && params.from !== undefined) {
    throw badParam('since', 'give either since or from, not both');
  }
  const from =
    params.since !== undefined ? nowMs - parseDuration(params.since)! : params.from !== undefined ? parseTimestamp(params.from)! : oldest;
  const to = params.to === undefined ? openEndMs : parseTimestamp(params.to)!;
  if (to <= from) throw badParam('to', 'to must be later than from (from is inclusive, to exclusive)');
  if ((params.field?.length ?? 0) + (params.exclude_field?.length ?? 0) > MAX_FIELD_TERMS) throw badParam('exclude_field', tooManyFieldTerms);
  return {
    fromMs: Math.max(from, oldest),
    toMs: to,
    labels: { namespace: params.namespace, pod: params.pod, container: params.container, source: params.source },
    levels: levelsOf(params),
    contains: params.q ?? [],
    excludes: params.exclude ?? [],
    ...(params.match !== undefined && { match: parseMatchExpression(params.match) as MatchExpression }),
    ...(params.regex !== undefined && { regex: params.regex }),
    ...(params.field && { fields: params.field.map(fieldCondition) }),
    ...(params.exclude_field && { excludeFields: params.exclude_field.map(fieldCondition) }),
    ...(scope && { namespaces: scope }),
  };
}

/** Checked at the edge (AreFieldConditions). */
function fieldCondition(text: string): FieldCondition {
  return parseFieldCondition(text)!;
}

function levelsOf(params: LineFilterDto): Level[] | null {
  const listed = params.level?.map((name) => normalizeLevel(name)!);
  const atOrAbove = params.min_level === undefined ? undefined : levelsAtOrAbove(normalizeLevel(params.min_level)!);
  if (!listed) return atOrAbove ?? null;
  if (!atOrAbove) return [...new Set(listed)];
  const levels = [...new Set(listed)].filter((level) => atOrAbove.includes(level));
  if (levels.length === 0) throw badParam('level', 'no level in level is at or above min_level');
  return levels;
}
