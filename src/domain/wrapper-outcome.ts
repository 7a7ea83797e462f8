import { type ErrorCode, type FileFailure, isErrorCode } from './errors.js';
import type { WrapperReport } from './file-run.js';

/** What the container run looked like from outside. */
export interface RunFacts {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  /** Stopped for writing more than the results cap. */
  readonly resultsExceeded?: boolean;
  readonly resultsCapBytes?: number;
  readonly timeLimitSeconds: number;
  readonly memoryLimitBytes: number;
  /** The tail of the container's output, for messages. */
  readonly outputTail: string;
  /** status.json as the wrapper wrote it, if it did and it parsed. */
  readonly report: WrapperReport | undefined;
}

export type RunVerdict =
  | { readonly ok: true; readonly executionTime: number; readonly functionParameters: readonly string[] }
  | { readonly ok: false; readonly failure: FileFailure };

const GIB = 1024 ** 3;

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ').slice(-600);
}

/**
 * Turns a finished container into a per-file verdict with a Hub code. The original used the raw exit status as the
 * code (1 mislabelled as a timeout, 500 arriving as 244); here the wrapper's own report decides, and what the
 * worker saw (time limit, memory kill, crash without a report) comes first because the report cannot say it.
 */
export function judgeRun(facts: RunFacts): RunVerdict {
  if (facts.timedOut) {
    return { ok: false, failure: { code: 'sb_1', message: `exceeded the time limit of ${facts.timeLimitSeconds} s` } };
  }
  if (facts.resultsExceeded === true) {
    const cap = ((facts.resultsCapBytes ?? 0) / 1024 ** 2).toFixed(0);
    return { ok: false, failure: { code: 'sb_500', message: `wrote more than the results limit of ${cap} MiB` } };
  }
  if (facts.oomKilled) {
    const limit = (facts.memoryLimitBytes / GIB).toFixed(1);
    return { ok: false, failure: { code: 'sb_500', message: `exceeded the memory limit of ${limit} GiB` } };
  }
  const report = facts.report;
  if (report?.ok === true && facts.exitCode === 0) {
    const time = report.execution_time;
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
      return { ok: false, failure: { code: 'sb_500', message: 'the wrapper reported no execution time' } };
    }
    return { ok: true, executionTime: time, functionParameters: report.function_parameters ?? [] };
  }
  if (report && report.ok === false) {
    const code: ErrorCode = report.code !== undefined && isErrorCode(report.code) ? report.code : 'sb_500';
    return {
      ok: false,
      failure: { code, message: report.message ?? `the submission failed (exit ${facts.exitCode})` },
    };
  }
  const tail = lastLines(facts.outputTail, 5);
  return {
    ok: false,
    failure: {
      code: 'sb_500',
      message: `the submission ended with exit status ${facts.exitCode ?? 'unknown'} and no result${tail ? `: ${tail}` : ''}`,
    },
  };
}
