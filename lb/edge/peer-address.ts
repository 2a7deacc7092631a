// The client address of a connection: what a PROXY protocol header said, else the socket's peer.
import type { Socket } from 'node:net';
import type { ProxyAddresses } from '../proxy-protocol/types.js';
import { plainAddress } from './address-set.js';

export interface Peer {
  address: string;
  port: number;
  /** The address the client connected to (the PROXY header's destination, else our local end). */
  localAddress: string;
  localPort: number;
}

const proxied = new WeakMap<Socket, Peer>();

/** Record what the PROXY header said for this socket (and the TLS socket wrapping it, via peerOf). */
export function setProxiedPeer(socket: Socket, a: ProxyAddresses): void {
  proxied.set(socket, { address: plainAddress(a.sourceAddress), port: a.sourcePort, localAddress: plainAddress(a.destAddress), localPort: a.destPort });
}

export function peerOf(socket: Socket): Peer {
  const p = proxied.get(socket) ?? proxied.get((socket as Socket & { _parent?: Socket })._parent ?? socket);
  if (p !== undefined) return p;
  return {
    address: plainAddress(socket.remoteAddress ?? ''),
    port: socket.remotePort ?? 0,
    localAddress: plainAddress(socket.localAddress ?? ''),
    localPort: socket.localPort ?? 0,
  };
}
