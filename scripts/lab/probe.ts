// Reachability and HTTP checks run from inside a lab namespace by a short-lived `node -e` (no ping needed).
import { execIn } from './netns.js';

export type ProbeOutcome = 'connected' | 'refused' | 'timeout' | 'unreachable' | 'error';

export interface ProbeResult {
  host: string;
  port: number;
  outcome: ProbeOutcome;
  /** The socket error code when there was one (ECONNREFUSED, EHOSTUNREACH, ...). */
  code: string | null;
}

/** True when the host answered: a TCP handshake completed, or it was refused with a RST. */
export function answered(result: ProbeResult): boolean {
  return result.outcome === 'connected' || result.outcome === 'refused';
}

// Kept as plain JavaScript: it runs in a bare `node` inside the namespace, without tsx.
const TCP_PROBE = `
const net = require('node:net');
const [targetsJson, timeoutText] = process.argv.slice(1);
const targets = JSON.parse(targetsJson);
const timeoutMs = Number(timeoutText);
const probe = ({ host, port }) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  const done = (outcome, code) => { socket.destroy(); clearTimeout(timer); resolve({ host, port, outcome, code }); };
  const timer = setTimeout(() => done('timeout', null), timeoutMs);
  socket.once('connect', () => done('connected', null));
  socket.once('error', (err) => done(
    err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' ? 'unreachable' : 'error',
    err.code || null));
});
Promise.all(targets.map(probe)).then((results) => process.stdout.write(JSON.stringify(results)));
`;

/**
 * Tries a TCP connection from `ns` to each target at once. A refusal proves the host is reachable (its
 * kernel answered with a RST), so probing a closed port is a valid ping stand-in.
 */
export async function tcpProbe(
  ns: string,
  targets: ReadonlyArray<{ host: string; port: number }>,
  timeoutMs = 1000,
): Promise<ProbeResult[]> {
  const { stdout } = await execIn(ns, process.execPath, ['-e', TCP_PROBE, JSON.stringify(targets), String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000,
  });
  return JSON.parse(stdout) as ProbeResult[];
}

const HTTP_GET = `
const http = require('node:http');
const [url, timeoutText] = process.argv.slice(1);
const req = http.get(url, { timeout: Number(timeoutText) }, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') })));
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => { process.stderr.write(String(err.code || err.message)); process.exit(2); });
`;

/** One HTTP GET from inside `ns`; rejects (VIP_ERR_COMMAND_FAILED with the socket error as stderr) if it fails. */
export async function httpGetIn(ns: string, url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const { stdout } = await execIn(ns, process.execPath, ['-e', HTTP_GET, url, String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(stdout) as { status: number; body: string };
}
