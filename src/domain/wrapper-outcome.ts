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
  /** How long the container ran, on the engine's clock: no call inside it can have taken longer. */
  readonly durationMs: number;
}

export type RunVerdict =
  | { readonly ok: true; readonly executionTime: number; readonly functionParameters: readonly string[] }
  | { readonly ok: false; readonly failure: FileFailure };

const GIB = 1024 ** 3;

/** The codes the wrapper's supervisor gives (container/pvhub_wrapper.py): the call's own failures are sb_ or op_. */
const WRAPPER_CODES: ReadonlySet<ErrorCode> = new Set(['sb_1', 'sb_500', 'op_6', 'wr_10', 'wr_500']);

/** Why a reported runtime cannot be true, if it cannot. */
function impossibleRuntime(seconds: number, durationMs: number): string | undefined {
  // Number.isFinite, not isFinite: a string from a forged report is not a time.
  if (!Number.isFinite(seconds) || seconds < 0) return 'the wrapper reported no execution time';
  if (seconds * 1000 > durationMs)
    return `the wrapper reported ${seconds} s of execution in a container that ran ${durationMs / 1000} s`;
  return undefined;
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ').slice(-600);
}

/**
 * Turns a finished container into a per-file verdict with a Hub code. The wrapper's own report decides, not the raw
 * exit status (which cannot tell a time-out from a crash, and wraps 500 to 244), and what the worker saw (time limit, memory kill, crash without a report) comes first because the report cannot say it. The
 * submission's output is never read for a code, and a report is held to what its writer can say: a code the
 * wrapper does not give, or a runtime longer than the container ran, is not believed.
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
    const seconds = report.execution_time ?? Number.NaN;
    const impossible = impossibleRuntime(seconds, facts.durationMs);
    if (impossible !== undefined) return { ok: false, failure: { code: 'sb_500', message: impossible } };
    return { ok: true, executionTime: seconds, functionParameters: report.function_parameters ?? [] };
  }
  if (report && report.ok === false) {
    const named = report.code !== undefined && isErrorCode(report.code) ? report.code : undefined;
    const code: ErrorCode = named !== undefined && WRAPPER_CODES.has(named) ? named : 'sb_500';
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
