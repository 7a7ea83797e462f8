/**
 * The soak: `npm run soak` (or `npx tsx bench/soak.ts`), about 15 to 25 minutes on a 2-core machine. The example
 * submissions run through real ElasticMQ, the S3 server and the test Hub API, each behind a proxy that injects faults,
 * by 2 workers on one engine deployed as the Hub deploys them (a fresh `worker --max-jobs 1` per job), with kill -9s
 * and SIGTERMs mid-job. Each distinct submission runs once cleanly first; the faulted run is compared with that.
 * Writes `soak` into bench/results.json, keeping its other keys; bench/README.md says what each figure means.
 *
 * Needs scripts/setup.sh --tests. Settings: SOAK_JOBS (52), SOAK_WORKERS (2), SOAK_SEED, SOAK_TIME_LIMIT_MINUTES
 * (40), SOAK_{HUB,S3,SQS}_FAULT_RATE (0.2, 0.1, 0.08).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFlakyProxy } from '../spec/helpers/flaky-proxy.js';
import { seededRandom } from '../spec/helpers/seeded-random.js';
import { disposeWorlds, storeTask, submit, TASK, type World, world } from '../spec/helpers/hub-world.js';
import { writeResults } from './common.js';
import { type SubmissionView, submissionView } from './soak/figures.js';
import { containersOf, idRange, networksOf, removeLeftovers } from './soak/leftovers.js';
import { drainQueue, type PhaseOutcome, runPhase } from './soak/phase.js';
import {
  API_TIMEOUT_SECONDS,
  CLEAN_FIRST_ID,
  FAULTS,
  ID_RANGE,
  INTERRUPTIONS,
  jobList,
  LEASE_SECONDS,
  MIX,
  settings,
  SOAK_FIRST_ID,
  STALL_MS,
  WORKER_SETTINGS,
} from './soak/plan.js';
import { printSummary, soakFigures } from './soak/report.js';

const say = (line: string) => console.error(`[soak] ${line}`);

/** Files of the task: the most progress calls one run of a submission makes. */
async function taskFileCount(): Promise<number> {
  return (await readFile(path.join(TASK, 'file_test_link.csv'), 'utf8')).trim().split('\n').length - 1;
}

const settledAmong = (w: World, ids: readonly number[]) => () =>
  ids.filter((id) => ['finished', 'failed'].includes(w.hub.statuses.get(id)?.at(-1) ?? '')).length;

const filesToldSince = (w: World) => (submissionId: number, since: number) =>
  w.hub.requests.filter(
    (r) =>
      r.at >= since &&
      r.status === 200 &&
      r.method === 'POST' &&
      r.path === `submissions/submission/${submissionId}/progress_increment`,
  ).length;

