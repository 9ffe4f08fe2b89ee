/** Label patterns and the node agent's namespace globs: `*` any run of characters, every other character itself. */

/** A piece of literal text between stars, found in a text in one pass however it repeats itself (Knuth–Morris–Pratt). */
class Piece {
  private readonly codes: Uint16Array;
  /** For each prefix of the piece, the length of its longest proper prefix that is also its suffix. */
  private readonly fallback: Int32Array;

  constructor(text: string) {
    this.codes = Uint16Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
    this.fallback = new Int32Array(text.length);
    for (let i = 1, k = 0; i < text.length; i++) {
      while (k > 0 && this.codes[i] !== this.codes[k]) k = this.fallback[k - 1];
      if (this.codes[i] === this.codes[k]) k++;
      this.fallback[i] = k;
    }
  }

  get length(): number {
    return this.codes.length;
  }

  /** Where the piece ends the first time it appears in `text` between `from` and `to`; -1 when it does not. */
  endIn(text: string, from: number, to: number): number {
    const { codes, fallback } = this;
    for (let t = from, k = 0; t < to; t++) {
      const code = text.charCodeAt(t);
      while (k > 0 && code !== codes[k]) k = fallback[k - 1];
      if (code === codes[k] && ++k === codes.length) return t + 1;
    }
    return -1;
  }
}

/**
 * A pattern where `*` stands for any run of characters, compiled once to a test that reads a text at
 * most about twice, whatever the pattern: the text must start with what comes before the first star
 * and end with what follows the last, and hold the pieces between, in order, each found at its first
 * place. Going back over a star (a regular expression, or a two-pointer walk) costs pattern × text
 * steps a label, which a request of long patterns against thousands of long pod names makes minutes.
 */
export function compileGlob(pattern: string): (text: string) => boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return (text) => text === pattern;
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const middle = pieces
    .slice(1, -1)
    .filter((piece) => piece !== '')
    .map((piece) => new Piece(piece));
  const shortest = head.length + tail.length + middle.reduce((sum, piece) => sum + piece.length, 0);
  return (text) => {
    if (text.length < shortest || !text.startsWith(head) || !text.endsWith(tail)) return false;
    const end = text.length - tail.length;
    let at = head.length;
    for (const piece of middle) {
      at = piece.endIn(text, at, end);
      if (at < 0) return false;
    }
    return true;
  };
}

export function globMatches(pattern: string, text: string): boolean {
  return compileGlob(pattern)(text);
}
