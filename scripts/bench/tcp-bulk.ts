// TCP bulk throughput: runs tcp-bulk-client in a child process against one address, reports MB/s.
import type { ChildProcesses } from './children.js';
import { tsEntry } from './children.js';
import type { BulkReport, BulkResult, Endpoint } from './types.js';

export interface BulkOptions {
  bytes: number;
  maxMs: number;
  streams: number;
}

export async function runBulk(children: ChildProcesses, target: Endpoint, opts: BulkOptions): Promise<BulkResult> {
  const { exec, args } = tsEntry('./tcp-bulk-client.ts');
  const t = children.spawn(
    'tcp-bulk-client',
    exec,
    [...args, target.host, String(target.port), String(opts.bytes), String(opts.maxMs), String(opts.streams)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  t.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  t.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await t.exited;
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`tcp bulk client exited ${String(code)}: ${err.trim() || out.trim()}`);
  const report = JSON.parse(line) as BulkReport;
  if (report.error) throw new Error(report.error);
  if (report.bytes <= 0 || report.ms <= 0) throw new Error('no bytes acknowledged');
  return { cpu: null, mbPerSec: report.bytes / 1e6 / (report.ms / 1000), bytes: report.bytes, ms: report.ms };
}
