import { existsSync } from 'node:fs';
import { inMemoryFileList } from '../../src/domain/file-list.js';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { lastValueFrom, toArray } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import { WorkerError } from '../../src/domain/errors.js';
import type { FileScore, FileTask } from '../../src/domain/file-run.js';
import { InfrastructureFault } from '../../src/domain/infrastructure-fault.js';
import type { FileMetadata } from '../../src/domain/metadata.js';
import { addScore, emptyTally, type Tally } from '../../src/domain/tally.js';
import { parseTaskConfig } from '../../src/domain/task-config.js';
import type { BuiltWorkspace } from '../../src/domain/workspace.js';
import type { ContainerEngine, ContainerOutcome, ContainerRunSpec } from '../../src/ports/container-engine.js';
import type { ResultNames, ResultsPublisher } from '../../src/ports/results-publisher.js';
import { DockerImageBuilder } from '../../src/adapters/images/docker-image-builder.js';
import { finishJob, type FinishPorts } from '../../src/operators/finish-job.js';
import { FILE_TRIES } from '../../src/operators/retry-infrastructure-faults.js';
import { JobReport } from '../../src/operators/job-report.js';
import { HOST_PYTHON } from '../helpers/cli.js';
import { MemoryLedger } from '../../src/adapters/memory-ledger.js';
import { RecordingHub } from '../../src/adapters/simulated/hub.js';
import { LedgerSession } from '../../src/sinks/ledger-session.js';
import { withoutEgress, withoutImageCache, withoutSharedHolders } from '../helpers/without-egress.js';

const RAW_CONFIG = {
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  performance_metrics: ['runtime', 'mean_absolute_error'],
  metrics_operations: { mean_absolute_error_time_series: ['mean', 'median'], runtime: ['mean'] },
  allowable_kwargs: ['latitude'],
  references_compare: ['time_series'],
  public_results_table: 'ts-public-metrics.json',
  private_results_columns: ['file_name', 'runtime', 'mean_absolute_error_time_series', 'issue'],
};
const CONFIG = parseTaskConfig(RAW_CONFIG);

const FILES: FileMetadata[] = [
  { file_id: 1, system_id: 1, file_name: 'a.csv', include_on_leaderboard: true, issue: 'none' },
  { file_id: 2, system_id: 1, file_name: 'b.csv', include_on_leaderboard: false },
  { file_id: 3, system_id: 1, file_name: 'c.csv', include_on_leaderboard: true },
];

const task = (meta: FileMetadata): FileTask => ({ index: 0, metadata: meta, kwargs: [] });

function scored(meta: FileMetadata, runtime: number, mae: number): FileScore {
  return {
    kind: 'scored',
    run: {
      kind: 'ran',
      task: task(meta),
      executionTime: runtime,
      outputPath: '/x',
      functionParameters: ['time_series', 'latitude'],
      wallTimeMs: 1,
    },
    row: {
      file_name: meta.file_name,
      data_requirements: ['time_series', 'latitude'],
      values: { runtime, mean_absolute_error_time_series: mae },
    },
  };
}

const [A, B, C] = FILES as [FileMetadata, FileMetadata, FileMetadata];
const failedC: FileScore = {
  kind: 'failed',
  task: task(C),
  failure: { code: 'op_8', message: 'the output has 2 values, the reference 3' },
  wallTimeMs: 1,
};

const tallyOf = (...scores: FileScore[]): Tally => scores.reduce(addScore, emptyTally(scores.length));

let scratch = '';

test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-finish-'));
});

