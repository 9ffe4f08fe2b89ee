import { ESCAPES, showHidden } from './display-text';

/** A run of a message's text and the colours its escape sequences gave it, as class names. */
export interface Segment {
  text: string;
  classes: string;
}

interface Pen {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Pen = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

/** A colour of the 256-colour palette as one of the 16 the page styles; the cube and greys by brightness and hue. */
function paletteColour(index: number): number | null {
  if (index < 16) return index;
  if (index >= 232) return index < 244 ? 8 : 7;
  const cube = index - 16;
  const [r, g, b] = [Math.floor(cube / 36), Math.floor(cube / 6) % 6, cube % 6];
  const bright = Math.max(r, g, b) > 3 ? 8 : 0;
  return bright + ((r > 2 ? 1 : 0) | (g > 2 ? 2 : 0) | (b > 2 ? 4 : 0));
}

/** The pen after one SGR sequence's parameters (`1;31`, `38;5;208`); unknown ones change nothing. */
function applySgr(pen: Pen, parameters: string): Pen {
  const codes = parameters === '' ? [0] : parameters.split(/[;:]/).map((code) => (code === '' ? 0 : Number(code)));
  let next = { ...pen };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) next = { ...PLAIN };
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next = { ...next, bold: false, dim: false };
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) next.fg = null;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) next.bg = null;
    else if (code === 38 || code === 48) {
      const colour = codes[i + 1] === 5 ? paletteColour(codes[i + 2] ?? 0) : null;
      i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
      if (code === 38) next.fg = colour;
      else next.bg = colour;
    }
  }
  return next;
}

function classesOf(pen: Pen): string {
  const classes: string[] = [];
  if (pen.fg !== null) classes.push(`fg${pen.fg}`);
  if (pen.bg !== null) classes.push(`bg${pen.bg}`);
  if (pen.bold) classes.push('bold');
  if (pen.dim) classes.push('dim');
  if (pen.italic) classes.push('italic');
  if (pen.underline) classes.push('underline');
  return classes.join(' ');
}

/**
 * A message as runs of text with the colours and weights its SGR escape sequences ask for (when `colours`);
 * every other escape sequence is dropped and hidden characters shown as marks, so no sequence does more than colour.
 */
export function ansiSegments(message: string, colours: boolean): Segment[] {
  const segments: Segment[] = [];
  let pen = PLAIN;
  let at = 0;
  const add = (text: string) => {
    if (text === '') return;
    const classes = colours ? classesOf(pen) : '';
    const last = segments[segments.length - 1];
    if (last && last.classes === classes) last.text += showHidden(text);
    else segments.push({ text: showHidden(text), classes });
  };
  for (const found of message.matchAll(ESCAPES)) {
    add(message.slice(at, found.index));
    at = found.index + found[0].length;
    // eslint-disable-next-line no-control-regex -- an escape sequence's first character is the point
    const sgr = /^\x1b\[([\d;:]*)m$/.exec(found[0]);
    if (sgr) pen = applySgr(pen, sgr[1]);
  }
  add(message.slice(at));
  return segments;
}
