// Raw TCP clients for edge tests: send exact bytes (a PROXY header, then HTTP), collect all that
// comes back until the server closes, from a chosen loopback source address.
import { connect } from 'node:net';

export interface RawReply {
  data: string;
  /** The server closed without sending anything. */
  closedEmpty: boolean;
}

export function rawExchange(port: number, chunks: (Buffer | string)[], opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${opts.timeoutMs ?? 10_000} ms; got ${JSON.stringify(data.slice(0, 200))}`));
    }, opts.timeoutMs ?? 10_000);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closedEmpty: data === '' });
    });
  });
}

/** Status code of the first HTTP response in `data`, 0 when there is none. */
export function statusOf(data: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
  return m ? Number(m[1]) : 0;
}
