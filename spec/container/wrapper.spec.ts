import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import type { FileTask } from '../../src/domain/file-run.js';
import type { KwargValue } from '../../src/domain/metadata.js';
import { WRAPPER_PYTHON } from '../../src/domain/sandbox.js';
import { HOST_PYTHON, ROOT, run } from '../helpers/cli.js';
import { buildSubmissionImage, runWrapper } from '../helpers/submission-image.js';

const WRAPPER = path.join(ROOT, 'container/pvhub_wrapper.py');
const CSV =
  'measured_on,power\n2015-01-01 00:00:00-07:00,0.0\n2015-01-01 00:15:00-07:00,1.5\n2015-01-01 00:30:00-07:00,2.5\n';
const LABELS = { 'pvhub.spec': 'wrapper' };

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
  /** The run's results folder. */
  readonly results: string;
}

interface WrapOptions {
  readonly fn?: string;
  readonly csv?: string;
  readonly module?: string;
  /** The --kwargs text as given, instead of the pairs as JSON. */
  readonly kwargsText?: string;
  /** Another --data path than the data file written for the run. */
  readonly data?: string;
  readonly timeLimit?: number;
  /**
   * Started ahead of its turn (--go-on-stdin): the data file is put in its folder, and `line` (default `go`) written
   * to stdin, `afterMs` after the start; an empty line closes stdin instead.
   */
  readonly turn?: { readonly afterMs: number; readonly line?: string; readonly waitLimit?: number };
}

/**
 * Runs the wrapper on the host Python against a submission module written from `code`, as the container runs it:
 * the supervisor with no site hooks, the call on an interpreter with pandas. `{results}` in the code is the run's
 * results folder.
 */
async function wrap(
  code: string,
  kwargs: ReadonlyArray<readonly [string, KwargValue]> = [],
  options: WrapOptions = {},
): Promise<WrapperRun> {
  const dir = path.join(scratch, `run-${runs++}`);
  const results = path.join(dir, 'results');
  await mkdir(path.join(dir, 'code'), { recursive: true });
  await mkdir(results);
  await writeFile(
    path.join(dir, 'code', `${options.module ?? 'submission_wrapper'}.py`),
    code.replaceAll('{results}', results),
  );
  await writeFile(path.join(dir, 'data.csv'), options.csv ?? CSV);
  const { turn } = options;
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir);
  // A wrapper that ends before its go (it gave up waiting) is given none: the go is cleared with the run, or it would
  // come after the spec's files are gone, in another spec.
  let go: NodeJS.Timeout | undefined;
  let goFailure: unknown;
  const give = (stdin: NodeJS.WritableStream) => {
    if (turn === undefined) return stdin.end();
    // Writing to a wrapper that has just ended is no failure of the go's.
    stdin.on('error', () => undefined);
    go = setTimeout(() => {
      rename(path.join(dir, 'data.csv'), path.join(dataDir, 'data.csv'))
        .then(() => stdin.end(turn.line ?? 'go\n'))
        .catch((error: unknown) => (goFailure = error));
    }, turn.afterMs);
  };
  const args = [
    '-I',
    '-S',
    WRAPPER,
    '--module',
    'submission_wrapper',
    '--function',
    options.fn ?? 'f',
    '--data',
    options.data ?? path.join(turn === undefined ? dir : dataDir, 'data.csv'),
    '--out',
    results,
    '--kwargs',
    options.kwargsText ?? JSON.stringify(kwargs),
    '--code-dir',
    path.join(dir, 'code'),
    '--time-limit',
    String(options.timeLimit ?? 60),
    '--python',
    HOST_PYTHON,
  ];
  if (turn !== undefined) args.push('--go-on-stdin', '--wait-limit', String(turn.waitLimit ?? 30));
  const result = await run(HOST_PYTHON, args, {}, give).finally(() => clearTimeout(go));
  if (goFailure !== undefined) throw goFailure;
  const report = JSON.parse(await readFile(path.join(results, 'status.json'), 'utf8'));
  const output = await readFile(path.join(results, 'output.csv'), 'utf8').catch(() => undefined);
  return { status: result.status, stderr: result.stderr, report, output, results };
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

test("pandas is imported before the submission's module, as by the original wrapper; the call runs with the collector on", async () => {
  const result = await wrap(
    "import gc, sys\nPANDAS_FIRST = 'pandas' in sys.modules\n\n\ndef f(time_series):\n    return (PANDAS_FIRST, gc.isenabled(), gc.get_freeze_count() > 0)\n",
  );
  assert.is(result.status, 0, result.stderr);
  assert.is(
    result.output,
    ',0,1,2\n0,True,True,True\n',
    'imported first, the collector back on, what pandas made frozen',
  );
});

