import { ViewState } from './view-state';

/** A piece of shown text, and whether it is one of the searched terms. */
export interface Piece {
  text: string;
  marked: boolean;
}

const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * What the view's text searches look for, to mark in the lines: each `q`, and each word and phrase of `match`
 * (a prefix without its `*`). A regex is not marked: the page would run the reader's expression on every line in
 * the browser's backtracking engine, which the server takes care never to do.
 */
export function searchedTerms(view: ViewState): RegExp | null {
  const terms = [...(view.q ?? [])];
  for (const expression of view.match ?? []) {
    for (const found of expression.matchAll(/"([^"]*)"|(\S+)/g)) terms.push((found[1] ?? found[2]).replace(/\*$/, ''));
  }
  const kept = terms.filter((term) => term.trim() !== '').sort((a, b) => b.length - a.length);
  return kept.length === 0 ? null : new RegExp(kept.map(escapeRegex).join('|'), 'giu');
}

/** A text cut into pieces where the terms are found, case aside. */
export function highlight(text: string, terms: RegExp | null): Piece[] {
  if (!terms) return [{ text, marked: false }];
  const pieces: Piece[] = [];
  let at = 0;
  for (const found of text.matchAll(terms)) {
    if (found[0] === '') continue;
    if (found.index > at) pieces.push({ text: text.slice(at, found.index), marked: false });
    pieces.push({ text: found[0], marked: true });
    at = found.index + found[0].length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), marked: false });
  return pieces;
}
