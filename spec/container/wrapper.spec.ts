import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepareBuildContext } from '../../src/adapters/images/build-context.js';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import type { FileTask } from '../../src/domain/file-run.js';
import type { KwargValue } from '../../src/domain/metadata.js';
import { RUNNER_USER } from '../../src/domain/sandbox.js';
import { wrapperCommand } from '../../src/operators/run-file.js';
import { HOST_PYTHON, ROOT, run } from '../helpers/cli.js';

const WRAPPER = path.join(ROOT, 'container/pvhub_wrapper.py');
const CSV =
  'measured_on,power\n2015-01-01 00:00:00-07:00,0.0\n2015-01-01 00:15:00-07:00,1.5\n2015-01-01 00:30:00-07:00,2.5\n';
const LABELS = { 'pvhub.spec': 'wrapper' };
const GIB = 1024 ** 3;

let scratch = '';
let runs = 0;

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-wrapper-'));
});

test.after(async () => {
  await new DockerEngine().removeImages(LABELS);
  await rm(scratch, { recursive: true, force: true });
});

interface WrapperRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly report: {
    ok: boolean;
    execution_time?: number;
    function_parameters?: string[];
    code?: string;
    message?: string;
  };
  readonly output: string | undefined;
}

/** Runs the wrapper on the host Python against a submission module written from `code`. */
async function wrap(
  code: string,
  kwargs: ReadonlyArray<readonly [string, KwargValue]> = [],
  options: { fn?: string; csv?: string; module?: string } = {},
): Promise<WrapperRun> {
  const dir = path.join(scratch, `run-${runs++}`);
  await mkdir(path.join(dir, 'code'), { recursive: true });
  await mkdir(path.join(dir, 'results'));
  await writeFile(path.join(dir, 'code', `${options.module ?? 'submission_wrapper'}.py`), code);
  await writeFile(path.join(dir, 'data.csv'), options.csv ?? CSV);
  const result = await run(HOST_PYTHON, [
    WRAPPER,
    '--module',
    'submission_wrapper',
    '--function',
    options.fn ?? 'f',
    '--data',
    path.join(dir, 'data.csv'),
    '--out',
    path.join(dir, 'results'),
    '--kwargs',
    JSON.stringify(kwargs),
    '--code-dir',
    path.join(dir, 'code'),
  ]);
  const report = JSON.parse(await readFile(path.join(dir, 'results/status.json'), 'utf8'));
  const output = await readFile(path.join(dir, 'results/output.csv'), 'utf8').catch(() => undefined);
  return { status: result.status, stderr: result.stderr, report, output };
}

const SITE = [
  ['latitude', 39.7],
  ['longitude', -105.2],
  ['data_sampling_frequency', 15],
] as const;

test('kwargs go by name when the parameters are named after them, whatever their order', async () => {
  const result = await wrap(
    'def f(time_series, longitude, data_sampling_frequency, latitude):\n    return (type(time_series).__name__, len(time_series), latitude, longitude, data_sampling_frequency)\n',
    SITE,
  );
  assert.is(result.status, 0, result.stderr);
  assert.is(result.output, ',0,1,2,3,4\n0,Series,3,39.7,-105.2,15.0\n');
  assert.equal(result.report.function_parameters, ['time_series', 'longitude', 'data_sampling_frequency', 'latitude']);
  assert.ok(typeof result.report.execution_time === 'number' && result.report.execution_time >= 0);
});

test('a function taking some of the kwargs by name gets those, not the first ones by position', async () => {
  const result = await wrap('def f(ts, data_sampling_frequency):\n    return (data_sampling_frequency,)\n', SITE);
  assert.is(result.output, ',0\n0,15.0\n');
});

test('other names get the kwargs by position, cut to the parameter count, numbers as floats', async () => {
  const result = await wrap('def f(ts, lat, lon):\n    return (lat, lon, type(lat).__name__)\n', SITE);
  assert.is(result.output, ',0,1,2\n0,39.7,-105.2,float\n');
  const strings = await wrap('def f(ts, a, b):\n    return (repr(a), repr(b))\n', [
    ['a', 'True'],
    ['b', null],
  ]);
  assert.is(strings.output, ",0,1\n0,'True',None\n");
});

test('a null kwarg passed by name leaves the parameter at its default', async () => {
  const result = await wrap(
    'def f(ts, latitude, data_sampling_frequency=5):\n    return (latitude, data_sampling_frequency)\n',
    [
      ['latitude', 1],
      ['data_sampling_frequency', null],
    ],
  );
  assert.is(result.output, ',0,1\n0,1.0,5\n');
});

test('a returned series keeps its index; a scalar becomes one row', async () => {
  const series = await wrap('def f(ts):\n    return ts * 2\n');
  assert.is(
    series.output,
    'measured_on,power\n2015-01-01 00:00:00-07:00,0.0\n2015-01-01 00:15:00-07:00,3.0\n2015-01-01 00:30:00-07:00,5.0\n',
  );
  const scalar = await wrap('def f(ts):\n    return 42\n');
  assert.is(scalar.output, ',0\n0,42\n');
});

