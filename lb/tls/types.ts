// Types of the TLS layer: what a checked certificate looks like and what listeners need from the worker.
import type { SecureContext } from 'node:tls';

/** What a checked certificate chain tells the listener, the metric and the API. */
export interface CertificateInfo {
  /** The leaf's CN, or its whole subject when it has no CN. */
  subject: string;
  issuer: string;
  /** DNS names it serves (SAN, else CN), lowercased; "*.example.com" for wildcards. */
  names: string[];
  /** Epoch ms. */
  notBefore: number;
  /** Epoch ms: the earliest notAfter of the chain (when the first of its certificates expires). */
  notAfter: number;
  fingerprint256: string;
  chainLength: number;
  selfSigned: boolean;
}

/** One loaded certificate of a listener, with the context built for it. */
export interface LoadedCertificate {
  /** Metric label and log name: the cluster name, the cert file path, or "inline:<CN>". */
  label: string;
  info: CertificateInfo;
  context: SecureContext;
}

/** Result of parsing the start of a TCP stream as a TLS ClientHello. */
export type ClientHelloPeek =
  /** More bytes are needed to decide. */
  | { kind: 'partial' }
  /** Not a TLS handshake (or malformed): route without SNI. */
  | { kind: 'not-tls' }
  /** A whole ClientHello; serverName absent when the client sent none. */
  | { kind: 'hello'; serverName?: string; alpn: string[] };
