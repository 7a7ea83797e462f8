import { concatWith, defer, map, type Observable, of, type OperatorFunction } from 'rxjs';
import type { FileScore } from '../domain/file-run.js';
import type { JobEvent } from '../domain/job-event.js';
import { addScore, emptyTally, progressOf } from '../domain/tally.js';
import type { BuiltWorkspace } from '../domain/workspace.js';

/**
 * Folds the scores of a job's files into its tally, in constant work per file: a `file` event for each score with
 * the progress so far (not the whole tally), then `scored` with the tally once the last file is in, and the most
 * files that ran at once (`peakParallel`, asked then).
 *
 * ```
 * source:  -a-b-|
 * result:  -a-b-(s|)     a, b: file events; s: scored
 * ```
 */
export function tallyFiles(
  workspace: BuiltWorkspace,
  parallel: number,
  peakParallel: () => number,
): OperatorFunction<FileScore, JobEvent> {
  return (scores: Observable<FileScore>) =>
    defer(() => {
      const tally = emptyTally(workspace.files.count);
      return scores.pipe(
        map((score): JobEvent => ({ type: 'file', score, progress: progressOf(addScore(tally, score)), parallel })),
        concatWith(defer(() => of<JobEvent>({ type: 'scored', tally, workspace, peakParallel: peakParallel() }))),
      );
    });
}
