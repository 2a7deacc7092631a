// Reads V8 .cpuprofile files and ranks where the time went: self time by function and by area
// (Ballast module, dependency, node internals, GC, idle). Also runnable on its own:
//   node --import tsx scripts/bench/profile-summary.ts FILE.cpuprofile...
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Ranked {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  functions: Ranked[];
  areas: Ranked[];
}

/** The checkout root as a file URL, to print repository-relative paths. */
const ROOT = new URL('../../', import.meta.url).href;

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  return url.replace(/^file:\/\//, '');
}

/** Coarse bucket for a frame: a Ballast folder, a dependency, node internals, or V8 pseudo-frames. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const url = shortUrl(frame.url);
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  if (frame.url.includes('node_modules/')) return `dep:${url.split('/')[0] ?? url}`;
  const parts = url.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : url;
}

const IDLE = new Set(['(idle)', '(program)']);

/**
 * Nodes under the profiler's own frames (cpu-profiler.ts stopping the profile and serializing it,
 * which V8 records as a long native "dispatch"): left out, they are not the profiled program.
 */
function profilerOwn(nodes: ProfileNode[]): Set<number> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Set<number>();
  const mark = (id: number): void => {
    if (out.has(id)) return;
    out.add(id);
    for (const c of byId.get(id)?.children ?? []) mark(c);
  };
  for (const n of nodes) if (n.callFrame.url.endsWith('/cpu-profiler.ts')) mark(n.id);
  return out;
}

export function summarize(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const own = profilerOwn(profile.nodes);
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || own.has(id)) return;
    totalUs += dt;
    const f = node.callFrame;
    if (IDLE.has(f.functionName)) idleUs += dt;
    const name = f.url ? `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}` : f.functionName;
    fn.set(name, (fn.get(name) ?? 0) + dt);
    const a = areaOf(f);
    area.set(a, (area.get(a) ?? 0) + dt);
  });
  const busyUs = totalUs - idleUs;
  const rank = (m: Map<string, number>): Ranked[] =>
    [...m.entries()]
      .filter(([k]) => !IDLE.has(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions: rank(fn), areas: rank(area) };
}

export function formatSummary(path: string, s: ProfileSummary): string {
  const line = (r: Ranked) => `    ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`;
  return [
    `${path}: ${s.totalMs.toFixed(0)} ms profiled, ${s.busyMs.toFixed(0)} ms busy (shares below are of busy time)`,
    '  by area (self time):',
    ...s.areas.map(line),
    '  by function (self time):',
    ...s.functions.map(line),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const path of process.argv.slice(2)) process.stdout.write(`${formatSummary(path, summarize(path))}\n\n`);
}
