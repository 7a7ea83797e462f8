import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Marks the worker alive now: the file's modification time is the heartbeat. Synchronous and cheap, so a loop that
 * is blocked cannot touch it.
 */
export function touchHealthFile(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `pvhub-worker ${process.pid}\n`);
  }
}

/** When the file was last touched (ms), undefined when it does not exist. */
export function healthFileTouchedAt(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
