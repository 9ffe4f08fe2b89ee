import { unescapedJson } from './parsed-names';

/** What a template fills in: a label's value (empty when the line has no such label) and the line itself. */
export type LineTemplate = (labels: (name: string) => string, line: string) => string;

type Value = (labels: (name: string) => string, line: string) => string;

/** The functions of Go's text/template Loki offers that Daylog runs; the last argument is the piped value. */
const FUNCTIONS: Readonly<Record<string, { arity: number; run: (...args: string[]) => string }>> = {
  ToUpper: { arity: 1, run: (text) => text.toUpperCase() },
  ToLower: { arity: 1, run: (text) => text.toLowerCase() },
  TrimSpace: { arity: 1, run: (text) => text.trim() },
  // Sprig's: the value when it is not empty, else the default given first.
  default: { arity: 2, run: (fallback, value) => (value === '' ? fallback : value) },
};

const SUPPORTED = 'write {{.label}} or {{__line__}}, piped to ToUpper, ToLower, TrimSpace or default "text"';
const TOKEN = /\s*(?:(\.[A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|(`[^`]*`)|(\|)|(\S+))/y;

class TemplateRefused extends Error {}

/**
 * `| line_format "…"`: the small part of Go's text/template that people write in LogQL, compiled once, or
 * the sentence that says why the template is refused. Labels and the line are only ever copied into the
 * result, never read as template text.
 */
export function compileLineFormat(template: string): LineTemplate | string {
  const parts: Value[] = [];
  let text = '';
  let at = 0;
  try {
    while (at < template.length) {
      const open = template.indexOf('{{', at);
      if (open < 0) break;
      const close = template.indexOf('}}', open + 2);
      if (close < 0) throw new TemplateRefused('a {{ is not closed by }}');
      let inside = template.slice(open + 2, close);
      text += template.slice(at, open);
      at = close + 2;
      // Go's trim markers: `{{- ` takes the blanks before the action away, ` -}}` those after it.
      if (/^-\s/.test(inside)) {
        text = text.trimEnd();
        inside = inside.slice(1);
      }
      if (/\s-$/.test(inside)) {
        inside = inside.slice(0, -1);
        const after = /^\s*/.exec(template.slice(at))?.[0] ?? '';
        at += after.length;
      }
      parts.push(literal(text), action(inside));
      text = '';
    }
  } catch (error) {
    if (error instanceof TemplateRefused) return `line_format template is not supported: ${error.message}; ${SUPPORTED}`;
    throw error;
  }
  parts.push(literal(text + template.slice(at)));
  return (labels, line) => {
    let result = '';
    for (const part of parts) result += part(labels, line);
    return result;
  };
}

function literal(text: string): Value {
  return () => text;
}

/** `{{ … }}`: commands separated by `|`, each command's value the last argument of the next one. */
function action(inside: string): Value {
  const commands: string[][] = [[]];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < inside.length && !/^\s*$/.test(inside.slice(TOKEN.lastIndex))) {
    const token = TOKEN.exec(inside);
    if (!token || token[6] !== undefined) throw new TemplateRefused(`${JSON.stringify(token?.[6] ?? inside)} in {{${inside}}}`);
    if (token[5] !== undefined) commands.push([]);
    else commands[commands.length - 1].push(token[0].trim());
  }
  return commands.reduce<Value | undefined>((piped, command) => compileCommand(command, piped, inside), undefined) as Value;
}

function compileCommand(words: string[], piped: Value | undefined, inside: string): Value {
  if (words.length === 0) throw new TemplateRefused(`an empty command in {{${inside}}}`);
  const [head, ...rest] = words;
  const fn = Object.hasOwn(FUNCTIONS, head) ? FUNCTIONS[head] : undefined;
  if (!fn) {
    if (rest.length > 0 || piped) throw new TemplateRefused(`${head} is not a function in {{${inside}}}`);
    return operand(head, inside);
  }
  const args = rest.map((word) => operand(word, inside));
  if (piped) args.push(piped);
  if (args.length !== fn.arity) throw new TemplateRefused(`${head} takes ${fn.arity} argument${fn.arity > 1 ? 's' : ''} in {{${inside}}}`);
  return (labels, line) => fn.run(...args.map((arg) => arg(labels, line)));
}

function operand(word: string, inside: string): Value {
  if (word.startsWith('.')) {
    const name = word.slice(1);
    return (labels) => labels(name);
  }
  if (word === '__line__') return (_, line) => line;
  if (word.startsWith('`')) return literal(word.slice(1, -1));
  const text = word.startsWith('"') ? unescapedJson(word.slice(1, -1)) : undefined;
  if (text === undefined) throw new TemplateRefused(`${word} in {{${inside}}}`);
  return literal(text);
}
