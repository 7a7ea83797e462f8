import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { InjectedFault } from '../../spec/helpers/flaky-proxy.js';
import type { World } from '../../spec/helpers/hub-world.js';
import { machine, median, round } from '../common.js';
import { doubleCounts, ranAfterFinal, type SubmissionView, submissionView, tally, unlikeClean } from './figures.js';
import { type Labelled, workFolderLeftovers } from './leftovers.js';
import type { PhaseOutcome } from './phase.js';
import {
  API_TIMEOUT_SECONDS,
  FAULTS,
  INTERRUPTIONS,
  isCorrect,
  LEASE_SECONDS,
  type SoakSettings,
  STALL_MS,
  WORKER_SETTINGS,
} from './plan.js';

/** The `soak` entry of bench/results.json, and the table printed at the end. */

export interface SoakInputs {
  readonly w: World;
  readonly config: SoakSettings;
  readonly jobs: ReadonlyArray<{ readonly zip: string; readonly submissionId: number }>;
  readonly fileCount: number;
  readonly references: ReadonlyMap<string, SubmissionView>;
  readonly clean: PhaseOutcome;
  readonly faulted: PhaseOutcome;
  /** Submission ids of the messages found on the queue after the workers stopped. */
  readonly leftOnQueue: readonly number[];
  readonly containers: readonly Labelled[];
  readonly networks: readonly Labelled[];
  readonly injected: Readonly<Record<string, readonly InjectedFault[]>>;
  readonly loadAtStart: number;
  readonly begun: number;
  /** The workers' logs: named relative to it, since the folder is temporary. */
  readonly logDir: string;
}

const COMMAND = 'npm run soak';

/** Why a worker exited: the command's own last line when it is not a log record (the CLI's error), else the last error logged. */
async function lastError(log: string): Promise<string | undefined> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1);
  if (last !== undefined && !last.startsWith('{')) return last.slice(0, 300);
  const record = lines.filter((line) => /"level":(50|60)/.test(line)).at(-1);
  if (record === undefined) return undefined;
  try {
    const { msg, code } = JSON.parse(record) as { msg?: unknown; code?: unknown };
    return `${typeof code === 'string' ? `${code}: ` : ''}${String(msg)}`.slice(0, 300);
  } catch {
    return record.slice(0, 300);
  }
}

function flagged(views: readonly SubmissionView[], reasonsOf: (view: SubmissionView) => string[]) {
  return views.flatMap((view) => {
    const reasons = reasonsOf(view);
    return reasons.length > 0
      ? [{ submission: view.submissionId, zip: view.zip, statuses: view.statuses, reasons }]
      : [];
  });
}