test.after.each(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function workspace(templatePath?: string): BuiltWorkspace {
  return {
    job: { analysisId: 4, submissionId: 9, userId: 'u', submissionFilename: 's.zip', pythonVersion: '3.11' },
    dir: scratch,
    log: pino({ level: 'silent' }),
    config: CONFIG,
    files: inMemoryFileList(FILES.map(task)),
    systems: new Map(),
    templatePath,
    submissionDir: path.join(scratch, 'submission'),
    image: 'img',
  };
}

/** What marimo says when it does not run the template at all (a marimo without --no-sandbox), as the container returns it. */
const MARIMO_FAILURE: ContainerOutcome = {
  exitCode: 2,
  timedOut: false,
  oomKilled: false,
  output: 'Usage: python -m marimo export html [OPTIONS] NAME [ARGS]...\nError: No such option: --no-sandbox\n',
  outputTruncated: false,
  durationMs: 900,
};

/** What marimo does when some cells of a template raise: it writes the whole report, shows their errors, exits 1. */
const CELLS_FAILED: Run = async (spec) => {
  // What the engine collects from the report's results volume.
  const reportDir = spec.results?.hostDir ?? '';
  await writeFile(path.join(reportDir, 'report.html'), '<html>marimo: ValueError in a cell</html>');
  return {
    ...MARIMO_FAILURE,
    exitCode: 1,
    output:
      'MarimoExceptionRaisedError: the template is broken\nError: Export was successful, but some cells failed to execute.\n',
  };
};

type Run = (spec: ContainerRunSpec, signal: AbortSignal) => Promise<ContainerOutcome>;

/**
 * An engine with every image, whose report container waits for its rows, as the real one does, and then runs as
 * `run`; it keeps the run specs it was given and the rows each was given.
 */
function fakeEngine(run: Run = async () => MARIMO_FAILURE) {
  const runs: ContainerRunSpec[] = [];
  const rows: string[][] = [];
  const engine: ContainerEngine = {
    imageExists: async () => true,
    buildImage: async () => assert.unreachable('every image exists') as never,
    pullImage: async () => assert.unreachable('every image exists') as never,
    runContainer: async (spec, signal) => {
      runs.push(spec);
      rows.push(await rowsOf(spec, signal));
      return run(spec, signal);
    },
    removeContainers: async () => 0,
    ...withoutEgress,
    ...withoutSharedHolders,
    ...withoutImageCache,
  };
  return { engine, runs, rows };
}

const JOB_LABELS = { 'pvhub.managed': 'true', 'pvhub.submission': '9' };
const LIMITS = loadConfig({}).limits;

/** The report image as the worker makes it, over the given engine. */
const imagesOn = (engine: ContainerEngine) =>
  new DockerImageBuilder({ engine, limits: LIMITS, hostPython: HOST_PYTHON, baseImageRepository: 'python' });

/** The ports of a finish, and the engine its report renders on. */
interface FinishDeps extends FinishPorts {
  readonly engine: ContainerEngine;
}

/** The job's report as the job makes it, started only by the finish (no files ran before). */
const reportOn = (engine: ContainerEngine) =>
  new JobReport({
    engine,
    images: imagesOn(engine),
    limits: LIMITS,
    labels: JOB_LABELS,
    freeMemory: () => 0,
    jobTimeLimitMs: 60_000,
  });

const finishWith = (ws: BuiltWorkspace, tally: Tally, { engine, ...ports }: FinishDeps) =>
  finishJob(ws, tally, ports, reportOn(engine));

/** The rows a report container was given: they arrive after it started, in the folder mounted at /input. */
async function rowsOf(spec: ContainerRunSpec, signal: AbortSignal): Promise<string[]> {
  const input = spec.mounts.find((mount) => mount.containerPath === '/input')?.hostPath ?? '';
  for (;;) {
    signal.throwIfAborted();
    const text = await readFile(path.join(input, 'args.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) return JSON.parse(text) as string[];
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The private report the finish published. */
const publishedReport = () => readFile(path.join(scratch, 'report', 'private_results.html'), 'utf8');

/** Records every call in order; `failing` names the call that rejects; the report container runs as `run`. */
function recorder(failing?: 'publish' | 'result' | 'publish report' | 'status finished', run?: Run) {
  const hub = new RecordingHub();
  const { calls, fileErrors } = hub;
  if (failing === 'result' || failing === 'status finished') hub.failing.set(failing, new Error(`${failing} refused`));
  let published: string[] = [];
  let names: ResultNames | undefined;
  const fail = (call: string) => {
    if (call === failing) throw new Error(`${call} refused`);
  };
  const publisher: ResultsPublisher = {
    async publishResults(_job, resultsDir, resultNames) {
      calls.push('publish');
      fail('publish');
      published = (await readdir(resultsDir)).sort();
      names = resultNames;
    },
    async publishReport(_job, reportPath) {
      calls.push('publish report');
      fail('publish report');
      assert.is(reportPath, path.join(scratch, 'report', 'private_results.html'));
    },
    async publishLogs() {},
  };
  const { engine, runs, rows } = fakeEngine(run);
  const deps: FinishDeps = {
    hub,
    publisher,
    engine,
    ledger: LedgerSession.fresh(new MemoryLedger(), workspace().job),
  };
  return {
    calls,
    deps,
    fileErrors,
    runs,
    rows,
    published: () => published,
    names: () => names,
    stored: () => hub.results.at(-1),
  };
}

test('writes the results folder, then publishes, stores the result and only then sets finished', async () => {
  const record = recorder();
  const ws = workspace();
  const events = await lastValueFrom(
    finishWith(ws, tallyOf(scored(A, 1, 10), failedC, scored(B, 3, 30)), record.deps).pipe(toArray()),
  );
  assert.is(events.length, 1);
  const event = events[0];
  if (event?.type !== 'finished') return assert.unreachable(`not finished: ${JSON.stringify(event)}`);
  assert.equal(record.calls, ['publish', 'result', 'publish report', 'status finished']);
  assert.equal(record.published(), [
    'execution_time.csv',
    'files',
    'report.html',
    'submission_full_results.csv',
    'submission_function_info.json',
    'ts-private-metrics.json',
    'ts-public-metrics.json',
  ]);
  assert.equal(record.names(), {
    publicResultsTable: 'ts-public-metrics.json',
    privateResultsTable: 'ts-private-metrics.json',
  });
  assert.equal(record.stored(), event.publicResults);
  assert.is(event.publicResults.number_of_files, 1);
  assert.is(event.privateResults.number_of_files, 2);
  assert.equal(event.publicResults.metrics, {
    mean_runtime: 1,
    mean_mean_absolute_error_time_series: 10,
    median_mean_absolute_error_time_series: 10,
  });
  const results = path.join(scratch, 'results');
  assert.equal(JSON.parse(await readFile(path.join(results, 'ts-public-metrics.json'), 'utf8')), event.publicResults);
  assert.equal(JSON.parse(await readFile(path.join(results, 'ts-private-metrics.json'), 'utf8')), event.privateResults);
  assert.is(
    await readFile(path.join(results, 'submission_full_results.csv'), 'utf8'),
    ',file_name,runtime,mean_absolute_error_time_series,issue\n0,a.csv,1.0,10.0,none\n1,b.csv,3.0,30.0,\n',
  );
  assert.is(
    await readFile(path.join(results, 'execution_time.csv'), 'utf8'),
    'file_name,execution_time\na.csv,1.0\nb.csv,3.0\n',
  );
  assert.equal(JSON.parse(await readFile(path.join(results, 'submission_function_info.json'), 'utf8')), {
    data_file_name: 'a.csv',
    function_name: 'detect_time_shifts',
    function_parameters: ['time_series', 'latitude'],
  });
  assert.match(event.reportWarning ?? '', 'the task has no template.py');
  assert.is(event.reportFromTemplate, false);
  assert.equal(record.fileErrors, [], 'a task without a template is no error');
  assert.equal(record.runs, [], 'and runs no report container');
  const report = await publishedReport();
  assert.match(report, '<svg');
  assert.match(report, 'op_8: the output has 2 values, the reference 3');
});

async function failure(tally: Tally, record: ReturnType<typeof recorder>): Promise<WorkerError> {
  try {
    await lastValueFrom(finishWith(workspace(), tally, record.deps));
  } catch (error) {
    assert.instance(error, WorkerError);
    return error as WorkerError;
  }
  return assert.unreachable('finished') as never;
}

test('nothing scored is a breaking op_7 naming a failure; nothing is published and no status is set', async () => {
  const record = recorder();
  const error = await failure(tallyOf(failedC), record);
  assert.is(error.code, 'op_7');
  assert.is(
    error.message,
    'every file failed (1 of 1), nothing could be scored; c.csv: op_8: the output has 2 values, the reference 3',
  );
  assert.equal(record.calls, []);
  assert.not.ok(existsSync(path.join(scratch, 'results', 'ts-public-metrics.json')));
});

test('each failing step has its code and stops the steps after it', async () => {
  const tally = tallyOf(scored(A, 1, 10));
  const cases = [
    ['publish', 'wr_1', ['publish']],
    ['result', 'wr_4', ['publish', 'result']],
    ['publish report', 'wr_1', ['publish', 'result', 'publish report']],
    ['status finished', 'wr_5', ['publish', 'result', 'publish report', 'status finished']],
  ] as const;
  for (const [step, code, calls] of cases) {
    const record = recorder(step);
    const error = await failure(tally, record);
    assert.is(error.code, code, step);
    assert.match(error.message, `${step} refused`);
    assert.equal(record.calls, [...calls]);
  }
});

async function withTemplate(): Promise<BuiltWorkspace> {
  const template = path.join(scratch, 'task', 'template.py');
  await mkdir(path.dirname(template), { recursive: true });
  await writeFile(template, 'import marimo\n');
  return workspace(template);
}

test("a template that fails is the task's fault: logged, never sent to the Hub; the built-in report is used", async () => {
  const record = recorder();
  const event = await lastValueFrom(finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), record.deps));
  if (event.type !== 'finished') return assert.unreachable(`not finished: ${JSON.stringify(event)}`);
  const note =
    "the task's report template failed (marimo exited with status 2: Usage: python -m marimo export html [OPTIONS] NAME [ARGS]... | " +
    'Error: No such option: --no-sandbox); the built-in report was written';
  assert.is(event.reportWarning, note);
  assert.is(event.reportFromTemplate, false);
  assert.equal(record.fileErrors, [], "no non-breaking error: it would count in the participant's error rate");
  assert.equal(record.calls, ['publish', 'result', 'publish report', 'status finished']);
  assert.match(await publishedReport(), 'the built-in report was written');
  const [run] = record.runs;
  assert.is(record.runs.length, 1);
  assert.match(run?.image ?? '', /^pvhub-report:[0-9a-f]{32}$/);
  assert.equal(run?.labels, { ...JOB_LABELS, 'pvhub.report': 'marimo' }, 'the job labels: a cancelled job removes it');
  assert.equal(
    run?.mounts.map((mount) => [mount.containerPath, mount.readOnly]),
    [
      ['/template', true],
      ['/input', true],
    ],
    'the template, and the rows once they exist, read-only',
  );
  assert.equal(
    [run?.results?.containerPath, run?.results?.collect],
    ['/report', ['report.html']],
    'the report comes out of a results volume',
  );
  assert.equal(run?.command.slice(0, 2), ['python', '-c']);
  assert.match(run?.command[2] ?? '', '"export",\n        "html",\n        "/template/template.py"');
  assert.ok(
    record.rows[0]?.includes(
      '--results_df={"file_name": "a.csv", "runtime": 1.0, "mean_absolute_error_time_series": 10.0, "issue": "none", "run_time": 1.0}',
    ),
  );
});

test("a report container removed from outside runs again; a fault that stays fails the job as ours, never told as the template's", async () => {
  const vanished = () =>
    new InfrastructureFault('container-vanished', 'the container was removed from outside while it ran');
  const once = recorder();
  const flaky = fakeEngine(async () => (flaky.runs.length === 1 ? Promise.reject(vanished()) : MARIMO_FAILURE));
  const event = await lastValueFrom(
    finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), {
      ...once.deps,
      engine: flaky.engine,
    }),
  );
  assert.is(event.type, 'finished');
  assert.is(flaky.runs.length, 2, 'tried again in a fresh container');
  assert.equal(once.fileErrors, [], "the template's own failure is logged, never told");
  assert.match(event.type === 'finished' ? (event.reportWarning ?? '') : '', "the task's report template failed");
  assert.not.match(event.type === 'finished' ? (event.reportWarning ?? '') : '', 'removed from outside');

  const always = recorder();
  const gone = fakeEngine(async () => Promise.reject(vanished()));
  const error = await lastValueFrom(
    finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), {
      ...always.deps,
      engine: gone.engine,
    }),
  ).then(
    () => assert.unreachable('finished'),
    (rejection: unknown) => rejection,
  );
  assert.instance(error, InfrastructureFault);
  assert.is(gone.runs.length, FILE_TRIES);
  assert.equal(always.fileErrors, [], 'no op_500 of the template');
  // The results and their PUT went ahead while the report rendered (both are sent again by the next attempt).
  assert.not.ok(always.calls.includes('status finished'), 'never finished');
});

