// Types of the PROXY protocol (HAProxy's proxy-protocol.txt, v1 text and v2 binary).

export interface ProxyAddresses {
  family: 'tcp4' | 'tcp6';
  sourceAddress: string;
  sourcePort: number;
  destAddress: string;
  destPort: number;
}

/** A parsed header: `addresses` is null for LOCAL (v2) and UNKNOWN (v1): use the socket's own. */
export interface ProxyHeader {
  version: 1 | 2;
  addresses: ProxyAddresses | null;
}

export type ParseResult =
  | { kind: 'ok'; header: ProxyHeader; length: number }
  /** Not enough bytes yet to tell. */
  | { kind: 'more' }
  | { kind: 'invalid'; reason: string };