test('several value columns become one argument each', async () => {
  const csv = 'measured_on,a,b\n2015-01-01 00:00:00-07:00,1,10\n2015-01-01 00:15:00-07:00,2,20\n';
  const result = await wrap(
    'def f(a, b, latitude=None):\n    return (a.sum(), b.sum(), latitude)\n',
    [['latitude', 3]],
    { csv },
  );
  assert.is(result.output, ',0,1,2\n0,3,30,3.0\n');
});

test('an exception in the function is sb_500 with its type and text', async () => {
  const result = await wrap('def f(ts):\n    raise ValueError("no clear sky days")\n');
  assert.is(result.status, 1);
  assert.equal(result.report, { ok: false, code: 'sb_500', message: 'ValueError: no clear sky days' });
  assert.match(result.stderr, 'Traceback');
  assert.is(result.output, undefined);
});

test('a missing function is op_6; a module that cannot be imported is sb_500 with the import error', async () => {
  const missing = await wrap('def g(ts):\n    return 1\n');
  assert.is(missing.status, 1);
  assert.is(missing.report.code, 'op_6');
  assert.match(missing.report.message ?? '', 'f');
  const absent = await wrap('', [], { module: 'other_name' });
  assert.equal(absent.report, {
    ok: false,
    code: 'sb_500',
    message: "ModuleNotFoundError: No module named 'submission_wrapper'",
  });
  const broken = await wrap('import pvhub_no_such_module\n');
  assert.equal(broken.report, {
    ok: false,
    code: 'sb_500',
    message: "ModuleNotFoundError: No module named 'pvhub_no_such_module'",
  });
});

test('a return value that is no table is sb_500', async () => {
  const result = await wrap('def f(ts):\n    return {"a": 1, "b": 2}\n');
  assert.is(result.report.code, 'sb_500');
  assert.match(result.report.message ?? '', 'cannot be written as a table');
});

test('replacing time.perf_counter from the submission does not change the measured time', async () => {
  const result = await wrap(
    'import time\ntime.perf_counter = lambda: 0.0\ndef f(ts):\n    time.sleep(0.2)\n    return 1\n',
  );
  assert.ok((result.report.execution_time ?? 0) >= 0.19, String(result.report.execution_time));
});

test('the image recipe builds with no network and runs the wrapper hardened, as the worker calls it', async () => {
  const submission = path.join(scratch, 'image/submission');
  await mkdir(path.join(submission, 'helpers'), { recursive: true });
  await writeFile(path.join(submission, 'requirements.txt'), 'pandas\n');
  await writeFile(path.join(submission, 'helpers/__init__.py'), 'def scale(ts, k):\n    return ts * k\n');
  await writeFile(
    path.join(submission, 'submission_wrapper.py'),
    'from helpers import scale\nprint("hello from the submission")\ndef detect(time_series, latitude, data_sampling_frequency=2):\n    return scale(time_series, data_sampling_frequency)\n',
  );
  const engine = new DockerEngine();
  const { contextDir, tag } = await prepareBuildContext({
    submissionDir: submission,
    pythonVersion: '3.11',
    baseImage: 'python:3.11-slim',
    workDir: path.join(scratch, 'image'),
    onLog: () => undefined,
    buildFromSource: (build) => Promise.reject(new Error(`unexpected source build of ${build.requirement}`)),
    maxWheelhouseBytes: GIB,
    hostPython: HOST_PYTHON,
    signal: new AbortController().signal,
  });
  const buildLog: string[] = [];
  await engine.buildImage({ tag, contextDir, labels: LABELS, timeoutMs: 300_000, maxSizeBytes: GIB }, (line) =>
    buildLog.push(line),
  );
  const dataDir = path.join(scratch, 'image/data');
  const resultsDir = path.join(scratch, 'image/results');
  await mkdir(dataDir);
  await mkdir(resultsDir);
  await chmod(resultsDir, 0o777);
  await writeFile(path.join(dataDir, 'system_1.csv'), CSV);
  const task: FileTask = {
    index: 0,
    metadata: { file_id: 1, system_id: 1, file_name: 'system_1.csv', include_on_leaderboard: true },
    kwargs: [
      ['latitude', 39.7],
      ['data_sampling_frequency', null],
    ],
  };
  const outcome = await engine.runContainer(
    {
      image: tag,
      command: wrapperCommand('detect', task),
      mounts: [
        { hostPath: dataDir, containerPath: '/data', readOnly: true },
        { hostPath: resultsDir, containerPath: '/results', readOnly: false },
      ],
      memoryBytes: 512 * 1024 ** 2,
      nanoCpus: 1e9,
      pidsLimit: 64,
      timeoutMs: 60_000,
      outputCapBytes: 65_536,
      labels: LABELS,
      user: RUNNER_USER,
    },
    new AbortController().signal,
  );
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.match(outcome.output, 'hello from the submission');
  const report = JSON.parse(await readFile(path.join(resultsDir, 'status.json'), 'utf8'));
  assert.is(report.ok, true, JSON.stringify(report));
  assert.equal(report.function_parameters, ['time_series', 'latitude', 'data_sampling_frequency']);
  assert.is(
    await readFile(path.join(resultsDir, 'output.csv'), 'utf8'),
    'measured_on,power\n2015-01-01 00:00:00-07:00,0.0\n2015-01-01 00:15:00-07:00,3.0\n2015-01-01 00:30:00-07:00,5.0\n',
  );
});

test.run();
