import type { WorkerError } from '../domain/errors.js';
import type { FileScore } from '../domain/file-run.js';
import type { ResultsObject } from '../domain/results.js';
import type { Tally } from '../domain/tally.js';

/** What a job tells its watchers (the progress display, the worker loop) as it goes. */
export type JobEvent =
  | { readonly type: 'staged'; readonly files: number; readonly functionName: string }
  | { readonly type: 'image'; readonly tag: string; readonly cached: boolean; readonly warnings: readonly string[] }
  | { readonly type: 'file'; readonly score: FileScore; readonly tally: Tally; readonly parallel: number }
  | { readonly type: 'finished'; readonly publicResults: ResultsObject; readonly privateResults: ResultsObject; readonly tally: Tally; readonly reportWarning: string | undefined }
  | {
      readonly type: 'failed';
      readonly error: WorkerError;
      /** The job goes back to the queue for another try, and the Hub was not told (it still reads running). */
      readonly retry: boolean;
      /** The Hub accepted status failed (and was sent the error report). */
      readonly told: boolean;
    };
