// Response taps the HTTP engine chains onto an exchange: the cache's fill tap first (it must see
// the backend's own headers), then taps that add the balancer's Set-Cookie lines.
import type { ResponseTap } from '../cache/types.js';

/** One tap running `taps` in order; a tap that answers the client itself stops the head. */
export function chainTaps(taps: readonly ResponseTap[]): ResponseTap | undefined {
  if (taps.length === 0) return undefined;
  if (taps.length === 1) return taps[0];
  return {
    head: (status, message, headers) => taps.every((t) => t.head(status, message, headers)),
    data: (chunk) => taps.forEach((t) => t.data(chunk)),
    end: () => taps.forEach((t) => t.end()),
    abort: () => taps.forEach((t) => t.abort()),
  };
}

/** Adds a Set-Cookie line (computed at head time) to the response, when there is one. */
export function setCookieTap(line: () => string | undefined): ResponseTap {
  return {
    head: (_status, _message, headers) => {
      const value = line();
      if (value !== undefined) headers.push('Set-Cookie', value);
      return true;
    },
    data: () => undefined,
    end: () => undefined,
    abort: () => undefined,
  };
}
