/**
 * A Prometheus label set as Loki's protobuf push carries it: `{job="api", pod="web-1"}`, values in
 * double quotes with `\\`, `\"` and `\n` escaped.
 */
export function parseStreamLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) return `stream labels ${JSON.stringify(text)} are not {name="value", ...}`;
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const inner = body.slice(1, -1);
  pair.lastIndex = 0;
  while (pair.lastIndex < inner.length) {
    const start = pair.lastIndex;
    const match = pair.exec(inner);
    if (!match) {
      if (inner.slice(start).trim() === '') break;
      return `stream labels ${JSON.stringify(text)} are not {name="value", ...}`;
    }
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}
