import { LineRow } from '@daylog/storage';

/**
 * PostgreSQL's text cannot hold U+0000, which a log line may: such a message is stored in `message` with
 * U+FFFD in each NUL's place (what searches read) and whole, as UTF-8, in `message_with_nul` (what is shown).
 */
const NUL = '\u0000';
const NUL_STAND_IN = '\ufffd';

/** The two columns a message is stored in. */
export function storedMessage(message: string): { message: string; messageWithNul: Buffer | null } {
  return message.includes(NUL) ? { message: message.replaceAll(NUL, NUL_STAND_IN), messageWithNul: Buffer.from(message, 'utf8') } : { message, messageWithNul: null };
}

/** The columns of `logs` a LineRow is made from (lineRowOf), for SELECT lists. */
export const LINE_COLUMNS = 'id, ts, stream_id AS "labelSetId", level AS severity, message, fields, format, message_with_nul AS "messageWithNul"';

/**
 * The columns of `streams` a StoredLabelSet is made from: a missing label, stored as '' (for the unique
 * constraint to treat two missing ones as equal), is null again.
 */
export const LABEL_SET_COLUMNS = "id, NULLIF(namespace, '') AS namespace, pod, NULLIF(container, '') AS container, NULLIF(source, '') AS source";

export interface PgLineRow extends LineRow {
  messageWithNul: Buffer | null;
}

/** A row read with LINE_COLUMNS as the core takes it: the message as it was sent. */
export function lineRowOf(row: PgLineRow): LineRow {
  const { messageWithNul, ...line } = row;
  return messageWithNul === null ? line : { ...line, message: messageWithNul.toString('utf8') };
}