export async function soakFigures(input: SoakInputs) {
  const { w, fileCount, references, faulted } = input;
  const views = input.jobs.map((job) => submissionView(w.hub, job.submissionId, job.zip));
  const onQueue = new Set(input.leftOnQueue);
  const unsettled = views.filter((view) => view.final === undefined);
  const soakIds = new Set(input.jobs.map((job) => job.submissionId));
  const workFolder = await workFolderLeftovers(w.work, soakIds);
  const reference = (view: SubmissionView) => references.get(view.zip);
  const correct = views.filter((view) => isCorrect(view.zip));
  const correctLikeClean = correct.filter((view) => {
    const clean = reference(view);
    return clean !== undefined && clean.final === 'finished' && unlikeClean(view, clean).length === 0;
  });
  const exits = faulted.fleet.exits;
  const unexpectedExits = exits.filter((exit) => exit.signalled === undefined && exit.code !== 0);
  const sigterms = faulted.interruptions.filter(
    (entry) => entry.signal === 'SIGTERM' && entry.exitSeconds !== undefined,
  );
  return {
    measuredAt: new Date().toISOString(),
    machine: await machine(),
    command: COMMAND,
    loadAverage1m: { atStart: round(input.loadAtStart, 2), atEnd: round(os.loadavg()[0] ?? NaN, 2) },
    durationSeconds: Math.round((Date.now() - input.begun) / 1000),
    description:
      `${input.jobs.length} jobs of the example submissions (time-shift task, ${fileCount} files) by ${input.config.workers} workers on one engine ` +
      '(each `worker --max-jobs 1`, a fresh process per job), through ElasticMQ, the S3 server and the test Hub API, each behind a proxy ' +
      `injecting ${FAULTS.join(', ')} (stall ${STALL_MS / 1000} s, past the clients' ${API_TIMEOUT_SECONDS} s timeout), with ` +
      `${INTERRUPTIONS.filter((i) => i.signal === 'SIGKILL').length} kill -9 and ${INTERRUPTIONS.filter((i) => i.signal === 'SIGTERM').length} SIGTERM mid-job. ` +
      "Every figure is read from what the Hub's server applied, the queue, the engine and the work folder; each distinct submission was run once cleanly first, without faults.",
    settings: {
      jobs: input.jobs.length,
      workers: input.config.workers,
      seed: input.config.seed,
      faultRates: input.config.faultRates,
      faults: FAULTS,
      stallSeconds: STALL_MS / 1000,
      hubClientTimeoutSeconds: API_TIMEOUT_SECONDS,
      visibilityLeaseSeconds: LEASE_SECONDS,
      workerEnvironment: WORKER_SETTINGS,
      mix: tally(input.jobs, (job) => job.zip),
    },
    converged: faulted.converged,
    faultedRunSeconds: round(faulted.seconds, 1),
    cleanRunSeconds: round(input.clean.seconds, 1),
    finished: views.filter((view) => view.final === 'finished').length,
    failed: views.filter((view) => view.final === 'failed').length,
    lost: unsettled.filter((view) => !onQueue.has(view.submissionId)).length,
    stuck: unsettled.filter((view) => onQueue.has(view.submissionId)).length,
    orphaned: { containers: input.containers.length, networks: input.networks.length },
    workspaces_left: workFolder.workspaces.length,
    double_counted: flagged(views, (view) => doubleCounts(view, fileCount)).length,
    correct_scored_like_clean: { correct: correct.length, likeClean: correctLikeClean.length },
    details: {
      lost: unsettled
        .filter((view) => !onQueue.has(view.submissionId))
        .map((view) => ({ submission: view.submissionId, zip: view.zip, statuses: view.statuses })),
      stuck: unsettled.filter((view) => onQueue.has(view.submissionId)).map((view) => view.submissionId),
      orphanedContainers: input.containers.map((c) => ({ submission: c.submissionId, state: c.state })),
      workspacesLeft: workFolder.workspaces,
      jobLogsLeft: workFolder.jobLogs,
      workFolderLeft: workFolder.entries,
      doubleCounted: flagged(views, (view) => doubleCounts(view, fileCount)),
      unlikeClean: flagged(views, (view) => {
        const clean = reference(view);
        return clean === undefined ? ['no clean run of this zip'] : unlikeClean(view, clean);
      }),
      ranAgainAfterFinal: views
        .filter(ranAfterFinal)
        .map((view) => ({ submission: view.submissionId, statuses: view.statuses })),
      finishedWithProgressShort: views
        .filter((view) => view.final === 'finished' && view.progress < fileCount)
        .map((view) => ({ submission: view.submissionId, progress: view.progress })),
      cleanRuns: [...references.values()].map((view) => ({
        zip: view.zip,
        final: view.final,
        progress: view.progress,
        fileErrors: view.fileErrors.length,
        blankReports: view.blankReports,
        breakingReports: view.breakingReports,
      })),
      interruptions: faulted.interruptions,
      sigtermExitSeconds: {
        values: sigterms.map((entry) => round(entry.exitSeconds ?? NaN, 2)),
        median: sigterms.length > 0 ? round(median(sigterms.map((entry) => entry.exitSeconds ?? NaN)), 2) : null,
      },
      workers: {
        started: exits.length,
        exitCodes: tally(exits, (exit) => String(exit.code ?? exit.signal)),
        unexpectedExits: await Promise.all(
          unexpectedExits.map(async (exit) => ({
            submission: exit.submissionId,
            code: exit.code,
            seconds: round(exit.seconds, 1),
            lastError: await lastError(exit.log),
            log: path.relative(input.logDir, exit.log),
          })),
        ),
      },
      faultsInjected: Object.fromEntries(
        Object.entries(input.injected).map(([target, faults]) => [target, tally(faults, (fault) => fault.fault)]),
      ),
    },
  };
}

export type SoakFigures = Awaited<ReturnType<typeof soakFigures>>;

/** The figures as a table: the must-be-0 ones marked, then the run's other counts. */
export function printSummary(figures: SoakFigures): void {
  const rows: Array<[string, string, string]> = [
    ['finished', String(figures.finished), ''],
    ['failed', String(figures.failed), ''],
    ['lost', String(figures.lost), 'must be 0'],
    ['stuck', String(figures.stuck), 'must be 0'],
    ['orphaned containers', String(figures.orphaned.containers), 'must be 0'],
    ['orphaned networks', String(figures.orphaned.networks), 'must be 0'],
    ['workspaces_left', String(figures.workspaces_left), 'must be 0'],
    ['double_counted', String(figures.double_counted), 'must be 0'],
    [
      'correct scored like clean',
      `${figures.correct_scored_like_clean.likeClean} of ${figures.correct_scored_like_clean.correct}`,
      'must be all',
    ],
    ['unlike the clean run', String(figures.details.unlikeClean.length), ''],
    ['ran again after final', String(figures.details.ranAgainAfterFinal.length), ''],
    ['job logs left', String(figures.details.jobLogsLeft.length), ''],
    ['interruptions sent', `${figures.details.interruptions.length} of ${INTERRUPTIONS.length}`, ''],
    ['workers started', String(figures.details.workers.started), ''],
    ['unexpected worker exits', String(figures.details.workers.unexpectedExits.length), ''],
    [
      'faults injected',
      Object.entries(figures.details.faultsInjected)
        .map(([target, counts]) => `${target} ${Object.values(counts).reduce((a, b) => a + b, 0)}`)
        .join(', '),
      '',
    ],
    [
      'run',
      `${figures.durationSeconds} s (faulted part ${figures.faultedRunSeconds} s${figures.converged ? '' : ', time limit reached'})`,
      '',
    ],
  ];
  const width = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(width[column] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(['figure', 'value', '']));
  console.log(line(width.map((n) => '-'.repeat(n))));
  for (const row of rows) console.log(line(row));
  for (const entry of figures.details.doubleCounted)
    console.log(`double counted ${entry.submission} (${entry.zip}): ${entry.reasons.join('; ')}`);
  for (const entry of figures.details.unlikeClean)
    console.log(`unlike clean ${entry.submission} (${entry.zip}): ${entry.reasons.join('; ')}`);
}
