// Slow-start ramp arithmetic: how much of its weight a backend that just became eligible gets.
//
// Weights reach the scheduler scaled by WEIGHT_SCALE (HAProxy's BE_WEIGHT_SCALE is 16 too), so a
// weight-1 backend can still ramp. The ramp moves in 1/16 steps from a floor of weight/16 to the
// full weight: coarse enough that an ip-hash pool rebuilds its Maglev table at most 16 times per
// ramp, fine enough that the load a cold backend sees grows smoothly.

export const WEIGHT_SCALE = 16;

export interface RampStep {
  /** Scaled scheduler weight: weight * step, step in 1..WEIGHT_SCALE. */
  scaledWeight: number;
  /** When the next step is due; Infinity once the ramp is over. */
  nextAt: number;
  /** False once the ramp is complete (the caller can forget its start). */
  ramping: boolean;
}

export function rampStep(weight: number, from: number | undefined, slowStartMs: number, now: number): RampStep {
  if (from === undefined || !(slowStartMs > 0) || now - from >= slowStartMs) {
    return { scaledWeight: weight * WEIGHT_SCALE, nextAt: Infinity, ramping: false };
  }
  const elapsed = Math.max(0, now - from);
  const step = Math.max(1, Math.floor((WEIGHT_SCALE * elapsed) / slowStartMs));
  const nextAt = from + ((step + 1) * slowStartMs) / WEIGHT_SCALE;
  return { scaledWeight: weight * step, nextAt, ramping: true };
}
