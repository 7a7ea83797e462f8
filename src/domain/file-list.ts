import type { FileTask } from './file-run.js';

/**
 * A job's data files in the task's order. A real job keeps them on disk (adapters/file-list-spool.ts) and reads one
 * at a time as its turn comes, so that a job of 10,000 files holds none of their metadata meanwhile;
 * `inMemoryFileList` holds a few given at once.
 */
export interface FileList {
  readonly count: number;
  /** The file at this place in the task's order (0 ≤ index < count). */
  at(index: number): Promise<FileTask>;
  /** Every file in the task's order, read one at a time. */
  each(): AsyncIterable<FileTask>;
}

export function inMemoryFileList(tasks: readonly FileTask[]): FileList {
  return {
    count: tasks.length,
    at: async (index) => {
      const task = tasks[index];
      if (task === undefined) throw new RangeError(`no file at ${index} of ${tasks.length}`);
      return task;
    },
    each: async function* () {
      yield* tasks;
    },
  };
}
