import { MatchExpression, tokens } from '@daylog/log-model';

/**
 * A compacted block's words, in two indexes sized for what they hold. Words of letters only (`timeout`, `café`) are
 * few and repeat: a full-text index of them (FTS5, a document a block) costs well under a byte a line. Words with
 * digits (ids, sizes, addresses, times) are many and mostly unique: in FTS5 they cost ~17 B a line, in a Bloom
 * filter per block (10 bits a distinct word, 7 hashes: ~1 % of blocks read for nothing) ~4. A word with digits
 * also gives its leading letters to the full-text index (`order` of `order42`), so that a prefix of letters
 * (`ord*`) still finds it. Either index only narrows the blocks read: the matcher decides for each line.
 */
const BITS_PER_WORD = 10;
const HASHES = 7;

const LETTERS_ONLY = /^\p{L}+$/u;
const LEADING_LETTERS = /^\p{L}+/u;
// eslint-disable-next-line no-control-regex -- the ASCII range is the point
const NOT_ASCII = /[^\u0000-\u007f]/;

/** Words of messages joined (a newline between each), as `tokens` gives them; ASCII text the quick way, which gives the same. */
function wordsOf(joined: string): string[] {
  if (NOT_ASCII.test(joined)) return tokens(joined);
  return joined.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** FNV-1a over the word's UTF-16 units, and a second hash from it, for double hashing. */
function hashes(word: string): [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35);
  // Odd, so that the steps reach every bit; unsigned, as `| 1` alone would make it a negative int32 half the time.
  return [h >>> 0, ((g ^ (g >>> 16)) | 1) >>> 0];
}

/** Calls `bit` with each of the word's bits in a filter of `size` bits. */
function forEachBit(word: string, size: number, bit: (at: number) => void): void {
  const [h1, h2] = hashes(word);
  for (let i = 0; i < HASHES; i++) bit((h1 + i * h2) % size);
}

export interface BlockWords {
  /** The full-text document: the block's distinct words of letters, one space between each. */
  letters: string;
  /** The Bloom filter of its words with digits; null when it has none. */
  withDigits: Buffer | null;
}

export function blockWords(messages: readonly string[]): BlockWords {
  const letters = new Set<string>();
  const withDigits = new Set<string>();
  for (const word of wordsOf(messages.join('\n'))) {
    if (letters.has(word) || withDigits.has(word)) continue;
    if (LETTERS_ONLY.test(word)) {
      letters.add(word);
      continue;
    }
    withDigits.add(word);
    const leading = LEADING_LETTERS.exec(word);
    if (leading) letters.add(leading[0]);
  }
  return { letters: [...letters].join(' '), withDigits: withDigits.size === 0 ? null : bloomOf(withDigits) };
}

function bloomOf(words: Set<string>): Buffer {
  const bytes = Math.max(8, Math.ceil((words.size * BITS_PER_WORD) / 8));
  const filter = Buffer.alloc(bytes);
  const set = (bit: number) => (filter[bit >> 3] |= 1 << (bit & 7));
  for (const word of words) forEachBit(word, bytes * 8, set);
  return filter;
}

/** What a match expression asks of the indexes: an FTS5 query of its letter words (null: none), and its words with digits. */
export interface BlockWordQuery {
  letters: string | null;
  withDigits: string[];
}

export function blockWordQuery(expression: MatchExpression): BlockWordQuery {
  const letters: string[] = [];
  const withDigits: string[] = [];
  const add = (token: string, prefix: boolean) => {
    if (LETTERS_ONLY.test(token)) letters.push(`"${token}"${prefix ? '*' : ''}`);
    // A prefix with digits may end inside a word the filter holds whole: it cannot be looked up.
    else if (!prefix) withDigits.push(token);
  };
  for (const term of expression.terms) {
    if (term.kind === 'word') add(term.token, term.prefix);
    else for (const token of term.tokens) add(token, false);
  }
  return { letters: letters.length === 0 ? null : letters.join(' AND '), withDigits };
}

/** Whether a block's Bloom filter may hold every one of the words (a block without one holds none). */
export function mayHoldAll(filter: Buffer | null, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  if (filter === null) return false;
  const size = filter.length * 8;
  return words.every((word) => {
    let held = true;
    forEachBit(word, size, (bit) => (held &&= (filter[bit >> 3] & (1 << (bit & 7))) !== 0));
    return held;
  });
}
