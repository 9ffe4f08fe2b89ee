import { normalizeLevel } from '@daylog/log-model';
import { LokiStream } from './push-request';

/** Where Daylog's labels come from among the labels clients usually set; the first one present wins. */
export const LABEL_SOURCES = {
  namespace: ['namespace', 'k8s_namespace_name', 'kubernetes_namespace_name', 'namespace_name'],
  pod: ['pod', 'k8s_pod_name', 'kubernetes_pod_name', 'pod_name'],
  container: ['container', 'k8s_container_name', 'kubernetes_container_name', 'container_name'],
  source: ['filename', 'source', 'log_file_path'],
} as const;
export const LEVEL_SOURCES = ['level', 'detected_level', 'severity', 'severity_text', 'lvl', 'loglevel'] as const;
/** A stream without a pod label is filed under the first of these, so that unmodified clients are not refused. */
export const POD_FALLBACKS = ['job', 'service_name', 'app', 'application', 'host', 'hostname'] as const;
export const UNKNOWN_POD = 'unknown';

/** A Loki stream's entries as Daylog wire lines: mapped labels, a level, the other labels and metadata as fields. */
export function toWireLines(streams: LokiStream[]): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const stream of streams) {
    const rest: Record<string, string> = { ...stream.labels };
    const take = (names: readonly string[]): string | undefined => {
      const name = names.find((n) => rest[n] !== undefined && rest[n] !== '');
      if (name === undefined) return undefined;
      const value = rest[name];
      delete rest[name];
      return value;
    };
    const labels = {
      namespace: take(LABEL_SOURCES.namespace),
      pod: take(LABEL_SOURCES.pod) ?? take(POD_FALLBACKS) ?? UNKNOWN_POD,
      container: take(LABEL_SOURCES.container),
      source: take(LABEL_SOURCES.source),
    };
    const levelName = LEVEL_SOURCES.find((n) => rest[n] !== undefined && normalizeLevel(rest[n]) !== undefined);
    const level = levelName === undefined ? undefined : normalizeLevel(rest[levelName]);
    if (levelName !== undefined) delete rest[levelName];
    for (const entry of stream.entries) {
      const fields = { ...rest, ...entry.metadata };
      lines.push({
        ts: entry.ts,
        message: entry.line,
        ...Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== undefined)),
        ...(level && { level }),
        ...(Object.keys(fields).length > 0 && { fields }),
      });
    }
  }
  return lines;
}
