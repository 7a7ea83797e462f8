/**
 * Scale, measured: `npx tsx bench/scale.ts` (or `npm run bench:scale`), about 5 minutes on a 2-core machine.
 * Two workers on one FIFO queue of ElasticMQ, 6 queued jobs of the example's correct submission, run twice: every
 * message in group "1" (as the Hub's API sends them) and one group per submission. Writes `scale` into
 * bench/results.json, keeping its other keys; bench/README.md explains the figures.
 *
 * Needs scripts/setup.sh --tests (Docker engine, python:3.11-slim, .cache/venv, the local SQS and S3 servers).
 * Environment: BENCH_SCALE_JOBS (default 6), BENCH_SCALE_WORKERS (default 2).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import type { RecordedRequest } from '../spec/helpers/hub-server.js';
import { disposeWorlds, startWorker, storeTask, submit, type World, world } from '../spec/helpers/hub-world.js';
import { machine, median, positiveInt, round, writeResults } from './common.js';

const COMMAND = 'npx tsx bench/scale.ts';
const SUBMISSION = 'time-shift-correct.zip';
const JOBS = positiveInt(process.env['BENCH_SCALE_JOBS'], 6);
const WORKERS = positiveInt(process.env['BENCH_SCALE_WORKERS'], 2);
/**
 * One container at a time per worker: each worker stands for one machine of its own with one core, so two workers
 * on this 2-core machine do not take each other's cores, and what one group costs is not hidden by CPU contention.
 */
const WORKER_SETTINGS = { PVHUB_MAX_PARALLEL: '1' };
const TIME_LIMIT_MS = 15 * 60_000;

interface JobSpan {
  readonly submissionId: number;
  readonly startedAt: number;
  readonly settledAt: number;
  readonly status: string;
}

/** Each job's span as the Hub saw it: from its `running` to its final status. */
function spansOf(requests: readonly RecordedRequest[]): JobSpan[] {
  const statusChanges = requests.filter(
    (r) => r.method === 'PUT' && r.path.startsWith('submissions/change_submission_status/'),
  );
  const ids = [...new Set(statusChanges.map((r) => Number(r.path.split('/').at(-1))))];
  return ids.flatMap((submissionId) => {
    const own = statusChanges.filter((r) => r.path.endsWith(`/${submissionId}`));
    const started = own.find((r) => (r.body as { status?: string }).status === 'running');
    const settled = own.find((r) => ['finished', 'failed'].includes(String((r.body as { status?: string }).status)));
    return started && settled
      ? [
          {
            submissionId,
            startedAt: started.at,
            settledAt: settled.at,
            status: String((settled.body as { status: string }).status),
          },
        ]
      : [];
  });
}

/** The most spans open at one instant. */
function mostAtOnce(spans: readonly JobSpan[]): number {
  const events = spans.flatMap((span) => [
    { at: span.startedAt, step: 1 },
    { at: span.settledAt, step: -1 },
  ]);
  // An end before a start at the same millisecond: a job handed over is not two in flight.
  events.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let most = 0;
  for (const event of events) {
    open += event.step;
    most = Math.max(most, open);
  }
  return most;
}

/**
 * Workers as the ECS service runs them: each slot runs `worker --max-jobs 1` and starts a fresh one when it exits,
 * until `done` says every job settled; the idle ones left polling are then stopped (SIGTERM).
 */
async function runWorkers(w: World, slots: number, done: () => boolean): Promise<void> {
  const live = new Set<ChildProcess>();
  let stopping = false;
  const slot = async () => {
    while (!stopping && !done()) {
      const child = startWorker(w, ['--max-jobs', '1'], WORKER_SETTINGS);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout?.resume();
      live.add(child);
      const [status] = (await once(child, 'close')) as [number | null];
      live.delete(child);
      if (!stopping && status !== 0) throw new Error(`a worker exited ${status}: ${stderr.slice(-2000)}`);
    }
  };
  const deadline = Date.now() + TIME_LIMIT_MS;
  const watch = (async () => {
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`the jobs did not settle within ${TIME_LIMIT_MS / 60_000} minutes`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    stopping = true;
    for (const child of live) child.kill('SIGTERM');
  })();
  try {
    await Promise.all([watch, ...Array.from({ length: slots }, slot)]);
  } finally {
    stopping = true;
    for (const child of live) child.kill('SIGKILL');
  }
}

