// Shrinking a failing simulation: fast-check searches subsequences of the seed's fault plan for the
// shortest one that still breaks the same invariant, so the transcript to read is short.
// fast-check is used because its integrated shrinking of `subarray` does exactly this search.
import fc from 'fast-check';
import { type FaultAction, type SimOptions, type SimResult, runSeed } from './simulation.js';

export interface ShrinkOutcome {
  plan: FaultAction[];
  result: SimResult;
  runs: number;
}

/** Re-run `failing` with ever smaller fault plans; returns the smallest that fails the same way. */
export function shrinkFailure(failing: SimResult, options: Omit<SimOptions, 'plan' | 'seed'> = {}, timeLimitMs = 60_000): ShrinkOutcome {
  const invariant = failing.violation?.invariant;
  if (invariant === undefined) return { plan: failing.plan, result: failing, runs: 0 };
  let runs = 0;
  const stillFails = (plan: FaultAction[]): boolean => {
    runs++;
    return runSeed({ ...options, seed: failing.seed, nodes: failing.nodes, plan }).violation?.invariant === invariant;
  };
  const details = fc.check(
    fc.property(fc.subarray(failing.plan), (plan) => !stillFails(plan)),
    { examples: [[failing.plan]], numRuns: 1, seed: failing.seed, interruptAfterTimeLimit: timeLimitMs },
  );
  const plan = details.counterexample?.[0] ?? failing.plan;
  return { plan, result: runSeed({ ...options, seed: failing.seed, nodes: failing.nodes, plan }), runs };
}
