/**
 * Word and phrase search: a word is a run of letters and digits, compared without case and without
 * marks (decomposed, accents, vowel signs and voicing marks left out). The word index holds the words
 * `tokens` gives, and only narrows the candidates; `textMatcher` decides, so lines read through the
 * index and lines scanned give the same answers.
 */
export type MatchTerm = { kind: 'word'; token: string; prefix: boolean } | { kind: 'phrase'; tokens: string[] };

export interface MatchExpression {
  /** As the user wrote it: what a cursor is bound to. */
  text: string;
  terms: MatchTerm[];
}

const WORD = /[\p{L}\p{N}]+/gu;
const MAX_TERMS = 16;

// eslint-disable-next-line no-control-regex -- the ASCII range is the point
const NOT_ASCII = /[^\u0000-\u007f]/;

function fold(text: string): string {
  return NOT_ASCII.test(text) ? text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase() : text.toLowerCase();
}

export function tokens(text: string): string[] {
  return fold(text).match(WORD) ?? [];
}

/** `timeout "payment declined" pay*`: every word, phrase and prefix must appear. A problem is said in a sentence. */
export function parseMatchExpression(text: string): MatchExpression | string {
  const terms: MatchTerm[] = [];
  const parts = text.match(/"[^"]*"|[^\s"]+|"/g) ?? [];
  for (const part of parts) {
    if (part === '"') return 'match has a quote that is not closed';
    if (part.startsWith('"')) {
      const phrase = tokens(part.slice(1, -1));
      if (phrase.length > 0) terms.push(phrase.length === 1 ? { kind: 'word', token: phrase[0], prefix: false } : { kind: 'phrase', tokens: phrase });
      continue;
    }
    const prefix = part.endsWith('*') && part.length > 1;
    const words = tokens(prefix ? part.slice(0, -1) : part);
    words.forEach((token, i) => terms.push({ kind: 'word', token, prefix: prefix && i === words.length - 1 }));
  }
  if (terms.length === 0) return 'match needs at least one word (letters or digits)';
  if (terms.length > MAX_TERMS) return `match takes at most ${MAX_TERMS} words and phrases`;
  return { text, terms };
}

/** Whether a message has every term of the expression. */
export function textMatcher(expression: MatchExpression): (message: string) => boolean {
  const required = expression.terms.flatMap((term) => (term.kind === 'word' ? [term.token] : term.tokens));
  return (message) => {
    // Most lines lack a word: for ASCII text, where folding is lower-casing, a substring test says so cheaply.
    if (!NOT_ASCII.test(message)) {
      const lower = message.toLowerCase();
      if (!required.every((token) => lower.includes(token))) return false;
    }
    const words = tokens(message);
    return expression.terms.every((term) => {
      if (term.kind === 'word') return words.some((word) => (term.prefix ? word.startsWith(term.token) : word === term.token));
      const [first, ...rest] = term.tokens;
      return words.some((word, i) => word === first && rest.every((token, j) => words[i + 1 + j] === token));
    });
  };
}
