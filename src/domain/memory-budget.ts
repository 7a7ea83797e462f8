/** What the host says about memory, as raw readings; all optional because any file may be missing. */
export interface MemoryReadings {
  /** MemAvailable of /proc/meminfo, bytes. */
  readonly availableBytes: number | undefined;
  /** cgroup v2 memory.max or v1 memory.limit_in_bytes, bytes; "max" or a huge v1 value means none. */
  readonly cgroupLimitBytes: number | undefined;
  /** cgroup v2 memory.current or v1 memory.usage_in_bytes, bytes. */
  readonly cgroupUsageBytes: number | undefined;
}

/** cgroup v1 reports "no limit" as a page-rounded 2^63; anything above a petabyte is treated as none. */
const NO_LIMIT_ABOVE = 2 ** 50;

/**
 * Bytes the worker may hand to containers right now: the smaller of what the host has available and what the
 * worker's own cgroup still allows, less a reserve. Never negative.
 */
export function memoryBudget(readings: MemoryReadings, reserveBytes: number): number {
  const candidates: number[] = [];
  if (readings.availableBytes !== undefined) candidates.push(readings.availableBytes);
  if (readings.cgroupLimitBytes !== undefined && readings.cgroupLimitBytes < NO_LIMIT_ABOVE) {
    candidates.push(readings.cgroupLimitBytes - (readings.cgroupUsageBytes ?? 0));
  }
  if (candidates.length === 0) return 0;
  return Math.max(0, Math.min(...candidates) - reserveBytes);
}

/** Parses MemAvailable from the text of /proc/meminfo. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const match = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Parses a cgroup memory file: a byte count, or "max" for none. */
export function parseCgroupBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'max') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
