/** Medians, rounding and run orders shared by the benchmarks. */

export function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));
export const seconds = (ms: number) => round(ms / 1000);

/** A B B A A B …: each variant runs first as often as the other, so a drift of the machine does not favour one. */
export function alternating<T>(a: T, b: T, repeats: number): T[] {
  const order: T[] = [];
  for (let i = 0; i < repeats; i += 1) order.push(...(i % 2 === 0 ? [a, b] : [b, a]));
  return order;
}
