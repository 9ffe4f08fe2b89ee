import { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DaylogConfig } from '@daylog/config';
import { LineProblem, jsonObjectsAbove, linesUpTo } from '@daylog/log-model';
import { IngestBody, NumberedLine } from './ingest-body';
import { tooManyLines, tooManyObjects } from './request-limits';

class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** 400 for a body that does not parse, with where: `{"error": "...", "at": position}`. */
export class BodyParseError extends BodyError {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(400, message);
  }
}

const JSON_POSITION = /at position (\d+)/;
const UNEXPECTED_TOKEN = /^Unexpected token '(.)', (\.\.\.)?"(.*)"(\.\.\.)? is not valid JSON$/s;
/** V8 quotes up to this many characters on either side of an unexpected token. */
const V8_CONTEXT = 10;

/**
 * Where JSON.parse stopped. V8 gives "at position N" for most errors, but for an unexpected token
 * only a quote of the text around it, cut at 10 characters either side: the position follows from
 * where the quote sits.
 */
function jsonErrorPosition(message: string, text: string): number {
  const position = JSON_POSITION.exec(message);
  if (position) return Number(position[1]);
  const unexpected = UNEXPECTED_TOKEN.exec(message);
  if (!unexpected) return text.length;
  const [, token, cutBefore, context, cutAfter] = unexpected;
  if (cutBefore && cutAfter) return text.indexOf(context) + V8_CONTEXT;
  if (cutBefore) return text.length - context.length + V8_CONTEXT;
  if (cutAfter) return context.length - V8_CONTEXT;
  return text.indexOf(token);
}

function parseJson(text: string): { value: unknown } | { problem: string; at: number } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error as Error).message;
    return { problem: message, at: jsonErrorPosition(message, text) };
  }
}

function splitLines(text: string): { index: number; text: string }[] {
  const lines: { index: number; text: string }[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim().length > 0) lines.push({ index, text: line });
  });
  return lines;
}

const BODYLESS_METHODS = new Set(['GET', 'HEAD']);

/** What every gzip stream begins with (RFC 1952). */
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

const UNDECLARED_GZIP =
  "the body is gzip-compressed but has no Content-Encoding: gzip header: add -H 'Content-Encoding: gzip', or send it uncompressed";

/**
 * Passes a body on as it comes once its first two bytes show it is not gzip. A gzip body sent without
 * saying so would otherwise be stored as one line of binary, or refused as JSON that does not parse.
 * No body of ours begins so: 0x8b is no character's first byte in UTF-8, nor a snappy block's first tag.
 */
export function refuseUndeclaredGzip(payload: Readable): Readable {
  let head: Buffer | null = Buffer.alloc(0);
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (head === null) return callback(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < GZIP_MAGIC.length) return callback();
      const seen = head;
      head = null;
      if (seen.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) return callback(new BodyError(400, UNDECLARED_GZIP));
      callback(null, seen);
    },
    flush(callback) {
      callback(null, head?.length ? head : undefined);
    },
  });
  // A body Fastify does not read (a DELETE without a content type, say) has no one listening for this error.
  check.on('error', () => undefined);
  payload.on('error', (error) => check.destroy(error));
  return payload.pipe(check);
}

/**
 * Inflates a gzip body before parsing. Fastify counts the inflated bytes against the body limit (and the
 * compressed ones, through receivedEncodedLength); inflating also stops at the limit, so a small gzip
 * that would inflate to gigabytes costs no more than the limit.
 */
function inflate(payload: Readable, maxBodyBytes: number): Readable {
  const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
  gunzip.receivedEncodedLength = 0;
  let inflated = 0;
  payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
  gunzip.on('data', (chunk: Buffer) => {
    inflated += chunk.length;
    if (inflated > maxBodyBytes) {
      payload.unpipe(gunzip);
      gunzip.destroy();
    }
  });
  // Fastify listens for errors only until it has answered (a 413 included); a corrupt tail
  // after that must not become an uncaught error.
  gunzip.on('error', () => undefined);
  payload.on('error', (error) => gunzip.destroy(error));
  return payload.pipe(gunzip);
}

