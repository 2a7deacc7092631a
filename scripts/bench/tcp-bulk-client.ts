// TCP bulk client, run as its own child process: pushes bytes through one address to a sink until
// a byte budget or a time budget runs out, half-closes, and times the sink's acknowledgement.
// Usage: tcp-bulk-client.ts HOST PORT BYTES MAX_MS STREAMS
import { connect } from 'node:net';
import type { BulkReport } from './types.js';

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

interface StreamOutcome {
  acked: number;
  error?: string;
}

function pushOne(host: string, port: number, budget: number, deadline: number): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    socket.setNoDelay(true);
    let sent = 0;
    let answer = '';
    let settled = false;
    const finish = (outcome: StreamOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      socket.destroy();
      resolve(outcome);
    };
    // The sink answers on FIN; a path that drops the half-close never lets it answer.
    const guard = setTimeout(
      () => finish({ acked: 0, error: `no acknowledgement ${Math.round((deadline + 15_000 - Date.now()) / 1000)}s after the budget (half-close not forwarded?)` }),
      Math.max(0, deadline - Date.now()) + 15_000,
    );
    const pump = () => {
      while (sent < budget && Date.now() < deadline) {
        const n = Math.min(CHUNK.length, budget - sent);
        sent += n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return;
      }
      socket.removeListener('drain', pump);
      socket.end();
    };
    socket.on('connect', () => {
      socket.on('drain', pump);
      pump();
    });
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('end', () => {
      const acked = Number.parseInt(answer, 10);
      if (!Number.isFinite(acked)) finish({ acked: 0, error: `sink answered ${JSON.stringify(answer.slice(0, 40))}` });
      else if (acked !== sent) finish({ acked, error: `sink acknowledged ${acked} of ${sent} bytes` });
      else finish({ acked });
    });
    socket.on('error', (err) => finish({ acked: 0, error: err.message }));
    socket.on('close', () => finish({ acked: 0, error: 'closed before the sink acknowledged' }));
  });
}

async function main(): Promise<void> {
  const [host = '127.0.0.1', portText = '', bytesText = '', maxMsText = '', streamsText = '1'] = process.argv.slice(2);
  const port = Number(portText);
  const bytes = Number(bytesText);
  const maxMs = Number(maxMsText);
  const streams = Math.max(1, Number(streamsText));
  const started = performance.now();
  const deadline = Date.now() + maxMs;
  const outcomes = await Promise.all(
    Array.from({ length: streams }, () => pushOne(host, port, Math.ceil(bytes / streams), deadline)),
  );
  const ms = performance.now() - started;
  const errors = outcomes.flatMap((o) => (o.error ? [o.error] : []));
  const report: BulkReport = { type: 'bulk', streams, bytes: outcomes.reduce((s, o) => s + o.acked, 0), ms };
  if (errors.length) report.error = errors.join('; ');
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`tcp-bulk-client: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