type Grouping = 'oneGroup' | 'groupPerSubmission';

/** `jobs` queued jobs run by `workers` workers to their end, in one message group or one group each. */
async function measure(grouping: Grouping, firstId: number, jobs: number, workers: number) {
  const w = await world();
  try {
    await storeTask(w);
    const ids = Array.from({ length: jobs }, (_, i) => firstId + i);
    for (const id of ids) await submit(w, SUBMISSION, id, grouping === 'oneGroup' ? '1' : String(id));
    const started = Date.now();
    await runWorkers(w, workers, () => spansOf(w.hub.requests).length === jobs);
    const spans = spansOf(w.hub.requests);
    const unfinished = spans.filter((span) => span.status !== 'finished');
    if (unfinished.length > 0)
      throw new Error(`jobs that did not finish: ${unfinished.map((span) => span.submissionId).join(', ')}`);
    return { spans, wallSeconds: (Math.max(...spans.map((span) => span.settledAt)) - started) / 1000 };
  } finally {
    await disposeWorlds();
  }
}

async function figures(grouping: Grouping, firstId: number) {
  const { spans, wallSeconds } = await measure(grouping, firstId, JOBS, WORKERS);
  return {
    messageGroups: grouping === 'oneGroup' ? 1 : JOBS,
    jobs: JOBS,
    wallSeconds: round(wallSeconds, 2),
    jobsPerMinute: round((JOBS / wallSeconds) * 60, 2),
    maxJobsInFlight: mostAtOnce(spans),
    jobSeconds: spans.map((span) => round((span.settledAt - span.startedAt) / 1000, 2)),
    medianJobSeconds: round(median(spans.map((span) => (span.settledAt - span.startedAt) / 1000)), 2),
  };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0] ?? NaN;
  const begun = Date.now();
  console.error('[bench:scale] warm-up: one job, so the submission and report images are cached for both runs');
  await measure('oneGroup', 400, 1, 1);
  console.error(`[bench:scale] ${JOBS} jobs, ${WORKERS} workers, every message in group "1"`);
  const oneGroup = await figures('oneGroup', 410);
  console.error(`[bench:scale] ${JOBS} jobs, ${WORKERS} workers, one group per submission`);
  const groupPerSubmission = await figures('groupPerSubmission', 420);
  const scale = {
    measuredAt: new Date().toISOString(),
    machine: await machine(),
    command: COMMAND,
    loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0] ?? NaN, 2) },
    durationSeconds: Math.round((Date.now() - begun) / 1000),
    description:
      `${WORKERS} workers (each \`worker --max-jobs 1\`, restarted after each job as the ECS service restarts its task; PVHUB_MAX_PARALLEL=1, ` +
      `so each stands for a machine of its own) on one FIFO queue of ElasticMQ, ${JOBS} queued jobs of examples/submissions/${SUBMISSION} ` +
      '(13 files, images cached by a warm-up job). oneGroup: every message in MessageGroupId "1", as the Hub\'s API sends them; ' +
      'groupPerSubmission: MessageGroupId = the submission id. MessageDeduplicationId = the submission id in both. Wall time from the ' +
      "workers' start to the last job's final status; jobs in flight from the Hub's view (status running to finished).",
    workers: WORKERS,
    values: { oneGroup, groupPerSubmission },
    ratios: {
      jobsPerMinuteGroupPerSubmissionOverOneGroup: round(groupPerSubmission.jobsPerMinute / oneGroup.jobsPerMinute, 2),
    },
  };
  console.error(`[bench:scale] wrote ${await writeResults({ scale })} in ${scale.durationSeconds} s`);
  console.log(JSON.stringify({ oneGroup, groupPerSubmission, ratios: scale.ratios }, null, 2));
}

await main();
