import type { FileFailure } from './errors.js';
import type { FileMetadata, KwargValue } from './metadata.js';

/** One data file to run the submission on: what the container needs, nothing it must not see. */
export interface FileTask {
  readonly index: number;
  readonly metadata: FileMetadata;
  readonly kwargs: ReadonlyArray<readonly [string, KwargValue]>;
}

/** What the wrapper reports from inside the container (container/pvhub_wrapper.py writes it as status.json). */
export interface WrapperReport {
  readonly ok: boolean;
  readonly execution_time?: number;
  readonly function_parameters?: string[];
  readonly code?: string;
  readonly message?: string;
}

/**
 * `wallTimeMs` of a run, ok or failed, is its turn's go to its container's end as the engine measured it: the file's
 * wall time, sent to the Hub with its progress (the Hub's ETA is their mean × the files left) and used for the CLI's.
 */
export type FileRun =
  | {
      readonly kind: 'ran';
      readonly task: FileTask;
      /** Seconds the submission's function took, timed inside the container around the call only. */
      readonly executionTime: number;
      /** Host path of the CSV the wrapper wrote: a copy of its bytes, absent when there was none. */
      readonly outputPath: string;
      /** Why there is no copy, when the container left something other than a regular file in its place. */
      readonly outputProblem?: string;
      readonly functionParameters: readonly string[];
      readonly wallTimeMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly task: FileTask;
      readonly failure: FileFailure;
      readonly wallTimeMs: number;
    };

/** Per-file metric row (contract §7): file_name, data_requirements, runtime and `<metric>_<ref>` values. */
export interface FileScoreRow {
  readonly file_name: string;
  readonly data_requirements: readonly string[];
  readonly values: Readonly<Record<string, number | null>>;
}

export type FileScore =
  | { readonly kind: 'scored'; readonly run: Extract<FileRun, { kind: 'ran' }>; readonly row: FileScoreRow }
  | { readonly kind: 'failed'; readonly task: FileTask; readonly failure: FileFailure; readonly wallTimeMs: number };

export function fileNameOf(score: FileScore): string {
  return (score.kind === 'scored' ? score.run.task : score.task).metadata.file_name;
}

/** The wall time of a finished file in seconds, ok or failed: what the Hub's progress_increment is sent. */
export function wallSecondsOf(score: FileScore): number {
  return (score.kind === 'scored' ? score.run.wallTimeMs : score.wallTimeMs) / 1000;
}
