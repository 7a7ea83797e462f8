import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { RESULTS_MAX_ENTRIES } from './results-volume.js';

/** How often the writable mounts are measured against the results cap. */
const RESULTS_POLL_MS = 200;

/** Writable mounts of a run and the most they may hold together. */
export interface ResultsWatch {
  readonly dirs: readonly string[];
  readonly capBytes: number;
}

/**
 * Bytes and entries under the writable mounts, stopping early once over the limits. The single-file limit
 * (RLIMIT_FSIZE = the cap) bounds each file between two measurements; this bounds them all together.
 */
async function writtenBytes(dirs: readonly string[], limitBytes: number): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [...dirs];
  while (pending.length > 0 && bytes <= limitBytes && entries <= RESULTS_MAX_ENTRIES) {
    const dir = pending.pop() as string;
    let names: Dirent[];
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of names) {
      entries += 1;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) pending.push(file);
      else
        bytes += await lstat(file).then(
          (info) => info.blocks * 512,
          () => 0,
        );
    }
  }
  return { bytes, entries };
}

/**
 * Measures the watched mounts every RESULTS_POLL_MS while a run goes on, and calls `over` once they hold more than
 * the cap in bytes or in entries, and then measures no more. Returns what ends the watch sooner.
 */
export function watchWrittenBytes(watch: ResultsWatch, over: () => void): () => void {
  let measuring = false;
  const poller = setInterval(() => {
    if (measuring) return;
    measuring = true;
    writtenBytes(watch.dirs, watch.capBytes)
      .then(({ bytes, entries }) => {
        if (bytes <= watch.capBytes && entries <= RESULTS_MAX_ENTRIES) return;
        clearInterval(poller);
        over();
      })
      .catch(() => undefined)
      .finally(() => (measuring = false));
  }, RESULTS_POLL_MS);
  return () => clearInterval(poller);
}