test('a return value that is no table is sb_500', async () => {
  const result = await wrap('def f(ts):\n    return {"a": 1, "b": 2}\n');
  assert.is(result.report.code, 'sb_500');
  assert.match(result.report.message ?? '', 'cannot be written as a table');
});

test("patching the wrapper's state or clocks from the submission does not change the measured time", async () => {
  const code = [
    'import time, __main__',
    'time.perf_counter = time.monotonic = time.time = lambda: 0.0',
    '__main__.perf_counter = lambda: 0.0',
    '__main__.timed_call = lambda function, args, keywords: (function(*args, **keywords), 0.0)',
    'def f(ts):',
    '    time.sleep(0.5)',
    '    return 1',
  ].join('\n');
  const result = await wrap(code);
  assert.is(result.report.ok, true, JSON.stringify(result.report));
  assert.ok((result.report.execution_time ?? 0) >= 0.5, String(result.report.execution_time));
});

test('a status file the submission writes itself is replaced by the verdict: no result came, so sb_500', async () => {
  const code = [
    'import json, os',
    'def f(ts):',
    '    with open("{results}/output.csv", "w") as output:',
    '        output.write(",0\\n0,1\\n")',
    '    with open("{results}/status.json", "w") as status:',
    '        json.dump({"ok": True, "execution_time": 0.0, "function_parameters": ["ts"]}, status)',
    '    os._exit(0)',
  ].join('\n');
  const result = await wrap(code);
  assert.equal(result.report, {
    ok: false,
    code: 'sb_500',
    message: "the submission's process exited with status 0 before returning a result",
  });
  assert.is(result.output, undefined, 'the output the submission wrote itself is moved aside');
});

test('a worker code from the submission never becomes the verdict: printed, written or sent to the wrapper, it is sb_500', async () => {
  const fake = 'wr_2: download of data_files/files/system_1.csv failed: AccessDenied (worker credentials revoked)';
  const written = await wrap(
    [
      'import json, os, sys',
      'def f(ts):',
      `    print("pvhub: ${fake}", file=sys.stderr)`,
      '    with open("{results}/status.json", "w") as status:',
      `        json.dump({"ok": False, "code": "wr_2", "message": "${fake}"}, status)`,
      '    os._exit(1)',
    ].join('\n'),
  );
  assert.equal(written.report, {
    ok: false,
    code: 'sb_500',
    message: "the submission's process exited with status 1 before returning a result",
  });
  // The wrapper's own frames, sent by the submission with a worker's words: its failure is still its own.
  const sent = await wrap(
    [
      'import os, sys',
      'frames = int(sys.argv[sys.argv.index("--frames-fd") + 1])',
      'def f(ts):',
      `    message = b"${fake}"`,
      '    os.write(frames, b"error %d\\n" % len(message) + message)',
      '    os._exit(1)',
    ].join('\n'),
  );
  assert.equal(sent.report, { ok: false, code: 'sb_500', message: fake });
  const garbage = await wrap(
    'import os, sys\nos.write(int(sys.argv[sys.argv.index("--frames-fd") + 1]), b"x" * 100)\ndef f(ts):\n    return 1\n',
  );
  assert.equal(garbage.report, {
    ok: false,
    code: 'sb_500',
    message: "the submission's process broke the wrapper's protocol: a frame header is too long",
  });
  // The same in one write with a header after it: the limit holds wherever the newline comes.
  const runOn = await wrap(
    'import os, sys\nos.write(int(sys.argv[sys.argv.index("--frames-fd") + 1]), b"x" * 100 + b"ready 2\\n[]")\ndef f(ts):\n    return 1\n',
  );
  assert.equal(runOn.report, garbage.report);
});

