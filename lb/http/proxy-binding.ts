// ProxyBinding: the client connection a request came on, and the PROXY header that names its client,
// for listeners with sendProxy (HAProxy's send-proxy on an HTTP backend).
import { IncomingMessage } from 'node:http';
import { peerOf } from '../edge/peer-address.js';
import { encodeProxyHeader } from '../proxy-protocol/encode.js';
import type { ClientRequest } from './types.js';

export interface ProxyBinding {
  /** The HTTP/1.1 socket or HTTP/2 session: backend connections opened for it are its alone. */
  owner: object;
  version: 'v1' | 'v2';
  /** The header to write first on each backend connection (read once per connection, not per request). */
  header(): Buffer;
  /** True when the client connection has already closed. */
  closed(): boolean;
  /** Runs once when the client connection closes. */
  onClose(fn: () => void): void;
}

/**
 * Built per request but cheap: the header is encoded only when a backend connection is opened.
 * The addresses are what acceptProxy recorded for the client connection, else its socket's.
 */
export function proxyBinding(req: ClientRequest, version: 'v1' | 'v2'): ProxyBinding {
  const header = (): Buffer => {
    const p = peerOf(req.socket);
    return encodeProxyHeader(version, { sourceAddress: p.address, sourcePort: p.port, destAddress: p.localAddress, destPort: p.localPort });
  };
  if (req instanceof IncomingMessage) {
    const socket = req.socket;
    return {
      owner: socket,
      version,
      header,
      closed: () => socket.destroyed,
      onClose: (fn) => socket.once('close', fn),
    };
  }
  // HTTP/2: the streams of one session are one client connection.
  const session = req.stream.session;
  if (session === undefined) {
    // A stream detached from its session is already over; bind it to itself so nothing is shared.
    const stream = req.stream;
    return { owner: stream, version, header, closed: () => true, onClose: (fn) => stream.once('close', fn) };
  }
  return {
    owner: session,
    version,
    header,
    closed: () => session.closed || session.destroyed,
    onClose: (fn) => session.once('close', fn),
  };
}
