/**
 * Untrusted code stays in its box: hostile submissions run through `pvhub-worker evaluate` as a child process, each
 * asserting the code it gets and that the host is unaffected afterwards (no managed container left, no file outside
 * the workspace, the process count back to normal, a clean exit).
 *
 * The container behaviours share one submission (hostile_submission.py), switched by the data file it runs on, so one
 * image build and one run cover them all, with honest files proving the rest is still scored.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { python, ROOT, run } from '../helpers/cli.js';
import { writeSdist } from '../helpers/sdist.js';

const TASK = path.join(ROOT, 'examples/tasks/time-shift-detection');
const REQUIREMENTS = 'pandas==2.2.3\nnumpy==2.1.3\n';
/** A path on the host that no hostile submission may create. */
const CANARY = path.join(os.tmpdir(), `pvhub-hostile-canary-${process.pid}`);

let scratch = '';

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PVHUB_CONTAINER_MEMORY: '512m',
    PVHUB_FILE_TIME_LIMIT: '20',
    PVHUB_EARLY_ABORT_FILES: '0',
    PVHUB_MAX_PARALLEL: '2',
    PVHUB_WORK_DIR: path.join(scratch, 'work'),
    // The worker's own secrets: the submission must not see them.
    AWS_SECRET_ACCESS_KEY: 'canary',
    AWS_ACCESS_KEY_ID: 'canary-id',
    ...extra,
  };
}

/** The uid submissions run as (RUNNER_USER in src/pipeline/run-file.ts); it owns nothing on the host. */
const RUNNER_UID = '10001';

/**
 * Host processes of the runner uid that live outside every running container: a fork bomb's children or a
 * daemonised process that escaped the container's end. Other suites' live containers are not counted.
 */
async function escapedProcesses(): Promise<string[]> {
  const live = (await run('docker', ['ps', '-q', '--no-trunc'])).stdout.split('\n').filter((id) => id.trim() !== '');
  const escaped: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      if (/^Uid:\s+(\d+)/m.exec(status)?.[1] !== RUNNER_UID) continue;
      const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8');
      if (!live.some((id) => cgroup.includes(id))) escaped.push(`${pid}: ${cgroup.split('\n')[0] ?? ''}`);
    } catch {
      // The process ended while being read.
    }
  }
  return escaped;
}

interface Evaluation {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The worker's pid: `evaluate` uses it as the submission id, so its containers carry pvhub.submission=<pid>. */
  readonly pid: number;
}

/** `pvhub-worker evaluate` as a child process; `onStart` may signal it. */
function evaluate(
  submission: string,
  out: string,
  environment: NodeJS.ProcessEnv,
  onStart?: (pid: number) => void,
): Promise<Evaluation> {
  return new Promise((resolve, reject) => {
    const args = [
      path.join(ROOT, 'bin/pvhub-worker.js'),
      'evaluate',
      '--task',
      TASK,
      '--submission',
      submission,
      '--out',
      out,
    ];
    const child = spawn('node', args, {
      cwd: ROOT,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid ?? -1;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, pid }));
    onStart?.(pid);
  });
}