test('a report marimo exported with some cells failed is kept, as the Hub shows it; the Hub is told nothing', async () => {
  const record = recorder(undefined, CELLS_FAILED);
  const event = await lastValueFrom(finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), record.deps));
  if (event.type !== 'finished') return assert.unreachable(`not finished: ${JSON.stringify(event)}`);
  assert.is(event.reportFromTemplate, true);
  assert.match(event.reportWarning ?? '', "some cells of the task's report template failed");
  assert.is(await publishedReport(), '<html>marimo: ValueError in a cell</html>');
  assert.equal(record.fileErrors, []);
  assert.equal(record.calls, ['publish', 'result', 'publish report', 'status finished']);
});

test("a task listing the runtime as run_time (the Hub's az-tilt) gets it in its full results, and its template under both names", async () => {
  const record = recorder();
  const ws = await withTemplate();
  const config = parseTaskConfig({
    ...RAW_CONFIG,
    private_results_columns: ['file_name', 'run_time', 'mean_absolute_error_time_series'],
  });
  await lastValueFrom(finishWith({ ...ws, config }, tallyOf(scored(A, 1.5, 10)), record.deps));
  assert.is(
    await readFile(path.join(scratch, 'results', 'submission_full_results.csv'), 'utf8'),
    ',file_name,run_time,mean_absolute_error_time_series\n0,a.csv,1.5,10.0\n',
  );
  assert.equal(record.rows[0], [
    '--results_df={"file_name": "a.csv", "run_time": 1.5, "mean_absolute_error_time_series": 10.0, "runtime": 1.5}',
  ]);
});

