import { WireBatch } from './batch-wire';

export type WriterRequest =
  | { type: 'append'; id: number; batch: WireBatch }
  | { type: 'drop'; id: number; cutoffMs: number }
  | { type: 'close'; id: number };

export type WriterReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; message: string; code?: string };