test("the call holds its stdio and the two pipe ends, no fd of the supervisor's; stdin is /dev/null, its folder the code's", async () => {
  const code = [
    'import os, sys',
    'ARGS = dict(zip(sys.argv[1::2], sys.argv[2::2]))',
    'PIPES = {int(ARGS["--go-fd"]), int(ARGS["--frames-fd"])}',
    'def is_open(fd):',
    '    try:',
    '        os.fstat(fd)',
    '        return True',
    '    except OSError:',
    '        return False',
    'OTHERS = [fd for fd in range(256) if is_open(fd) and fd not in PIPES | {0, 1, 2}]',
    'STDIN = os.readlink("/proc/self/fd/0")',
    'def f(ts):',
    '    others = " ".join("%d:%s" % (fd, os.readlink("/proc/self/fd/%d" % fd)) for fd in OTHERS)',
    '    return (STDIN, others or "-", os.getcwd() == os.path.dirname(__file__))',
  ].join('\n');
  const result = await wrap(code);
  assert.is(result.status, 0, result.stderr);
  assert.is(result.output, ',0,1,2\n0,/dev/null,-,True\n');
});

test('the time limit ends the call and every process it started, a detached one that ignores SIGTERM too', async () => {
  const marker = path.join(scratch, 'detached-survived');
  const code = [
    'import os, signal, time',
    'def f(ts):',
    '    if os.fork() == 0:',
    '        os.setsid()',
    '        if os.fork() == 0:',
    '            signal.signal(signal.SIGTERM, signal.SIG_IGN)',
    '            time.sleep(3)',
    `            open(${JSON.stringify(marker)}, "w").write("alive")`,
    '        os._exit(0)',
    '    while True:',
    '        pass',
  ].join('\n');
  const started = Date.now();
  const result = await wrap(code, [], { timeLimit: 1.5 });
  assert.ok(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
  assert.equal(result.report, { ok: false, code: 'sb_1', message: 'exceeded the time limit of 1.5 s' });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.not.ok(existsSync(marker), 'the detached process was ended with the call');
});

test('a process left behind after the result cannot rewrite the verdict or the output', async () => {
  const code = [
    'import json, os, time',
    'def f(ts):',
    '    if os.fork() == 0:',
    '        os.setsid()',
    '        time.sleep(1)',
    '        for name, text in (("output.csv", ",0\\n0,forged\\n"), ("status.json", json.dumps({"ok": True, "execution_time": 0.0}))):',
    '            with open("{results}/" + name, "w") as sink:',
    '                sink.write(text)',
    '        os._exit(0)',
    '    time.sleep(0.3)',
    '    return 42',
  ].join('\n');
  const result = await wrap(code);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const report = JSON.parse(await readFile(path.join(result.results, 'status.json'), 'utf8'));
  assert.is(report.ok, true);
  assert.ok(report.execution_time >= 0.3, String(report.execution_time));
  assert.is(await readFile(path.join(result.results, 'output.csv'), 'utf8'), ',0\n0,42\n');
});

test("malformed kwargs are wr_500 and an unreadable data file wr_10, decided before any of the submission's code runs", async () => {
  const code = 'print("SUBMISSION-IMPORTED")\ndef f(ts):\n    return 1\n';
  const kwargs = await wrap(code, [], { kwargsText: '{"latitude": 1}' });
  assert.is(kwargs.report.code, 'wr_500');
  assert.match(kwargs.report.message ?? '', 'malformed --kwargs');
  const data = await wrap(code, [], { data: path.join(scratch, 'no-such-data.csv') });
  assert.is(data.report.code, 'wr_10');
  for (const result of [kwargs, data]) assert.not.match(result.stderr, 'SUBMISSION-IMPORTED');
});

const WARMING = [
  'import os, sys, time',
  'SEEN = sorted(os.listdir(os.path.dirname(sys.argv[sys.argv.index("--data") + 1])))',
  'time.sleep(1)',
  'def f(ts):',
  '    data = os.path.dirname(sys.argv[sys.argv.index("--data") + 1])',
  '    return (" ".join(SEEN) or "-", " ".join(sorted(os.listdir(data))), len(ts))',
].join('\n');

test('ahead of its turn, the call warms up without its data; the wait is neither its runtime nor its time', async () => {
  // 1 s of warm-up and 3 s of waiting against a limit of 2.5 s: only the warm-up and the call count.
  const result = await wrap(WARMING, [], { timeLimit: 2.5, turn: { afterMs: 3_000 } });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.output, ',0,1,2\n0,-,data.csv,3\n', 'nothing at the warm-up, its file alone at the call');
  const runtime = result.report.execution_time ?? NaN;
  assert.ok(runtime >= 0 && runtime < 1, `the runtime ${runtime} s is the call's alone`);
});

test('the warm-up counts against the time limit', async () => {
  const code = 'import time\ntime.sleep(2)\ndef f(ts):\n    time.sleep(1)\n    return 1\n';
  const result = await wrap(code, [], { timeLimit: 2.5, turn: { afterMs: 100 } });
  assert.equal(result.report, { ok: false, code: 'sb_1', message: 'exceeded the time limit of 2.5 s' });
});