test('the result PUT does not wait for the report; its upload and the status finished do', async () => {
  let render = () => undefined as void;
  const rendered = new Promise<void>((resolve) => (render = resolve));
  let reportDone = false;
  const record = recorder(undefined, async (spec) => {
    await rendered;
    await writeFile(path.join(spec.results?.hostDir ?? '', 'report.html'), '<html>the template</html>');
    reportDone = true;
    return { ...MARIMO_FAILURE, exitCode: 0, output: '' };
  });
  const resultStored = new Promise<void>((resolve) => {
    const hub = record.deps.hub;
    const updateResult = hub.updateResult.bind(hub);
    hub.updateResult = async (id, results) => {
      await updateResult(id, results);
      resolve();
    };
  });
  const finished = lastValueFrom(finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), record.deps));
  await resultStored;
  assert.not.ok(reportDone, 'the report is still rendering');
  assert.equal(record.calls, ['publish', 'result']);
  render();
  const event = await finished;
  assert.is(event.type, 'finished');
  assert.equal(record.calls, ['publish', 'result', 'publish report', 'status finished']);
  assert.is(await publishedReport(), '<html>the template</html>', "the template's report is the one published");
  assert.is(record.rows[0]?.length, 1);
});

test('unsubscribing during the report stops its container; neither the report nor a status follows', async () => {
  const record = recorder();
  let started = () => undefined as void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let aborted = false;
  const { engine } = fakeEngine(
    (_spec, signal) =>
      new Promise((_resolve, reject) => {
        started();
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        });
      }),
  );
  const subscription = finishWith(await withTemplate(), tallyOf(scored(A, 1, 10)), {
    ...record.deps,
    engine,
  }).subscribe({ error: () => undefined });
  await running;
  subscription.unsubscribe();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(aborted, 'the run was aborted');
  assert.equal(record.calls, ['publish', 'result'], 'no report upload, no status');
});

test('unsubscribing while the results upload: neither the result nor a status follows it', async () => {
  const record = recorder();
  let uploading = () => undefined as void;
  const started = new Promise<void>((resolve) => (uploading = resolve));
  let finishUpload = () => undefined as void;
  const publisher: ResultsPublisher = {
    publishResults: () => {
      record.calls.push('publish');
      uploading();
      return new Promise<void>((resolve) => (finishUpload = resolve));
    },
    publishReport: async () => assert.unreachable('the report is not published after a cancel'),
    publishLogs: async () => undefined,
  };
  const subscription = finishWith(workspace(), tallyOf(scored(A, 1, 10)), { ...record.deps, publisher }).subscribe({
    error: () => undefined,
  });
  await started;
  subscription.unsubscribe();
  finishUpload();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(record.calls, ['publish'], 'no result, no status finished after the cancel');
});

test.run();