/** Reads `Content-Encoding` before parsing: gzip is inflated, anything else but none is a 415. */
function decodeContentEncoding(maxBodyBytes: number) {
  return (request: FastifyRequest, _reply: unknown, payload: Readable, done: (error: Error | null, stream?: Readable) => void): void => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') {
      // Fastify reads no body for GET and HEAD: nothing to look at.
      return done(null, BODYLESS_METHODS.has(request.method) ? payload : refuseUndeclaredGzip(payload));
    }
    if (encoding !== 'gzip' && encoding !== 'x-gzip') {
      return done(new BodyError(415, `Content-Encoding ${JSON.stringify(encoding)} is not accepted: send gzip or no encoding`));
    }
    done(null, inflate(payload, maxBodyBytes));
  };
}

type Limits = Pick<DaylogConfig, 'maxBodyBytes' | 'maxLinesPerRequest' | 'maxObjectsPerRequest'>;

/** A 413 before a body is split or parsed: its lines or objects would cost far more than its bytes say. */
function linesWithinLimit(body: string, limits: Limits): number | BodyError {
  const lines = linesUpTo(body, limits.maxLinesPerRequest);
  return lines > limits.maxLinesPerRequest ? new BodyError(413, tooManyLines(limits.maxLinesPerRequest)) : lines;
}

/**
 * Holds a body's lines, once counted, in its client's share of the writer's queue, or refuses them (a 429): a
 * client sending many bodies at once has all but the first few refused after a count, not after splitting and
 * validating each.
 */
function holdLines(request: FastifyRequest, lines: number): Error | undefined {
  try {
    request.daylogShare?.hold(lines);
    return undefined;
  } catch (refusal) {
    return refusal as Error;
  }
}

function tooManyObjectsIn(body: string, limits: Limits): BodyError | undefined {
  if (!jsonObjectsAbove(body, limits.maxObjectsPerRequest)) return undefined;
  return new BodyError(413, tooManyObjects(limits.maxObjectsPerRequest, limits.maxLinesPerRequest));
}

/** Replaces Fastify's parsers with the ingest formats (protobuf for Loki's push); any other content type is a 415. */
export function registerIngestBodyParsers(fastify: FastifyInstance, limits: Limits): void {
  const { maxBodyBytes } = limits;
  fastify.addHook('preParsing', decodeContentEncoding(maxBodyBytes));
  fastify.removeAllContentTypeParsers();
  const options = { parseAs: 'string' as const, bodyLimit: maxBodyBytes };

  fastify.addContentTypeParser('application/json', options, (_request, body: string, done) => {
    const tooMany = tooManyObjectsIn(body, limits);
    if (tooMany) return done(tooMany, undefined);
    const parsed = parseJson(body);
    if ('problem' in parsed) done(new BodyParseError(`the body is not valid JSON: ${parsed.problem}`, parsed.at), undefined);
    else done(null, { format: 'json', value: parsed.value } satisfies IngestBody);
  });

  fastify.addContentTypeParser('application/x-ndjson', options, (request, body: string, done) => {
    const lines = linesWithinLimit(body, limits);
    const tooMany = typeof lines === 'number' ? (tooManyObjectsIn(body, limits) ?? holdLines(request, lines)) : lines;
    if (tooMany) return done(tooMany, undefined);
    const numbered: NumberedLine[] = splitLines(body).map(({ index, text }) => {
      const parsed = parseJson(text);
      const value = 'problem' in parsed ? new LineProblem('invalid_json', `not valid JSON: ${parsed.problem}`) : parsed.value;
      return { index, value };
    });
    done(null, { format: 'ndjson', lines: numbered } satisfies IngestBody);
  });

  fastify.addContentTypeParser('text/plain', options, (request, body: string, done) => {
    const lines = linesWithinLimit(body, limits);
    const tooMany = typeof lines === 'number' ? holdLines(request, lines) : lines;
    if (tooMany) return done(tooMany, undefined);
    done(null, { format: 'text', lines: splitLines(body).map(({ index, text }) => ({ index, value: { message: text } })) } satisfies IngestBody);
  });

  fastify.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body: Buffer, done) => {
    done(null, { format: 'protobuf', bytes: body } satisfies IngestBody);
  });
}
