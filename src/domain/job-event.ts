import type { WorkerError } from './errors.js';
import type { FileScore } from './file-run.js';
import type { ResultsObject } from './results.js';
import type { FileProgress, Tally } from './tally.js';
import type { BuiltWorkspace, Workspace } from './workspace.js';

/**
 * What a job tells its watchers (the progress display, the message's settling) as it goes, in this order. Each step
 * of the job starts from the event of the step before it, which carries what it needs (the workspace, the tally).
 */
export type JobEvent =
  | {
      readonly type: 'staged';
      readonly files: number;
      readonly functionName: string;
      readonly workspace: Workspace;
      readonly bytes: number;
    }
  | {
      readonly type: 'image';
      readonly tag: string;
      readonly cached: boolean;
      readonly warnings: readonly string[];
      readonly workspace: BuiltWorkspace;
    }
  | { readonly type: 'file'; readonly score: FileScore; readonly progress: FileProgress; readonly parallel: number }
  /** Every file ran and was scored: what the results are made from. */
  | {
      readonly type: 'scored';
      readonly tally: Tally;
      readonly workspace: BuiltWorkspace;
      readonly peakParallel: number;
    }
  | {
      readonly type: 'finished';
      readonly publicResults: ResultsObject;
      readonly privateResults: ResultsObject;
      readonly tally: Tally;
      readonly reportWarning: string | undefined;
    }
  | {
      readonly type: 'failed';
      readonly error: WorkerError;
      /** The job goes back to the queue for another try, and the Hub was not told (it still reads running). */
      readonly retry: boolean;
      /** The Hub accepted status failed (and was sent the error report). */
      readonly told: boolean;
    }
  /** Stopped from outside (Ctrl-C, SIGTERM) before it settled; its containers and workspace are removed. */
  | { readonly type: 'cancelled'; readonly reason: string };

/** The events that end a job. */
export type JobOutcome = Extract<JobEvent, { type: 'finished' | 'failed' | 'cancelled' }>;

export const isOutcome = (event: JobEvent): event is JobOutcome =>
  event.type === 'finished' || event.type === 'failed' || event.type === 'cancelled';
