// Reading the PROXY protocol header off a just-accepted socket, before anything else sees its
// bytes; what follows the header is put back (unshift) for the engine that reads next.
import type { Socket } from 'node:net';
import { parseProxyHeader } from './parse.js';
import type { ProxyHeader } from './types.js';

export type ReadHeaderResult = { ok: true; header: ProxyHeader } | { ok: false; reason: string };

export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ReadHeaderResult> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (result: ReadHeaderResult, rest?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        const parsed = parseProxyHeader(buf);
        if (parsed.kind === 'ok') finish({ ok: true, header: parsed.header }, buf.subarray(parsed.length));
        else if (parsed.kind === 'invalid') finish({ ok: false, reason: parsed.reason });
      }
    };
    const onEnd = (): void => finish({ ok: false, reason: 'connection closed before a PROXY header' });
    const timer = setTimeout(() => finish({ ok: false, reason: `no PROXY header within ${timeoutMs} ms` }), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}
