// An origin that holds the responses a test picks until told to answer them: what a request in
// flight looks like to a drain, a hand-over or a listener being replaced.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeldOrigin {
  port: number;
  /** Answers every held request with "ok". */
  release(): void;
  /** Requests held right now. */
  waiting(): number;
  close(): void;
}

/** Holds the requests `hold` picks (all of them by default) and answers the others at once. */
export async function startHeldOrigin(hold: (req: http.IncomingMessage) => boolean = () => true): Promise<HeldOrigin> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    if (hold(req)) held.push(res);
    else res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    release: () => {
      for (const res of held.splice(0)) res.end('ok');
    },
    waiting: () => held.length,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
