// Reading a TLS ClientHello off a paused client socket without consuming it: the bytes are put
// back (unshift) so the backend receives the stream untouched, and the socket is left paused.
import type { Socket } from 'node:net';
import { peekClientHello } from '../tls/client-hello.js';

/** What the first bytes said: the SNI name, or undefined (no SNI, not TLS, timed out, closed). */
export function peekServerName(client: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (name: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      client.off('close', onEnd);
      client.pause();
      if (chunks.length > 0) client.unshift(Buffer.concat(chunks));
      resolve(name);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const peek = peekClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      switch (peek.kind) {
        case 'partial':
          return;
        case 'not-tls':
          return finish(undefined);
        case 'hello':
          return finish(peek.serverName);
        default: {
          const never: never = peek;
          throw new TypeError(`unknown peek ${String(never)}`);
        }
      }
    };
    const onEnd = (): void => finish(undefined);
    // A client that opens and says nothing would hold the slot forever; the fallback pool gets it.
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onEnd);
    client.resume();
  });
}
