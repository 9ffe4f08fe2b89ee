import { parser } from '@grafana/lezer-logql';
import {
  AggregationOp,
  ArithmeticOp,
  ComparisonOp,
  Grouping,
  LabelListStage,
  LabelMatcher,
  LabelPredicate,
  LineFilterOp,
  LogSelection,
  MatchOp,
  MetricExpr,
  Query,
  RangeFunction,
  Stage,
} from './ast';
import { compileLineFormat } from './line-format';
import { logqlRegex } from './regex';
import { unquote } from './strings';
import { durationMs, sizeBytes } from './units';

/** A node of the tree lezer-logql's parser builds (its type, from the package's own declarations). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** A query Daylog does not read, with Loki's wording: `parse error at line 1, col 9: …`. */
export class LogqlError extends Error {}

const MATCH_OPS: Readonly<Record<string, MatchOp>> = { Eq: '=', Neq: '!=', Re: '=~', Nre: '!~' };
const LINE_FILTER_OPS: Readonly<Record<string, LineFilterOp>> = { PipeExact: '|=', Neq: '!=', PipeMatch: '|~', Nre: '!~' };
const COMPARISON_OPS: Readonly<Record<string, ComparisonOp>> = { Eq: '==', Eql: '==', Neq: '!=', Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=' };
const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  CountOverTime: 'count_over_time',
  Rate: 'rate',
  BytesOverTime: 'bytes_over_time',
  BytesRate: 'bytes_rate',
};
const AGGREGATIONS: Readonly<Record<string, AggregationOp>> = { Sum: 'sum', Count: 'count', Avg: 'avg', Min: 'min', Max: 'max', Topk: 'topk', Bottomk: 'bottomk' };
const ARITHMETIC: Readonly<Record<string, ArithmeticOp>> = { Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^' };

/** What Daylog reads of LogQL, said when a query uses something else. */
const SUPPORTED =
  'Daylog reads stream selectors, line filters (|= != |~ !~), | json, | logfmt, label filters, drop, keep and line_format; ' +
  'count_over_time, rate, bytes_over_time and bytes_rate under sum, count, avg, min, max, topk and bottomk; vector() and numbers with + - * / % ^';

/** A LogQL query as Daylog evaluates it; LogqlError when it does not parse or uses what Daylog does not read. */
export function parseLogql(text: string): Query {
  return new Reader(text).query();
}

class Reader {
  constructor(private readonly text: string) {}

  query(): Query {
    const tree = parser.parse(this.text);
    let broken: SyntaxNode | null = null;
    tree.iterate({
      enter: (ref) => {
        if (broken) return false;
        if (ref.type.isError) broken = ref.node;
        return undefined;
      },
    });
    if (broken) this.syntaxError(broken);
    const expr = tree.topNode.getChild('Expr');
    if (!expr) throw new LogqlError(this.at(0, 'syntax error: the query is empty'));
    return this.expr(expr);
  }

  private expr(node: SyntaxNode): Query {
    const log = node.getChild('LogExpr');
    if (log) return { kind: 'log', selection: this.logExpr(log) };
    return { kind: 'metric', expr: this.metric(this.only(node, 'MetricExpr')) };
  }

  private logExpr(node: SyntaxNode): LogSelection {
    const inner = node.getChild('LogExpr');
    if (inner) return this.logExpr(inner);
    const pipeline = node.getChild('PipelineExpr');
    return { matchers: this.selector(this.only(node, 'Selector')), stages: pipeline ? this.pipeline(pipeline) : [] };
  }

  private selector(node: SyntaxNode): LabelMatcher[] {
    const matchers = node.getChild('Matchers');
    const list = matchers ? this.flatten(matchers, 'Matchers', 'Matcher').map((m) => this.matcher(m)) : [];
    if (!list.some((m) => !this.matchesEmpty(m))) {
      throw new LogqlError(this.at(node.from, 'queries require at least one regexp or equality matcher that does not have an empty-compatible value'));
    }
    return list;
  }

  /** Whether a matcher admits a stream without the label (Loki refuses a selector of such matchers alone: it reads everything). */
  private matchesEmpty(matcher: LabelMatcher): boolean {
    if (matcher.op === '=') return matcher.value === '';
    if (matcher.op === '!=') return matcher.value !== '';
    const matches = (logqlRegex(matcher.value, true) as RegExp).test('');
    return matcher.op === '=~' ? matches : !matches;
  }

  private matcher(node: SyntaxNode): LabelMatcher {
    const name = this.textOf(this.only(node, 'Identifier'));
    const op = MATCH_OPS[this.operatorName(node)];
    const value = this.string(this.only(node, 'String'));
    if (op === '=~' || op === '!~') this.checkRegex(value, node, true);
    return { name, op, value };
  }

  private pipeline(node: SyntaxNode): Stage[] {
    return this.flatten(node, 'PipelineExpr', 'PipelineStage').flatMap((stage) => this.stage(stage));
  }

  private stage(node: SyntaxNode): Stage[] {
    const filters = node.getChild('LineFilters');
    if (filters) return this.flatten(filters, 'LineFilters', 'LineFilter').map((f) => this.lineFilter(f));
    const body = node.lastChild!;
    switch (body.name) {
      case 'LabelParser': {
        const kind = body.firstChild!;
        if (kind.name === 'Json') return [{ kind: 'parser', parser: 'json', strict: false, keepEmpty: false }];
        if (kind.name === 'Logfmt') return [{ kind: 'parser', parser: 'logfmt', strict: false, keepEmpty: false }];
        return this.unsupported(body, `| ${this.textOf(kind)}`);
      }
      case 'LogfmtParser': {
        const flags = body.getChild('LogfmtParserFlags');
        const names = flags ? this.flatten(flags, 'LogfmtParserFlags', 'ParserFlag').map((f) => this.textOf(f)) : [];
        return [{ kind: 'parser', parser: 'logfmt', strict: names.includes('--strict'), keepEmpty: names.includes('--keep-empty') }];
      }
      case 'LabelFilter':
        return [{ kind: 'labelFilter', predicate: this.labelFilter(body) }];
      case 'DropLabelsExpr':
        return [this.labelList(body, 'drop', 'DropLabels', 'DropLabel')];
      case 'KeepLabelsExpr':
        return [this.labelList(body, 'keep', 'KeepLabels', 'KeepLabel')];
      case 'LineFormatExpr': {
        const literal = this.only(body, 'String');
        const template = this.string(literal);
        const compiled = compileLineFormat(template);
        if (typeof compiled === 'string') throw new LogqlError(this.at(literal.from, compiled));
        return [{ kind: 'lineFormat', template }];
      }
      case 'JsonExpressionParser':
      case 'LogfmtExpressionParser':
        return this.unsupported(body, 'a parser with extraction expressions');
      default:
        return this.unsupported(body, `| ${this.textOf(body).split(/\s/)[0]}`);
    }
  }

  private lineFilter(node: SyntaxNode): Stage {
    const filter = this.only(node, 'Filter');
    const op = LINE_FILTER_OPS[filter.firstChild!.name];
    if (!op) return this.unsupported(filter, `the line filter ${this.textOf(filter)}`);
    const filterOp = node.getChild('FilterOp');
    if (filterOp) return this.unsupported(filterOp, `a line filter by ${this.textOf(filterOp)}()`);
    const strings = [this.only(node, 'String'), ...node.getChildren('OrFilter').flatMap((or) => this.flatten(or, 'OrFilter', 'String'))];
    const values = strings.map((s) => this.string(s));
    if (op === '|~' || op === '!~') for (const [i, value] of values.entries()) this.checkRegex(value, strings[i], false);
    return { kind: 'lineFilter', op, values };
  }

  private labelFilter(node: SyntaxNode): LabelPredicate {
    const parts = node.getChildren('LabelFilter');
    if (parts.length === 2) {
      const joined = node.getChild('Or') ? 'or' : 'and';
      return { kind: joined, left: this.labelFilter(parts[0]), right: this.labelFilter(parts[1]) };
    }
    if (parts.length === 1) return this.labelFilter(parts[0]);
    const leaf = node.firstChild!;
    switch (leaf.name) {
      case 'Matcher': {
        const { name, op, value } = this.matcher(leaf);
        return { kind: 'string', name, op, value };
      }
      case 'NumberFilter': {
        const literal = this.only(leaf, 'LiteralExpr');
        const comparison = this.comparison(leaf);
        if (comparison === '==' && this.operatorName(leaf) === 'Eq' && this.textOf(literal).startsWith('"')) {
          return this.unsupported(leaf, 'a number in quotes');
        }
        return { kind: 'number', name: this.textOf(this.only(leaf, 'Identifier')), op: comparison, value: this.number(literal), unit: 'number' };
      }
      case 'UnitFilter': {
        const filter = leaf.firstChild!;
        const name = this.textOf(this.only(filter, 'Identifier'));
        if (filter.name === 'DurationFilter') {
          const ms = durationMs(this.textOf(this.only(filter, 'Duration')));
          if (ms === undefined) throw new LogqlError(this.at(filter.from, `${this.textOf(filter)}: not a duration`));
          return { kind: 'number', name, op: this.comparison(filter), value: ms / 1000, unit: 'duration' };
        }
        const bytes = sizeBytes(this.textOf(this.only(filter, 'Bytes')));
        if (bytes === undefined) throw new LogqlError(this.at(filter.from, `${this.textOf(filter)}: not a size`));
        return { kind: 'number', name, op: this.comparison(filter), value: bytes, unit: 'bytes' };
      }
      default:
        return this.unsupported(leaf, 'this label filter');
    }
  }

  private labelList(node: SyntaxNode, kind: 'drop' | 'keep', listName: string, itemName: string): LabelListStage {
    const list = this.only(node, listName);
    const labels = this.flatten(list, listName, itemName).map((item) => {
      const matcher = item.getChild('Matcher');
      if (!matcher) return { name: this.textOf(this.only(item, 'Identifier')) };
      const { name, op, value } = this.matcher(matcher);
      return { name, matcher: { op, value } };
    });
    return { kind, labels };
  }

  private metric(node: SyntaxNode): MetricExpr {
    const body = node.firstChild!;
    switch (body.name) {
      case 'MetricExpr':
        return this.metric(body);
      case 'RangeAggregationExpr':
        return this.rangeAggregation(body);
      case 'VectorAggregationExpr':
        return this.vectorAggregation(body);
      case 'BinOpExpr':
        return this.binary(body);
      case 'LiteralExpr':
        return { kind: 'scalar', value: this.number(body) };
      case 'VectorExpr':
        return { kind: 'vector', value: this.number(this.only(body, 'Number')) };
      default:
        return this.unsupported(body, this.textOf(body).split('(')[0]);
    }
  }

  private rangeAggregation(node: SyntaxNode): MetricExpr {
    const op = this.only(node, 'RangeOp').firstChild!;
    const fn = RANGE_FUNCTIONS[op.name];
    if (!fn) return this.unsupported(op, this.textOf(op));
    if (node.getChild('Grouping') || node.getChild('Number')) return this.unsupported(node, `${this.textOf(op)} with a parameter or grouping`);
    const range = this.only(node, 'LogRangeExpr');
    if (range.getChild('UnwrapExpr')) return this.unsupported(range.getChild('UnwrapExpr')!, '| unwrap');
    const inner = range.getChild('LogExpr');
    const selection: LogSelection = inner
      ? this.logExpr(inner)
      : { matchers: this.selector(this.only(range, 'Selector')), stages: range.getChildren('PipelineExpr').flatMap((p) => this.pipeline(p)) };
    const rangeMs = this.wholeMs(this.only(this.only(range, 'Range'), 'Duration'), 'range');
    const offset = range.getChild('OffsetExpr');
    const offsetMs = offset ? this.wholeMs(this.only(offset, 'Duration'), 'offset', true) : 0;
    return { kind: 'range', fn, selection, rangeMs, offsetMs };
  }

  private vectorAggregation(node: SyntaxNode): MetricExpr {
    const opNode = this.only(node, 'VectorOp').firstChild!;
    const op = AGGREGATIONS[opNode.name];
    if (!op) return this.unsupported(opNode, this.textOf(opNode));
    const paramNode = node.getChild('Number');
    const needsParam = op === 'topk' || op === 'bottomk';
    if (needsParam !== (paramNode !== null)) {
      throw new LogqlError(this.at(node.from, needsParam ? `${op} needs a number of series first: ${op}(5, …)` : `${op} takes no parameter`));
    }
    const param = paramNode ? this.number(paramNode) : null;
    if (param !== null && (!Number.isInteger(param) || param < 1)) throw new LogqlError(this.at(paramNode!.from, `${op}'s number of series must be a whole number of at least 1`));
    const groupingNode = node.getChild('Grouping');
    return { kind: 'aggregate', op, param, grouping: groupingNode ? this.grouping(groupingNode) : null, inner: this.metric(this.only(node, 'MetricExpr')) };
  }

  private grouping(node: SyntaxNode): Grouping {
    const labels = node.getChild('Labels');
    return { without: node.getChild('Without') !== null, labels: labels ? this.flatten(labels, 'Labels', 'Identifier').map((l) => this.textOf(l)) : [] };
  }

  private binary(node: SyntaxNode): MetricExpr {
    const [left, right] = node.getChildren('Expr');
    const opNode = left.nextSibling!;
    const op = ARITHMETIC[opNode.name];
    if (!op) return this.unsupported(opNode, `the operator ${this.textOf(opNode)}`);
    const modifier = node.getChild('BinOpModifier');
    if (modifier && this.textOf(modifier).trim() !== '') return this.unsupported(modifier, this.textOf(modifier).trim());
    const side = (expr: SyntaxNode): MetricExpr => {
      const parsed = this.expr(expr);
      if (parsed.kind === 'log') throw new LogqlError(this.at(expr.from, 'a log query cannot be an operand: wrap it in count_over_time(… [1m]) or another range function'));
      return parsed.expr;
    };
    return { kind: 'binary', op, left: side(left), right: side(right) };
  }

  private comparison(node: SyntaxNode): ComparisonOp {
    return COMPARISON_OPS[this.operatorName(node)];
  }

  /** The name of the operator node among a filter's or matcher's children. */
  private operatorName(node: SyntaxNode): string {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.name in MATCH_OPS || child.name in COMPARISON_OPS) return child.name;
    }
    throw new LogqlError(this.at(node.from, `syntax error near ${JSON.stringify(this.textOf(node))}`));
  }

  private number(node: SyntaxNode): number {
    const text = this.textOf(node).replace(/\s+/g, '');
    const value = Number(text);
    if (!Number.isFinite(value)) throw new LogqlError(this.at(node.from, `${JSON.stringify(text)} is not a number`));
    return value;
  }

  private wholeMs(node: SyntaxNode, what: string, zeroAllowed = false): number {
    const ms = durationMs(this.textOf(node));
    if (ms === undefined || !Number.isInteger(ms) || ms < 0 || (ms === 0 && !zeroAllowed)) {
      throw new LogqlError(this.at(node.from, `the ${what} ${this.textOf(node)} must be a whole number of milliseconds${zeroAllowed ? '' : ', at least 1ms'}`));
    }
    return ms;
  }

  private string(node: SyntaxNode): string {
    const value = unquote(this.textOf(node));
    if (typeof value !== 'string') throw new LogqlError(this.at(node.from, value.problem));
    return value;
  }

  private checkRegex(source: string, node: SyntaxNode, anchored: boolean): void {
    const regex = logqlRegex(source, anchored);
    if (typeof regex === 'string') throw new LogqlError(this.at(node.from, regex));
  }

  /** The items of a left-recursive list (`Matchers` holding `Matchers` and a `Matcher`), in order. */
  private flatten(node: SyntaxNode, listName: string, itemName: string): SyntaxNode[] {
    const items: SyntaxNode[] = [];
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.name === listName) items.push(...this.flatten(child, listName, itemName));
      else if (child.name === itemName) items.push(child);
    }
    return items;
  }

  private only(node: SyntaxNode, name: string): SyntaxNode {
    const child = node.getChild(name);
    if (!child) throw new LogqlError(this.at(node.from, `syntax error near ${JSON.stringify(this.textOf(node))}`));
    return child;
  }

  private unsupported(node: SyntaxNode, what: string): never {
    throw new LogqlError(this.at(node.from, `${what} is not supported: ${SUPPORTED}`));
  }

  private syntaxError(node: SyntaxNode): never {
    const found = this.text.slice(node.from, Math.max(node.to, node.from + 1)).trim();
    throw new LogqlError(this.at(node.from, found === '' ? 'syntax error: unexpected end of query' : `syntax error: unexpected ${JSON.stringify(found)}`));
  }

  private textOf(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  /** Loki's wording for where: line and column, both from 1. */
  private at(offset: number, message: string): string {
    const before = this.text.slice(0, offset).split('\n');
    return `parse error at line ${before.length}, col ${before[before.length - 1].length + 1}: ${message}`;
  }
}
