import { setFlagsFromString } from 'node:v8';

/**
 * How far past what the last full collection left live V8 lets the worker service's old generation grow before the
 * next: 20 % (V8's own factor goes up to 4× when its collector is fast). The service's live heap is small and flat
 * (about 20 MB at a 1,000-file job's results, 23 MB at a 10,000-file one), and what a file allocates is short-lived:
 * with V8's factor no full collection came during a job's files at all, so its heap grew by their garbage and a
 * 10,000-file job peaked 15 to 20 MB above a 1,000-file one. Measured in bench/memory.ts (README §8): the job's CPU
 * did not change.
 */
const HEAP_GROWING_PERCENT = 20;

/** Sets the pacing for this process; V8 reads it at each collection, so it holds from the next one on. */
export function paceHeapForService(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
