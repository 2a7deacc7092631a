// JSON body check of routes marked JSON: Content-Type, size bound and syntax, on a body read whole
// before any backend is chosen (so a refused body never reaches one).
import type { Readable } from 'node:stream';

export type JsonBodyResult =
  | { ok: true; body: Buffer }
  | { ok: false; rule: 'json-too-large' | 'json-content-type' | 'json-malformed'; status: number; reason: string; body?: Buffer };

/** Even in monitor mode a body is not buffered past this. */
export const HARD_BODY_CAP = 64 * 1024 * 1024;

export function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^[a-z]+\/[a-z0-9.+-]*\+json$/.test(type);
}

function readBody(stream: Readable, cap: number): Promise<{ body: Buffer; over: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > cap) {
        cleanup();
        resolve({ body: Buffer.concat(chunks), over: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ body: Buffer.concat(chunks), over: false });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('client closed before sending its body'));
    };
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/**
 * Check a request body as JSON. `block` false (monitor mode) still reads and checks, and returns
 * the body so the request can go on; only the hard cap is enforced then.
 */
export async function checkJsonBody(
  stream: Readable,
  headers: { contentType: string | undefined; contentLength: string | undefined },
  maxBytes: number,
  block: boolean,
): Promise<JsonBodyResult> {
  if (!isJsonType(headers.contentType)) {
    if (block) return { ok: false, rule: 'json-content-type', status: 415, reason: `Content-Type must be application/json on this route, not "${headers.contentType ?? ''}"` };
  }
  const declared = headers.contentLength === undefined ? undefined : Number(headers.contentLength);
  if (block && declared !== undefined && declared > maxBytes) {
    return { ok: false, rule: 'json-too-large', status: 413, reason: `JSON body of ${declared} bytes is larger than ${maxBytes}` };
  }
  const { body, over } = await readBody(stream, block ? maxBytes : HARD_BODY_CAP);
  if (over) return { ok: false, rule: 'json-too-large', status: 413, reason: `JSON body is larger than ${block ? maxBytes : HARD_BODY_CAP} bytes` };
  const typeOk = isJsonType(headers.contentType);
  if (!typeOk) return { ok: false, rule: 'json-content-type', status: 415, reason: 'Content-Type is not JSON', body };
  if (body.length > maxBytes) return { ok: false, rule: 'json-too-large', status: 413, reason: `JSON body of ${body.length} bytes is larger than ${maxBytes}`, body };
  try {
    JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, rule: 'json-malformed', status: 400, reason: `body is not valid JSON: ${(err as Error).message}`, body };
  }
  return { ok: true, body };
}
