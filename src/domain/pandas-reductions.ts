/** The reductions a task's metrics_operations may name, computed as the pandas Series methods of the same name. */

import { PreciseSum } from './scoring.js';

/** The sum, compensated (PreciseSum): many values add up without drift. */
function total(values: readonly number[]): number {
  const sum = new PreciseSum();
  for (const value of values) sum.add(value);
  return sum.value;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : total(values) / values.length;
}

function variance(values: readonly number[]): number {
  if (values.length < 2) return NaN;
  const centre = mean(values);
  const squares = new PreciseSum();
  for (const value of values) squares.add((value - centre) ** 2);
  return squares.value / (values.length - 1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * The operations metrics_operations may name, with the semantics of the pandas Series method of the same name
 * (NaN skipped; std and var with ddof=1; sum of nothing is 0, other operations of nothing NaN): beside mean and
 * median, the pandas reductions a task author would reach for.
 */
export const OPERATIONS: Readonly<Record<string, (values: readonly number[]) => number>> = {
  mean,
  median,
  min: (values) => (values.length === 0 ? NaN : values.reduce((a, b) => Math.min(a, b))),
  max: (values) => (values.length === 0 ? NaN : values.reduce((a, b) => Math.max(a, b))),
  std: (values) => Math.sqrt(variance(values)),
  var: variance,
  sum: total,
  count: (values) => values.length,
};