async function main(): Promise<void> {
  const config = settings();
  const loadAtStart = os.loadavg()[0] ?? NaN;
  const begun = Date.now();
  const range = idRange(ID_RANGE.from, ID_RANGE.to);
  // An earlier soak stopped half-way may have left containers in this range: they are the soak's own.
  await removeLeftovers(await containersOf(range), await networksOf(range));
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-soak-'));
  say(`worker logs in ${logDir}`);
  const w = await world();
  try {
    await storeTask(w);
    const fileCount = await taskFileCount();

    const zips = MIX.map((entry) => entry.zip);
    const cleanIds = zips.map((_, i) => CLEAN_FIRST_ID + i);
    for (const [i, zip] of zips.entries()) await submit(w, zip, CLEAN_FIRST_ID + i, String(CLEAN_FIRST_ID + i));
    say(`clean run: ${zips.length} submissions, ${config.workers} workers, no faults`);
    const clean = await runPhase(w, {
      workers: config.workers,
      env: { ...WORKER_SETTINGS },
      logDir: await mkdtemp(path.join(logDir, 'clean-')),
      timeLimitMs: config.cleanTimeLimitMs,
      submissions: new Set(cleanIds),
      interruptions: [],
      fileCount,
      filesToldSince: filesToldSince(w),
      settled: settledAmong(w, cleanIds),
      onProgress: say,
    });
    const references = new Map<string, SubmissionView>(
      zips.map((zip, i) => [zip, submissionView(w.hub, CLEAN_FIRST_ID + i, zip)]),
    );
    if (!clean.converged) say('the clean run did not end within its time limit: the comparison with it is incomplete');

    const random = seededRandom(config.seed);
    const jobs = jobList(config.jobs, random).map((zip, i) => ({ zip, submissionId: SOAK_FIRST_ID + i }));
    const soakIds = jobs.map((job) => job.submissionId);
    for (const job of jobs) await submit(w, job.zip, job.submissionId, String(job.submissionId));
    const proxies = {
      hub: await startFlakyProxy(w.hub.url, { stallMs: STALL_MS }),
      s3: await startFlakyProxy(w.services.s3Endpoint, { stallMs: STALL_MS }),
      sqs: await startFlakyProxy(w.services.sqsEndpoint, { stallMs: STALL_MS }),
    };
    let faulted: PhaseOutcome;
    try {
      for (const [i, [target, proxy]] of Object.entries(proxies).entries())
        proxy.chaos(config.faultRates[target as keyof typeof proxies], FAULTS, seededRandom(config.seed + i + 1));
      say(
        `faulted run: ${jobs.length} jobs, ${config.workers} workers, faults ${JSON.stringify(config.faultRates)}, ${INTERRUPTIONS.length} interruptions`,
      );
      faulted = await runPhase(w, {
        workers: config.workers,
        env: {
          ...WORKER_SETTINGS,
          PVHUB_API_URL: proxies.hub.url,
          PVHUB_S3_ENDPOINT: proxies.s3.url,
          PVHUB_SQS_ENDPOINT: proxies.sqs.url,
          PVHUB_API_TIMEOUT: String(API_TIMEOUT_SECONDS),
          PVHUB_AWS_TIMEOUT: String(API_TIMEOUT_SECONDS),
        },
        logDir: await mkdtemp(path.join(logDir, 'faulted-')),
        timeLimitMs: config.timeLimitMs,
        submissions: new Set(soakIds),
        interruptions: INTERRUPTIONS,
        fileCount,
        filesToldSince: filesToldSince(w),
        settled: settledAmong(w, soakIds),
        onProgress: say,
      });
    } finally {
      for (const proxy of Object.values(proxies)) proxy.chaos(0, []);
    }
    say(
      faulted.converged
        ? `the queue emptied after ${Math.round(faulted.seconds)} s`
        : `time limit reached after ${Math.round(faulted.seconds)} s`,
    );
    // Messages held by a killed worker come back after the lease; the ones left are the stuck submissions'.
    const leftOnQueue = await drainQueue(w, (LEASE_SECONDS + 15) * 1000);
    const soakSet = new Set(soakIds);
    const containers = await containersOf(soakSet);
    const networks = await networksOf(soakSet);
    const figures = await soakFigures({
      w,
      config,
      jobs,
      fileCount,
      references,
      clean,
      faulted,
      leftOnQueue,
      containers,
      networks,
      injected: Object.fromEntries(Object.entries(proxies).map(([target, proxy]) => [target, proxy.injected])),
      loadAtStart,
      begun,
      logDir,
    });
    // What the Hub applied, in order, and what the proxies injected: the evidence behind every figure.
    const evidence = {
      requests: w.hub.requests.map(({ headers: _headers, ...request }) => request),
      faults: Object.fromEntries(Object.entries(proxies).map(([target, proxy]) => [target, proxy.injected])),
    };
    await writeFile(path.join(logDir, 'hub-requests.json'), JSON.stringify(evidence));
    await removeLeftovers(containers, networks);
    for (const proxy of Object.values(proxies)) await proxy.close();
    say(`wrote ${await writeResults({ soak: figures })}`);
    printSummary(figures);
  } finally {
    await disposeWorlds();
  }
}

await main();