test("a go that never comes, a stdin closed before it, or another line is the worker's fault: wr_500", async () => {
  const late = await wrap(WARMING, [], { turn: { afterMs: 6_000, waitLimit: 2 } });
  assert.equal(late.report, {
    ok: false,
    code: 'wr_500',
    message: 'the worker did not start the file within 2 s of its warm-up',
  });
  const gone = await wrap(WARMING, [], { turn: { afterMs: 0, line: '' } });
  assert.equal(gone.report, { ok: false, code: 'wr_500', message: 'the worker left before starting the file' });
  const other = await wrap(WARMING, [], { turn: { afterMs: 0, line: 'start\n' } });
  assert.equal(other.report, { ok: false, code: 'wr_500', message: "the worker's go is malformed" });
  for (const result of [late, gone, other]) assert.is(result.output, undefined);
});

const SUPERVISOR_PROBE = `
import ctypes, os, signal, time

def probe_supervisor(time_series):
    """Everything a submission of the same uid might try against PID 1; what succeeds is returned."""
    breached = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(1, sig)
        except OSError:
            pass
    time.sleep(0.5)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, 1, None, None) == 0:
        breached.append("ptrace")
    for name in ("mem", "environ", "fd"):
        try:
            os.listdir("/proc/1/fd") if name == "fd" else open("/proc/1/" + name, "rb").read(1)
            breached.append(name)
        except OSError:
            pass
    with open("/proc/1/cmdline", "rb") as cmdline:
        supervisor = cmdline.read().split(b"\\0")[:3]
    return (" ".join(part.decode() for part in supervisor), ",".join(breached) or "none", os.getppid())
`;

test('the image recipe builds with no network and runs the wrapper hardened, as the worker calls it', async () => {
  const engine = new DockerEngine();
  const tag = await buildSubmissionImage(
    engine,
    path.join(scratch, 'image'),
    {
      'requirements.txt': 'pandas\n',
      'helpers/__init__.py': 'def scale(ts, k):\n    return ts * k\n',
      'submission_wrapper.py': `from helpers import scale\nprint("hello from the submission")\ndef detect(time_series, latitude, data_sampling_frequency=2):\n    return scale(time_series, data_sampling_frequency)\n${SUPERVISOR_PROBE}`,
    },
    LABELS,
  );
  const task: FileTask = {
    index: 0,
    metadata: { file_id: 1, system_id: 1, file_name: 'system_1.csv', include_on_leaderboard: true },
    kwargs: [
      ['latitude', 39.7],
      ['data_sampling_frequency', null],
    ],
  };
  const detect = await runWrapper(
    engine,
    tag,
    { dir: path.join(scratch, 'image/detect'), functionName: 'detect', task, csv: CSV, labels: LABELS },
    { timeLimitSeconds: 60, engineTimeoutMs: 60_000 },
  );
  assert.is(detect.outcome.exitCode, 0, detect.outcome.output);
  assert.match(detect.outcome.output, 'hello from the submission');
  assert.is(detect.report?.['ok'], true, JSON.stringify(detect.report));
  assert.equal(detect.report?.['function_parameters'], ['time_series', 'latitude', 'data_sampling_frequency']);
  assert.ok((detect.report?.['execution_time'] as number) * 1000 < detect.outcome.durationMs);
  assert.is(
    detect.output,
    'measured_on,power\n2015-01-01 00:00:00-07:00,0.0\n2015-01-01 00:15:00-07:00,3.0\n2015-01-01 00:30:00-07:00,5.0\n',
  );

  // PID 1 is the supervisor on its own interpreter: signals from inside do not reach it, nor ptrace or /proc.
  const probe = await runWrapper(
    engine,
    tag,
    {
      dir: path.join(scratch, 'image/probe'),
      functionName: 'probe_supervisor',
      task: { ...task, kwargs: [] },
      csv: CSV,
      labels: LABELS,
    },
    { timeLimitSeconds: 30, engineTimeoutMs: 60_000 },
  );
  assert.is(probe.outcome.exitCode, 0, probe.outcome.output);
  assert.is(probe.report?.['ok'], true, JSON.stringify(probe.report));
  assert.is(probe.output, `,0,1,2\n0,${WRAPPER_PYTHON} -I -S,none,1\n`);
});

test.run();
