import type { Fault } from '../../spec/helpers/flaky-proxy.js';
import { positiveInt } from '../common.js';

/** What the soak runs: the jobs, the faults, the interruptions, the limits. Settings come from the environment. */

/** The example submissions of the time-shift task, and how many of each a default run queues (52 in all). */
export const MIX: ReadonlyArray<{ readonly zip: string; readonly weight: number; readonly correct: boolean }> = [
  { zip: 'time-shift-correct.zip', weight: 18, correct: true },
  { zip: 'time-shift-correct-nested.zip', weight: 6, correct: true },
  { zip: 'time-shift-wrong.zip', weight: 8, correct: false },
  { zip: 'time-shift-raises-some.zip', weight: 8, correct: false },
  { zip: 'time-shift-sleeps.zip', weight: 3, correct: false },
  { zip: 'time-shift-bad-requirement.zip', weight: 9, correct: false },
];

/** Submission ids of the soak's own range: its containers are told from other work on the engine by them. */
export const CLEAN_FIRST_ID = 700_000;
export const SOAK_FIRST_ID = 700_100;
export const ID_RANGE = { from: 700_000, to: 709_999 } as const;

/** The faults the soak injects: an error status, a stall past the client's timeout, a reset after applying. */
export const FAULTS: readonly Fault[] = ['status-500', 'stall', 'reset-after-apply'];

export type Target = 'hub' | 's3' | 'sqs';

function rate(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isFinite(value) && value >= 0 && value < 1
    ? value
    : fallback;
}

export interface Interruption {
  readonly signal: 'SIGKILL' | 'SIGTERM';
  /** Files the Hub was told of in this attempt before the signal: 0 is during staging or the image build. */
  readonly afterFiles: number;
}

/**
 * 5 kill -9 and 3 SIGTERM, at different points of a 13-file job, in the order they are sent; each waits for its
 * share of the jobs to settle first, so they spread over the run.
 */
export const INTERRUPTIONS: readonly Interruption[] = [
  { signal: 'SIGKILL', afterFiles: 3 },
  { signal: 'SIGTERM', afterFiles: 5 },
  { signal: 'SIGKILL', afterFiles: 8 },
  { signal: 'SIGKILL', afterFiles: 0 },
  { signal: 'SIGTERM', afterFiles: 10 },
  { signal: 'SIGKILL', afterFiles: 6 },
  { signal: 'SIGTERM', afterFiles: 1 },
  { signal: 'SIGKILL', afterFiles: 11 },
];

export const settings = (env: NodeJS.ProcessEnv = process.env) => {
  const jobs = positiveInt(
    env['SOAK_JOBS'],
    MIX.reduce((sum, entry) => sum + entry.weight, 0),
  );
  return {
    jobs,
    workers: positiveInt(env['SOAK_WORKERS'], 2),
    seed: positiveInt(env['SOAK_SEED'], 12),
    faultRates: {
      hub: rate(env['SOAK_HUB_FAULT_RATE'], 0.2),
      s3: rate(env['SOAK_S3_FAULT_RATE'], 0.1),
      sqs: rate(env['SOAK_SQS_FAULT_RATE'], 0.08),
    } satisfies Record<Target, number>,
    /** The faulted phase stops here whatever is left (then counted as stuck or lost). */
    timeLimitMs: positiveInt(env['SOAK_TIME_LIMIT_MINUTES'], 40) * 60_000,
    cleanTimeLimitMs: 15 * 60_000,
  };
};
export type SoakSettings = ReturnType<typeof settings>;

/**
 * Timings of the faulted workers: the timeout of the Hub, S3 and SQS clients is short so that a stall passes it;
 * the lease is the shortest the worker takes, so a killed worker's message comes back within half a minute.
 */
export const API_TIMEOUT_SECONDS = 3;
export const STALL_MS = 5_000;
export const LEASE_SECONDS = 30;

/** Settings every soak worker has, clean or faulted. */
export const WORKER_SETTINGS: Readonly<Record<string, string>> = {
  // Other people's containers share this engine: a soak worker must not sweep them.
  PVHUB_VISIBILITY_LEASE: String(LEASE_SECONDS),
  // The sleeping submission's 5-minute files end at this limit; a correct file takes a few seconds.
  PVHUB_FILE_TIME_LIMIT: '30',
};

/** `jobs` zips in the mix's proportions, shuffled by `random`. */
export function jobList(jobs: number, random: () => number): string[] {
  const total = MIX.reduce((sum, entry) => sum + entry.weight, 0);
  const list = MIX.flatMap((entry) =>
    Array.from({ length: Math.max(1, Math.round((entry.weight * jobs) / total)) }, () => entry.zip),
  ).slice(0, jobs);
  while (list.length < jobs) list.push(MIX[0]?.zip ?? '');
  for (let i = list.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j] as string, list[i] as string];
  }
  return list;
}

export const isCorrect = (zip: string) => MIX.some((entry) => entry.zip === zip && entry.correct);
