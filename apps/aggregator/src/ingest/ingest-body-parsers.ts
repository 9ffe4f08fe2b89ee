import { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LineProblem } from '@daylog/log-model';
import { IngestBody, NumberedLine } from './ingest-body';

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

/**
 * Inflates `Content-Encoding: gzip` before parsing. Fastify counts the inflated bytes against the
 * body limit (and the compressed ones, through receivedEncodedLength); inflating also stops at the
 * limit, so a small gzip that would inflate to gigabytes costs no more than the limit.
 */
function inflateGzip(maxBodyBytes: number) {
  return (request: FastifyRequest, _reply: unknown, payload: Readable, done: (error: Error | null, stream?: Readable) => void): void => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return done(null, payload);
    if (encoding !== 'gzip' && encoding !== 'x-gzip') {
      return done(new BodyError(415, `Content-Encoding ${JSON.stringify(encoding)} is not accepted: send gzip or no encoding`));
    }
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
    done(null, payload.pipe(gunzip));
  };
}

/** Replaces Fastify's parsers with the ingest formats (protobuf for Loki's push); any other content type is a 415. */
export function registerIngestBodyParsers(fastify: FastifyInstance, maxBodyBytes: number): void {
  fastify.addHook('preParsing', inflateGzip(maxBodyBytes));
  fastify.removeAllContentTypeParsers();
  const options = { parseAs: 'string' as const, bodyLimit: maxBodyBytes };

  fastify.addContentTypeParser('application/json', options, (_request, body: string, done) => {
    const parsed = parseJson(body);
    if ('problem' in parsed) done(new BodyParseError(`the body is not valid JSON: ${parsed.problem}`, parsed.at), undefined);
    else done(null, { format: 'json', value: parsed.value } satisfies IngestBody);
  });

  fastify.addContentTypeParser('application/x-ndjson', options, (_request, body: string, done) => {
    const lines: NumberedLine[] = splitLines(body).map(({ index, text }) => {
      const parsed = parseJson(text);
      const value = 'problem' in parsed ? new LineProblem('invalid_json', `not valid JSON: ${parsed.problem}`) : parsed.value;
      return { index, value };
    });
    done(null, { format: 'ndjson', lines } satisfies IngestBody);
  });

  fastify.addContentTypeParser('text/plain', options, (_request, body: string, done) => {
    const lines = splitLines(body).map(({ index, text }) => ({ index, value: { message: text } }));
    done(null, { format: 'text', lines } satisfies IngestBody);
  });

  fastify.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body: Buffer, done) => {
    done(null, { format: 'protobuf', bytes: body } satisfies IngestBody);
  });
}
