import { readFileSync } from 'node:fs';
import { type MemoryReadings, parseCgroupBytes, parseMemAvailable } from '../domain/memory-budget.js';

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads the host's and the worker's own cgroup (v2, else v1) memory figures. Synchronous: tiny procfs reads. */
export function readMemory(): MemoryReadings {
  const v2Limit = readOptional('/sys/fs/cgroup/memory.max');
  const cgroupV2 = v2Limit !== undefined;
  return {
    availableBytes: parseMemAvailable(readOptional('/proc/meminfo') ?? ''),
    cgroupLimitBytes: parseCgroupBytes(
      cgroupV2 ? v2Limit : readOptional('/sys/fs/cgroup/memory/memory.limit_in_bytes'),
    ),
    cgroupUsageBytes: parseCgroupBytes(
      cgroupV2
        ? readOptional('/sys/fs/cgroup/memory.current')
        : readOptional('/sys/fs/cgroup/memory/memory.usage_in_bytes'),
    ),
  };
}
