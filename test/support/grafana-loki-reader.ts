import assert from 'node:assert/strict';

/**
 * Reads a Loki answer as Grafana's Loki data source does (its Go converter for Prometheus-style results, as the study
 * ../shared/LOKI-QUERY-API.md §1.4 describes it), failing where Grafana would fail or misread: `status` and
 * `data.resultType` present; `encodingFlags` honoured only before `result`; stream values exactly
 * `["<ns digits>", "<line>"]`, or `[…, {structuredMetadata?, parsed?}]` when the flags say `categorize-labels`;
 * points `[<seconds number>, "<float>"]`; label maps of strings under Prometheus names; `stats` an object.
 * Written from those rules, not from Grafana's code.
 */

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NS = /^\d{1,19}$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/;

export interface GrafanaLogRow {
  labels: Record<string, string>;
  ts: bigint;
  line: string;
  structuredMetadata: Record<string, string>;
  parsed: Record<string, string>;
}

export interface GrafanaPoint {
  labels: Record<string, string>;
  /** Milliseconds: Grafana reads a point's seconds to the millisecond. */
  ms: number;
  value: number;
}

export type GrafanaResult =
  | { resultType: 'streams'; categorized: boolean; rows: GrafanaLogRow[]; warnings: string[] }
  | { resultType: 'matrix' | 'vector'; points: GrafanaPoint[]; warnings: string[] }
  | { resultType: 'scalar'; points: GrafanaPoint[]; warnings: string[] };

function labelMap(value: unknown, where: string): Record<string, string> {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${where}: not an object`);
  for (const [name, text] of Object.entries(value)) {
    assert.match(name, LABEL_NAME, `${where}: label name ${JSON.stringify(name)}`);
    assert.equal(typeof text, 'string', `${where}: ${name} is not a string`);
  }
  return value as Record<string, string>;
}

function point(pair: unknown, labels: Record<string, string>, where: string): GrafanaPoint {
  assert.ok(Array.isArray(pair) && pair.length === 2, `${where}: a point is [seconds, "value"]`);
  const [seconds, text] = pair as [unknown, unknown];
  assert.equal(typeof seconds, 'number', `${where}: a point's time is a number of seconds`);
  assert.equal(typeof text, 'string', `${where}: a point's value is a string`);
  assert.match(text as string, FLOAT, `${where}: ${JSON.stringify(text)} is not a float Go parses`);
  const value = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  return { labels, ms: Math.round((seconds as number) * 1000), value };
}

/** The answer's text as Grafana reads it; throws (an assertion) where Grafana would not read it. */
export function readAsGrafana(text: string): GrafanaResult {
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.status, 'success', `status: ${JSON.stringify(body.status)}`);
  const warnings = (body.warnings ?? []) as string[];
  const data = body.data as Record<string, unknown>;
  assert.ok(data && typeof data === 'object', 'no data');
  const keys = Object.keys(data);
  assert.ok(keys.includes('resultType'), 'no resultType found');
  const flags = keys.includes('encodingFlags') && keys.indexOf('encodingFlags') < keys.indexOf('result') ? (data.encodingFlags as string[]) : [];
  if (keys.includes('encodingFlags')) assert.ok(keys.indexOf('encodingFlags') < keys.indexOf('result'), 'encodingFlags after result: Grafana would ignore them');
  if (data.stats !== undefined) assert.ok(typeof data.stats === 'object' && data.stats !== null && !Array.isArray(data.stats), 'stats is not an object');
  const result = data.result;
  switch (data.resultType) {
    case 'streams': {
      const categorized = flags.includes('categorize-labels');
      const rows: GrafanaLogRow[] = [];
      for (const [i, stream] of (result as { stream: unknown; values: unknown[] }[]).entries()) {
        const labels = labelMap(stream.stream, `stream ${i}`);
        for (const [j, value] of stream.values.entries()) {
          const where = `stream ${i} value ${j}`;
          assert.ok(Array.isArray(value), `${where}: not an array`);
          assert.equal(value.length, categorized ? 3 : 2, `${where}: ReadArray: ${categorized ? 'categorized values are [ts, line, {…}]' : 'values are [ts, line]'}`);
          const [ts, line, extra] = value as [unknown, unknown, unknown];
          assert.equal(typeof ts, 'string', `${where}: ReadString: expects " (a timestamp is a string)`);
          assert.match(ts as string, NS, `${where}: timestamp ${JSON.stringify(ts)}`);
          assert.equal(typeof line, 'string', `${where}: the line is not a string`);
          let structuredMetadata: Record<string, string> = {};
          let parsed: Record<string, string> = {};
          if (categorized) {
            assert.ok(extra !== null && typeof extra === 'object' && !Array.isArray(extra), `${where}: the third element is an object`);
            for (const key of Object.keys(extra)) assert.ok(key === 'structuredMetadata' || key === 'parsed', `${where}: unknown category ${key}`);
            const categories = extra as { structuredMetadata?: unknown; parsed?: unknown };
            if (categories.structuredMetadata !== undefined) structuredMetadata = labelMap(categories.structuredMetadata, `${where} structuredMetadata`);
            if (categories.parsed !== undefined) parsed = labelMap(categories.parsed, `${where} parsed`);
          }
          rows.push({ labels, ts: BigInt(ts as string), line: line as string, structuredMetadata, parsed });
        }
      }
      return { resultType: 'streams', categorized, rows, warnings };
    }
    case 'matrix': {
      const points = (result as { metric: unknown; values: unknown[] }[]).flatMap((series, i) => {
        const labels = labelMap(series.metric, `series ${i}`);
        return series.values.map((pair, j) => point(pair, labels, `series ${i} point ${j}`));
      });
      return { resultType: 'matrix', points, warnings };
    }
    case 'vector': {
      const points = (result as { metric: unknown; value: unknown }[]).map((sample, i) => point(sample.value, labelMap(sample.metric, `sample ${i}`), `sample ${i}`));
      return { resultType: 'vector', points, warnings };
    }
    case 'scalar':
      return { resultType: 'scalar', points: [point(result, {}, 'scalar')], warnings };
    default:
      assert.fail(`unknown resultType ${JSON.stringify(data.resultType)}`);
  }
}
