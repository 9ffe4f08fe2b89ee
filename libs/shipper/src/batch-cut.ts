import { OutgoingLine } from './aggregator-client';

/**
 * How many of the first `wanted` pending lines may form a batch (more, up to `settled`, if fewer
 * cannot): its end may not pass the start of a line it leaves out, or once it is acknowledged a
 * crash would lose that line's first bytes. 0: none may go until more lines settle.
 */
export function cutWhereNoLineLeftOutBegan(pending: Pick<OutgoingLine, 'startOffset' | 'endOffset'>[], wanted: number, settled: number): number {
  const firstStartFrom = new Array<number>(pending.length + 1);
  firstStartFrom[pending.length] = Infinity;
  for (let i = pending.length - 1; i >= 0; i--) firstStartFrom[i] = Math.min(pending[i].startOffset ?? Infinity, firstStartFrom[i + 1]);
  for (let take = wanted; take > 0; take--) if (pending[take - 1].endOffset <= firstStartFrom[take]) return take;
  for (let take = wanted + 1; take <= settled; take++) if (pending[take - 1].endOffset <= firstStartFrom[take]) return take;
  return 0;
}