/** Containers of one evaluate run (other suites may run their own managed containers meanwhile). */
async function managedContainers(pid: number): Promise<string[]> {
  const result = await run('docker', [
    'ps',
    '-a',
    '-q',
    '--filter',
    'label=pvhub.managed=true',
    '--filter',
    `label=pvhub.submission=${pid}`,
  ]);
  assert.is(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

/** The host is as it was: no managed container, no canary, the worker's scratch empty, processes back to normal. */
async function assertHostUnaffected(pid: number, extraCanaries: readonly string[] = []): Promise<void> {
  assert.equal(await managedContainers(pid), [], 'no container left behind');
  for (const canary of [CANARY, ...extraCanaries])
    assert.not.ok(existsSync(canary), `${canary} was created on the host`);
  const work = path.join(scratch, 'work');
  const left = existsSync(work) ? (await readdir(work)).filter((name) => name.startsWith('submission-')) : [];
  assert.equal(left, [], 'the job workspace is removed');
  // Other suites may run containers meanwhile, so the host's total says little; no submission process may be left
  // outside a running container.
  assert.equal(await escapedProcesses(), [], 'no submission process outlives its container');
}

async function submissionFolder(name: string, wrapper: string, requirements = REQUIREMENTS): Promise<string> {
  const dir = path.join(scratch, 'submissions', name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'submission_wrapper.py'), wrapper);
  await writeFile(path.join(dir, 'requirements.txt'), requirements);
  return dir;
}

const HONEST = `
import pandas as pd

def detect_time_shifts(time_series, latitude=None, longitude=None, data_sampling_frequency=None):
    days = sorted(set(pd.Series(time_series).index.date))
    return pd.Series(0.0, index=pd.Index(days))
`;

/** Writes a zip with the host python's zipfile: entries [name, content, unix mode or null]. */
async function craftZip(
  file: string,
  entries: ReadonlyArray<readonly [string, string, number | null]>,
  bombBytes = 0,
): Promise<void> {
  const code = `
import json, sys, zipfile
target, entries, bomb = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for name, content, mode in entries:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, content)
    if bomb:
        info = zipfile.ZipInfo("data.bin", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as sink:
            block = bytes(1 << 20)
            for _ in range(bomb >> 20):
                sink.write(block)
`;
  await python(code, [file, JSON.stringify(entries), String(bombBytes)]);
}

async function expectRefused(
  submission: string,
  code: string,
  fragment: string | RegExp,
  canaries: readonly string[] = [],
): Promise<void> {
  const out = path.join(scratch, `out-refused-${path.basename(submission)}`);
  const result = await evaluate(submission, out, env());
  assert.is(result.status, 1, `${submission}: ${result.stdout}\n${result.stderr}`);
  const line = result.stderr.trim().split('\n').pop() ?? '';
  assert.match(line, `pvhub-worker: ${code}: `);
  assert.match(line, fragment);
  assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
  assert.not.ok(existsSync(out), 'no output folder');
  await assertHostUnaffected(result.pid, canaries);
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-hostile-'));
  await rm(CANARY, { force: true });
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('archive attacks are refused with op_1 and their own message, nothing extracted anywhere', async () => {
  const wrapper: [string, string, number | null] = ['submission_wrapper.py', HONEST, 0o100644];
  const requirements: [string, string, number | null] = ['requirements.txt', REQUIREMENTS, 0o100644];
  const zips = path.join(scratch, 'zips');
  await mkdir(zips, { recursive: true });
  const slipName = `pvhub-zipslip-${process.pid}`;
  const slipTarget = path.join(os.tmpdir(), slipName);
  const absoluteTarget = path.join(os.tmpdir(), `pvhub-absolute-${process.pid}`);

  // Zip bomb: 400 MiB of zeros in about 400 KiB.
  const bomb = path.join(zips, 'bomb.zip');
  await craftZip(bomb, [wrapper, requirements], 400 * 1024 ** 2);
  await expectRefused(bomb, 'op_1', 'zip bomb');

  // Zip slip: an entry that climbs out of the extraction folder to a host path.
  const slip = path.join(zips, 'slip.zip');
  await craftZip(slip, [wrapper, requirements, [`../../../../../../..${slipTarget}`, 'slipped', 0o100644]]);
  await expectRefused(slip, 'op_1', 'path traversal', [slipTarget]);

  // An absolute entry path.
  const absolute = path.join(zips, 'absolute.zip');
  await craftZip(absolute, [wrapper, requirements, [absoluteTarget, 'absolute', 0o100644]]);
  await expectRefused(absolute, 'op_1', 'absolute path', [absoluteTarget]);

  // A symbolic link entry pointing at a host file (or the references).
  const link = path.join(zips, 'symlink.zip');
  await craftZip(link, [wrapper, requirements, ['answers.csv', '/etc/passwd', 0o120777]]);
  await expectRefused(link, 'op_1', 'symbolic link in entry answers.csv');

  // A special file (a FIFO) entry.
  const fifo = path.join(zips, 'fifo.zip');
  await craftZip(fifo, [wrapper, requirements, ['pipe', '', 0o010644]]);
  await expectRefused(fifo, 'op_1', 'special file in entry pipe');

  // A file and a folder of the same name: the archive's fault (op_1), not the worker's.
  const clash = path.join(zips, 'clash.zip');
  await craftZip(clash, [
    wrapper,
    requirements,
    ['helpers', 'a file', 0o100644],
    ['helpers/scale.py', 'x = 1', 0o100644],
  ]);
  await expectRefused(clash, 'op_1', 'entry helpers/scale.py cannot be extracted');

  // A submission folder (local runs) with a symlink to the host is refused as well, not followed.
  const folder = await submissionFolder('folder-symlink', HONEST);
  await symlink('/etc/passwd', path.join(folder, 'answers.csv'));
  await expectRefused(folder, 'op_1', 'answers.csv is neither a file nor a folder');
});

test('a requirement that exists only as an sdist is built in the sandbox: its build script reaches neither the network nor the host', async () => {
  const links = path.join(scratch, 'links');
  const sdistCanary = path.join(os.tmpdir(), `pvhub-sdist-canary-${process.pid}`);
  await mkdir(links, { recursive: true });
  // The build script writes to a host path, calls out to the network and looks for the worker's socket, secrets
  // and privileges: any of them within reach fails the build, and so the spec, with PROBE-BREACH.
  const probe = [
    'import os, pathlib, socket',
    `pathlib.Path(${JSON.stringify(sdistCanary)}).write_text("ran on the host")`,
    'breaches = []',
    'try:',
    '    socket.create_connection(("1.1.1.1", 53), timeout=2)',
    '    breaches.append("network")',
    'except OSError:',
    '    pass',
    'if os.path.exists("/var/run/docker.sock"):',
    '    breaches.append("docker socket")',
    'if any(name.startswith("AWS") for name in os.environ):',
    '    breaches.append("credentials")',
    'if os.getuid() == 0:',
    '    breaches.append("root")',
    'try:',
    '    open("/usr/pvhub-breach", "w")',
    '    breaches.append("writable root")',
    'except OSError:',
    '    pass',
    'if breaches:',
    '    raise SystemExit("PROBE-BREACH " + ", ".join(breaches))',
  ].join('\n');
  await writeSdist(links, 'pvhub-hostile-sdist', '0.1', [], probe);
  const submission = await submissionFolder(
    'sdist',
    `import pvhub_hostile_sdist\n${HONEST}`,
    `${REQUIREMENTS}pvhub-hostile-sdist==0.1\n`,
  );
  const out = path.join(scratch, 'out-sdist');
  // The sdist is offered to the resolver through find-links, next to whatever the machine already uses.
  const findLinks = [links, process.env['PIP_FIND_LINKS'] ?? ''].join(' ').trim();
  const result = await evaluate(submission, out, env({ PIP_FIND_LINKS: findLinks }));
  assert.is(result.status, 0, result.stderr.slice(-3000));
  assert.not.match(result.stderr, 'PROBE-BREACH');
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as {
    number_of_files: number;
  };
  assert.ok(publicResults.number_of_files > 0, 'the submission that needed the built wheel is scored');
  await assertHostUnaffected(result.pid, [sdistCanary]);
});

interface FileOutcome {
  readonly code: string;
  readonly message: string;
}

/** Per-file failures from the job's JSON log: the warn line of each failed file carries its code. */
async function fileFailures(logFile: string): Promise<Map<string, FileOutcome>> {
  const failures = new Map<string, FileOutcome>();
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as { file?: string; code?: string; msg?: string; message?: string };
    if (record.file !== undefined && record.code !== undefined) {
      failures.set(record.file, { code: record.code, message: String(record.msg ?? record.message ?? '') });
    }
  }
  return failures;
}

test('one run survives every container attack, each file gets its code, and the honest files are scored', async () => {
  const submission = await submissionFolder(
    'hostile',
    await readFile(path.join(ROOT, 'spec/hostile/hostile_submission.py'), 'utf8'),
  );
  const out = path.join(scratch, 'out-hostile');
  const started = Date.now();
  const result = await evaluate(submission, out, env());
  assert.is(result.status, 0, `${result.stdout}\n${result.stderr.slice(-3000)}`);
  assert.ok(Date.now() - started < 240_000, 'the hostile run stays within its limits');

  const failures = await fileFailures(path.join(out, 'logs', 'submission.log.jsonl'));
  const expect = (file: string, code: string | readonly string[], fragment: string | RegExp) => {
    const outcome = failures.get(file);
    assert.ok(outcome, `${file} should have failed`);
    assert.ok(
      (typeof code === 'string' ? [code] : code).includes(outcome.code),
      `${file}: ${outcome.code}: ${outcome.message}`,
    );
    assert.match(outcome.message, fragment, `${file}: ${outcome.message}`);
  };
  for (const [file, outcome] of failures)
    assert.not.match(outcome.message, 'PROBE-BREACH', `${file}: ${outcome.message}`);

  // The pids limit stops the bomb; with one CPU shared by 256 busy processes, the parent may not see its refused
  // fork before the time limit does: either way the file fails and the host keeps its processes.
  expect('1001_ac_power_ts01.csv', ['sb_500', 'sb_1'], /PROBE-OK fork refused after \d+ children|time limit of 20 s/);
  expect('1001_ac_power_ts02.csv', 'sb_500', 'memory limit');
  expect('1002_ac_power_ts03.csv', 'sb_500', /PROBE-OK \/tmp full .*(No space left on device|File too large)/);
  expect('1002_ac_power_ts04.csv', 'sb_500', /PROBE-OK \/results refused|results limit/);
  expect('1003_ac_power_ts05.csv', 'sb_1', 'time limit of 20 s');
  expect('1003_ac_power_ts06.csv', 'sb_500', 'PROBE-OK no network');
  expect('1004_ac_power_ts07.csv', 'sb_500', 'PROBE-OK no write outside');
  expect('1004_ac_power_ts08.csv', 'sb_500', 'PROBE-OK environment holds only');
  expect('1005_ac_power_ts10.csv', 'sb_500', 'PROBE-OK uid 10001');
  expect('1001_ac_power_ts12.csv', 'sb_500', 'PROBE-OK only 1001_ac_power_ts12.csv is visible');
  expect('1003_ac_power_ts13.csv', 'op_8', 'not a regular file');

  // The flood, and the honest file, are scored.
  const scored = ['1005_ac_power_ts09.csv', '1005_ac_power_ts11.csv'];
  for (const file of scored) assert.not.ok(failures.has(file), `${file}: ${failures.get(file)?.message}`);
  assert.is(failures.size, 11, [...failures.keys()].join(', '));
  const publicResults = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as {
    number_of_files: number;
  };
  // ts11 is not on the leaderboard: the public count has ts09 alone.
  assert.is(publicResults.number_of_files, 1);
  assert.match(result.stdout, /Scored 2 file\(s\).*, 11 failed/);
  assert.equal((await readdir(path.join(out, 'files'))).sort(), scored.sort());
  const log = await readFile(path.join(out, 'logs', 'submission.log.jsonl'), 'utf8');
  assert.match(log, /bytes of output dropped/, 'the flood was cut at the output cap');

  await assertHostUnaffected(result.pid);
});

test.run();
