// Runs the deterministic Raft simulation over a range of seeds: `npm run sim -- --seeds N --from S`.
// Prints each violation with its transcript (the first one shrunk to a minimal fault plan) and
// closes with `seeds: N, violations: V, elections: E, commits: C`; exits 1 on any violation.
import { parseArgs } from 'node:util';
import { shrinkFailure } from '../test/sim/shrink.js';
import { formatFailure, runSeed } from '../test/sim/simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    'no-shrink': { type: 'boolean', default: false },
    'max-reports': { type: 'string', default: '5' },
    progress: { type: 'string', default: '0' },
    // Election spread in ticks (electionTick is 10): 10 is etcd's [T, 2T), 5 is a Ballast node's default.
    jitter: { type: 'string', default: '10' },
  },
});

const seeds = Number(values.seeds);
const from = Number(values.from);
const maxReports = Number(values['max-reports']);
const progressEvery = Number(values.progress);
const jitter = Number(values.jitter);
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(from) || !Number.isInteger(jitter) || jitter < 1) {
  process.stderr.write('usage: npm run sim -- --seeds N --from S [--jitter TICKS] [--no-shrink] [--max-reports K] [--progress K]\n');
  process.exit(2);
}

let violations = 0;
let elections = 0;
let commits = 0;
let unknownLin = 0;
let shrunk = false;
const started = performance.now();
for (let seed = from; seed < from + seeds; seed++) {
  const r = runSeed({ seed, raft: { electionJitterTick: jitter } });
  elections += r.elections;
  commits += r.commits;
  if (r.linearizability === 'unknown') unknownLin++;
  if (r.violation !== null) {
    violations++;
    if (violations <= maxReports) process.stdout.write(`${formatFailure(r)}\n\n`);
    if (!shrunk && !values['no-shrink']) {
      shrunk = true;
      const s = shrinkFailure(r, { raft: { electionJitterTick: jitter } });
      process.stdout.write(`shrunk seed ${seed}: fault plan ${r.plan.length} -> ${s.plan.length} actions (${s.runs} runs)\n${formatFailure(s.result)}\n\n`);
    }
  }
  if (progressEvery > 0 && (seed - from + 1) % progressEvery === 0) {
    const secs = ((performance.now() - started) / 1000).toFixed(0);
    process.stderr.write(`.. ${seed - from + 1} seeds, ${violations} violations, ${secs}s\n`);
  }
}
const secs = (performance.now() - started) / 1000;
process.stdout.write(`seeds ${from}..${from + seeds - 1} in ${secs.toFixed(1)} s (${((secs * 1000) / seeds).toFixed(1)} ms/seed); linearizability undecided (search budget) in ${unknownLin}\n`);
process.stdout.write(`seeds: ${seeds}, violations: ${violations}, elections: ${elections}, commits: ${commits}\n`);
process.exitCode = violations > 0 ? 1 : 0;
