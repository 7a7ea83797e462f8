import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { removeVolume, removeVolumeWhenFree } from '../../src/adapters/docker-common.js';
import { asEngineFault } from '../../src/adapters/engine-faults.js';
import { VOLUMES_PER_HOLDER } from '../../src/adapters/results-holder.js';
import { WorkerError } from '../../src/domain/errors.js';
import { InfrastructureFault } from '../../src/domain/infrastructure-fault.js';
import { WRAPPER_PYTHON } from '../../src/domain/sandbox.js';
import { LOOPBACK_HOSTS } from '../../src/domain/workspace.js';
import type { ContainerRunSpec } from '../../src/ports/container-engine.js';
import { until } from '../helpers/until.js';

const LABELS = { 'pvhub.spec': 'docker-engine' };
const execFileAsync = promisify(execFile);
const IMAGE = 'pvhub-spec-engine:latest';
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

const engine = new DockerEngine();
const docker = new Dockerode();
let scratch = '';

async function contextWith(name: string, dockerfile: string): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

function spec(name: string, python: string, overrides: Partial<ContainerRunSpec> = {}): ContainerRunSpec {
  return {
    image: IMAGE,
    command: ['python', '-c', python],
    mounts: [],
    memoryBytes: 256 * MIB,
    nanoCpus: 1e9,
    pidsLimit: 64,
    timeoutMs: 30_000,
    labels: { ...LABELS, 'pvhub.case': name },
    outputCapBytes: 64 * 1024,
    user: '10001:10001',
    ...overrides,
  };
}

async function containersOf(name: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`pvhub.case=${name}`] } })).length;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-engine-'));
  // The supervisor's interpreter where every submission image has it: the results holders run their program on it.
  const context = await contextWith(
    'ok',
    'FROM python:3.11-slim\nCOPY greeting.txt /greeting.txt\n' +
      `RUN mkdir -p ${path.dirname(WRAPPER_PYTHON)} && ln -s "$(command -v python)" ${WRAPPER_PYTHON}\n`,
  );
  await writeFile(path.join(context, 'greeting.txt'), 'hello from the context\n');
  await chmod(path.join(context, 'greeting.txt'), 0o600);
  await engine.buildImage(
    { tag: IMAGE, contextDir: context, labels: LABELS, timeoutMs: 120_000, maxSizeBytes: GIB },
    () => undefined,
  );
});

test.after(async () => {
  await engine.removeContainers(LABELS);
  await engine.removeImages(LABELS);
  await rm(scratch, { recursive: true, force: true });
});

test('a built image exists; an unknown one does not', async () => {
  assert.ok(await engine.imageExists(IMAGE));
  assert.not.ok(await engine.imageExists('pvhub-spec-no-such-image:x'));
});

test('a container runs hardened, writes to its bound results folder, and is removed', async () => {
  const results = path.join(scratch, 'results');
  const data = path.join(scratch, 'data');
  await mkdir(results);
  await mkdir(data);
  await chmod(results, 0o777);
  process.env['PVHUB_SPEC_SECRET'] = 'must-not-leak';
  const checks = `
import json, os
def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return error.strerror
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print(json.dumps({
    "uid": os.getuid(),
    "context_file": open("/greeting.txt").read(),
    "root": attempt(lambda: open("/pvhub-probe", "w")),
    "data": attempt(lambda: open("/data/probe", "w")),
    "tmp": attempt(lambda: open("/tmp/probe", "w").write("x")),
    "caps": status["CapEff"].strip(),
    "no_new_privs": status["NoNewPrivs"].strip(),
    "env": sorted(os.environ),
}))
open("/results/out.txt", "w").write("written")
`;
  const outcome = await engine.runContainer(
    spec('hardened', checks, {
      mounts: [
        { hostPath: data, containerPath: '/data', readOnly: true },
        { hostPath: results, containerPath: '/results', readOnly: false },
      ],
    }),
    new AbortController().signal,
  );
  delete process.env['PVHUB_SPEC_SECRET'];
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.equal(
    { timedOut: outcome.timedOut, oomKilled: outcome.oomKilled, outputTruncated: outcome.outputTruncated },
    { timedOut: false, oomKilled: false, outputTruncated: false },
  );
  const seen = JSON.parse(outcome.output);
  assert.is(seen.uid, 10001);
  assert.is(seen.context_file, 'hello from the context\n');
  assert.is(seen.root, 'Read-only file system');
  assert.is(seen.data, 'Read-only file system');
  assert.is(seen.tmp, 'allowed');
  assert.is(seen.caps, '0000000000000000');
  assert.is(seen.no_new_privs, '1');
  assert.not.ok(seen.env.includes('PVHUB_SPEC_SECRET'));
  assert.ok(seen.env.includes('OPENBLAS_THREAD_TIMEOUT'), "OpenBLAS's threads do not spin for 0.1 s after their work");
  assert.is(await readFile(path.join(results, 'out.txt'), 'utf8'), 'written');
  assert.ok(outcome.durationMs > 0);
  assert.is(await containersOf('hardened'), 0);
});

test('a finished run leaves no timer behind: the process may exit as soon as it settles', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
  const before = timers();
  const outcome = await engine.runContainer(spec('no-timer', 'print("done")'), new AbortController().signal);
  assert.is(outcome.output.trim(), 'done');
  assert.is(timers(), before, 'a timer of the run is still pending');
});

async function volumesOf(name: string): Promise<number> {
  return ((await docker.listVolumes({ filters: { label: [`pvhub.case=${name}`] } })).Volumes ?? []).length;
}

/** A run whose results go to a volume of `capBytes`, collecting `collect` into a fresh host folder. */
async function withResults(name: string, python: string, collect: string[], capBytes = 8 * MIB) {
  const hostDir = path.join(scratch, `collected-${name}`);
  await mkdir(hostDir);
  const outcome = await engine.runContainer(
    spec(name, python, { results: { containerPath: '/results', capBytes, collect, hostDir } }),
    new AbortController().signal,
  );
  return { outcome, hostDir };
}

test("a results volume: mounted nosuid,nodev,noexec; only named regular files come out, as plain bytes of the worker's", async () => {
  const plant = `
import os, shutil, sys
shutil.copy(sys.executable, "/results/output.csv")
os.chmod("/results/output.csv", 0o6755)
os.symlink("/etc/passwd", "/results/status.json")
os.mkdir("/results/folder")
os.mkfifo("/results/fifo")
open("/results/other", "w").write("not collected")
print([line.split()[3] for line in open("/proc/self/mounts") if line.split()[1] == "/results"][0])
`;
  const { outcome, hostDir } = await withResults('volume', plant, [
    'output.csv',
    'status.json',
    'folder',
    'fifo',
    'absent',
  ]);
  assert.is(outcome.exitCode, 0, outcome.output);
  const options = outcome.output.trim().split(',');
  for (const option of ['nosuid', 'nodev', 'noexec']) assert.ok(options.includes(option), outcome.output);
  assert.equal(outcome.collected, {
    'output.csv': 'file',
    'status.json': 'symbolic link',
    folder: 'folder',
    fifo: 'FIFO',
    absent: 'missing',
  });
  assert.not.ok(outcome.resultsExceeded);
  assert.equal(await readdir(hostDir), ['output.csv']);
  const copy = await stat(path.join(hostDir, 'output.csv'));
  assert.is(copy.mode & 0o7777, 0o644, 'no setuid, setgid or exec bit survives');
  assert.is(copy.uid, process.getuid?.());
  assert.ok(copy.size > 1000, 'the bytes are copied');
  assert.is(await containersOf('volume'), 0, 'the run and its holder are gone');
  assert.is(await volumesOf('volume'), 0, 'the volume is gone');
});

test("a results volume starts empty and the run's own, even where the image has a root-owned folder with files", async () => {
  const hostDir = path.join(scratch, 'collected-over-image');
  await mkdir(hostDir);
  const probe =
    'import json, os\nprint(json.dumps([os.listdir("/etc/skel"), os.stat("/etc/skel").st_uid]))\nopen("/etc/skel/output.csv", "w").write("x")';
  const outcome = await engine.runContainer(
    spec('over-image', probe, {
      results: { containerPath: '/etc/skel', capBytes: MIB, collect: ['output.csv', '.bashrc'], hostDir },
    }),
    new AbortController().signal,
  );
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.equal(JSON.parse(outcome.output), [[], 10001]);
  assert.equal(outcome.collected, { 'output.csv': 'file', '.bashrc': 'missing' });
});

test('results a run shut away from itself are still collected, byte for byte, and nothing else of the volume is read', async () => {
  const shut = `
import os
data = bytes(range(256)) * 12289 + b"\\nF 0 1 1\\nE 0 81a4 1 x\\n"
open("/results/output.csv", "wb").write(data)
open("/results/status.json", "wb").write(b"")
os.mkdir("/results/folder")
open("/results/folder/inner", "w").write("never read")
os.chmod("/results/folder", 0)
os.chmod("/results/output.csv", 0)
os.chmod("/results/status.json", 0)
os.chmod("/results", 0)
print(len(data))
`;
  const { outcome, hostDir } = await withResults('shut', shut, ['output.csv', 'status.json', 'folder']);
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.equal(outcome.collected, { 'output.csv': 'file', 'status.json': 'file', folder: 'folder' });
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, value) => value));
  const expected = Buffer.concat([
    ...Array.from({ length: 12289 }, () => bytes),
    Buffer.from('\nF 0 1 1\nE 0 81a4 1 x\n'),
  ]);
  const copy = await readFile(path.join(hostDir, 'output.csv'));
  assert.is(copy.length, Number(outcome.output.trim()));
  assert.ok(copy.equals(expected), 'the copy is the bytes written');
  assert.is((await readFile(path.join(hostDir, 'status.json'))).length, 0);
  assert.equal((await readdir(hostDir)).sort(), ['output.csv', 'status.json']);
  assert.is(await volumesOf('shut'), 0);
});

test('a results volume holds its cap in bytes and in entries whatever the depth; a run that fills it is resultsExceeded', async () => {
  const deep = `
import os
os.chdir("/results")
for _ in range(2100):
    os.mkdir("d")
    os.chdir("d")
written = 0
try:
    while written < 64 * 1024 * 1024:
        with open("f%d" % written, "wb") as sink:
            sink.write(b"x" * 1024 * 1024)
        written += 1024 * 1024
except OSError as error:
    print("refused after", written >> 20, "MiB:", error.strerror)
`;
  const bytes = await withResults('deep', deep, ['output.csv']);
  assert.match(bytes.outcome.output, /refused after [0-8] MiB: No space left on device/, bytes.outcome.output);
  assert.ok(bytes.outcome.resultsExceeded, 'filled in bytes');
  const many =
    'import os\ntry:\n    for i in range(20000): open("/results/%d" % i, "w").close()\nexcept OSError as error: print(i, error.strerror)\n';
  const entries = await withResults('entries', many, ['output.csv']);
  assert.match(entries.outcome.output, /^999\d No space left on device/);
  assert.ok(entries.outcome.resultsExceeded, 'filled in entries');
  const small = await withResults('small', 'open("/results/output.csv", "w").write("1,2\\n")', ['output.csv']);
  assert.not.ok(small.outcome.resultsExceeded);
  assert.is(await readFile(path.join(small.hostDir, 'output.csv'), 'utf8'), '1,2\n');
  for (const name of ['deep', 'entries', 'small']) assert.is(await volumesOf(name), 0);
});

test('a volume still held by a container on its way out is removed once that is gone; past the wait it is left, and that is no error', async () => {
  const held = async (name: string) => {
    await docker.createVolume({ Name: name, Labels: { ...LABELS } });
    return docker.createContainer({
      Image: IMAGE,
      Cmd: ['true'],
      Labels: { ...LABELS, 'pvhub.case': 'in-use' },
      HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: '/held' }] },
    });
  };
  const exists = async (name: string) =>
    ((await docker.listVolumes({ filters: { name: [name] } })).Volumes ?? []).some((volume) => volume.Name === name);
  const freed = `pvhub-spec-freed-${process.pid}`;
  const user = await held(freed);
  const removal = removeVolumeWhenFree(docker, freed, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.ok(await exists(freed), 'not removed while in use');
  await user.remove({ force: true });
  await removal;
  assert.not.ok(await exists(freed), 'removed once its container was gone');

  const kept = `pvhub-spec-kept-${process.pid}`;
  const keeper = await held(kept);
  await removeVolumeWhenFree(docker, kept, 300);
  assert.ok(await exists(kept), 'left in place past the wait');
  await keeper.remove({ force: true });
  await removeVolume(docker, kept);
});

/** A run of the group `holders` whose results go to a fresh host folder. */
async function groupRun(name: string, python: string, holders: string, index: number) {
  const hostDir = path.join(scratch, `collected-${name}-${index}`);
  await mkdir(hostDir);
  const outcome = await engine.runContainer(
    spec(name, python, {
      results: { containerPath: '/results', capBytes: 8 * MIB, collect: ['output.csv'], hostDir, holders },
    }),
    new AbortController().signal,
  );
  return { outcome, hostDir };
}

const holdersOf = async (name: string) =>
  (await docker.listContainers({ all: true, filters: { label: [`pvhub.case=${name}`, 'pvhub.role=results-holder'] } }))
    .length;

test('runs of a group share a holder per VOLUMES_PER_HOLDER runs, each with a fresh volume of its own; none is left after close', async () => {
  const name = 'group';
  const group = engine.openResultsHolders({ ...LABELS, 'pvhub.case': name });
  // Each run looks for what earlier runs of its holder wrote, and for the holder's other volumes.
  const probe = (index: number) =>
    `import json, os\nprint(json.dumps([os.listdir("/results"), os.path.exists("/held")]))\nopen("/results/output.csv", "w").write("${index}")`;
  const runs = VOLUMES_PER_HOLDER + 2;
  let holdersSeen = 0;
  for (let first = 0; first < runs; first += 2) {
    const pair = await Promise.all([first, first + 1].map((index) => groupRun(name, probe(index), group.id, index)));
    holdersSeen = Math.max(holdersSeen, await holdersOf(name));
    for (const [offset, { outcome, hostDir }] of pair.entries()) {
      assert.is(outcome.exitCode, 0, outcome.output);
      assert.equal(JSON.parse(outcome.output), [[], false], 'an empty volume, and none of the others');
      assert.not.ok(outcome.resultsExceeded);
      assert.is(await readFile(path.join(hostDir, 'output.csv'), 'utf8'), String(first + offset));
    }
  }
  assert.is(holdersSeen, 1, 'a spent holder is removed once its last volume is given back');
  assert.is(await volumesOf(name), VOLUMES_PER_HOLDER, "the second holder's volumes, until the group closes");
  await group.close();
  assert.is(await holdersOf(name), 0);
  assert.is(await volumesOf(name), 0);
  assert.is(await containersOf(name), 0);
});

test("a run of a group that fills its volume is resultsExceeded; the holder's next run is not, and its volume is fresh", async () => {
  const name = 'group-full';
  const group = engine.openResultsHolders({ ...LABELS, 'pvhub.case': name });
  const fill =
    'try:\n    open("/results/big", "wb").write(b"x" * (16 << 20))\nexcept OSError as error: print(error.strerror)';
  const full = await groupRun(name, fill, group.id, 0);
  assert.match(full.outcome.output, 'No space left on device');
  assert.ok(full.outcome.resultsExceeded);
  const next = await groupRun(name, 'import os\nprint(os.listdir("/results"))', group.id, 1);
  assert.is(next.outcome.output.trim(), '[]');
  assert.not.ok(next.outcome.resultsExceeded);
  await group.close();
  assert.is(await containersOf(name), 0);
  assert.is(await volumesOf(name), 0);
});

/** What is left in volume `index` of the group's one holder: its entries, as `find` lists them. */
async function leftInHeldVolume(name: string, index: number): Promise<string[]> {
  const [holder] = await docker.listContainers({
    filters: { label: [`pvhub.case=${name}`, 'pvhub.role=results-holder'] },
  });
  if (holder === undefined) throw new Error('no holder');
  const { stdout } = await execFileAsync('docker', ['exec', holder.Id, 'find', `/held/${index}`, '-mindepth', '1']);
  return stdout.split('\n').filter((line) => line !== '');
}

test('a collected volume of a group is emptied, however deep and however shut away the run left it', async () => {
  const name = 'group-emptied';
  const group = engine.openResultsHolders({ ...LABELS, 'pvhub.case': name });
  // Deeper than a path may be long, a folder its owner cannot enter, and a link out of the volume.
  const tree = `
import os
os.chdir("/results")
open("output.csv", "w").write("1,2\\n")
os.symlink("/opt/pvhub", "link")
os.mkdir("shut")
open("shut/inner", "w").write("x")
os.chmod("shut", 0)
for _ in range(2100):
    os.mkdir("d")
    open("d/f", "w").write("x")
    os.chdir("d")
`;
  const { outcome, hostDir } = await groupRun(name, tree, group.id, 0);
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.is(await readFile(path.join(hostDir, 'output.csv'), 'utf8'), '1,2\n');
  // The holder empties a volume right after its answer: wait for it.
  await until(async () => (await leftInHeldVolume(name, 0)).length === 0, 10_000, 'the holder to empty the volume');
  const next = await groupRun(name, 'import os\nprint(os.listdir("/opt/pvhub"))', group.id, 1);
  assert.is(next.outcome.exitCode, 0, 'the link was removed, not what it named');
  await group.close();
  assert.is(await volumesOf(name), 0);
});

test('a holder removed from under its group fails the run it held as an engine fault; the next run gets a new holder', async () => {
  const name = 'group-gone';
  const group = engine.openResultsHolders({ ...LABELS, 'pvhub.case': name });
  const write = 'open("/results/output.csv", "w").write("1")';
  assert.is((await groupRun(name, write, group.id, 0)).outcome.exitCode, 0);
  const slow = groupRun(name, `import time\ntime.sleep(3)\n${write}`, group.id, 1);
  // Once the run is under way, its holder goes.
  for (;;) {
    const running = await docker.listContainers({ filters: { label: [`pvhub.case=${name}`] } });
    const holder = running.find((info) => info.Labels['pvhub.role'] === 'results-holder');
    if (holder !== undefined && running.length === 2) {
      await docker.getContainer(holder.Id).remove({ force: true });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.instance(asEngineFault(await rejection(slow)), InfrastructureFault);
  const after = await groupRun(name, write, group.id, 2);
  assert.is(after.outcome.collected?.['output.csv'], 'file');
  await group.close();
  assert.is(await containersOf(name), 0);
  assert.is(await volumesOf(name), 0);
});

test('a writable mount that holds more than the results cap stops the run: resultsExceeded', async () => {
  const out = path.join(scratch, 'watched');
  await mkdir(out);
  await chmod(out, 0o777);
  // Files of 1 MiB, each under the cap alone (RLIMIT_FSIZE), until the watch stops the run.
  const flood =
    'import time\nfor i in range(200):\n    open("/out/%d" % i, "wb").write(b"x" * (1 << 20))\n    time.sleep(0.02)\nprint("wrote them all")';
  const outcome = await engine.runContainer(
    spec('watched', flood, {
      mounts: [{ hostPath: out, containerPath: '/out', readOnly: false }],
      resultsCapBytes: 8 * MIB,
    }),
    new AbortController().signal,
  );
  assert.ok(outcome.resultsExceeded, outcome.output);
  assert.not.match(outcome.output, 'wrote them all');
  assert.ok((await readdir(out)).length < 200, 'stopped long before its end');
});

test('a results volume left behind is removed with the containers of its labels', async () => {
  const labels = { ...LABELS, 'pvhub.case': 'stale-volume' };
  await docker.createVolume({ Name: `pvhub-spec-stale-${process.pid}`, Labels: labels });
  assert.is(await volumesOf('stale-volume'), 1);
  await engine.removeContainers(labels);
  assert.is(await volumesOf('stale-volume'), 0);
});

test('the container has no network', async () => {
  const probe = `
import os, socket
print(sorted(os.listdir("/sys/class/net")))
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("connected")
except OSError as error:
    print("refused:", error)
`;
  const outcome = await engine.runContainer(spec('network', probe), new AbortController().signal);
  assert.match(outcome.output, "['lo']");
  assert.match(outcome.output, 'refused: [Errno 101] Network is unreachable');
});

test("a run given a hosts file has no network sandbox of the engine's: no resolver, its own hosts file, a loopback that works, no way out", async () => {
  const hostsFile = path.join(scratch, 'hosts');
  await writeFile(hostsFile, LOOPBACK_HOSTS);
  await chmod(hostsFile, 0o644);
  const probe = `
import json, os, socket
server = socket.socket()
server.bind(("localhost", 0))
server.listen()
socket.create_connection(server.getsockname(), timeout=3).close()
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    out = "connected"
except OSError as error:
    out = error.strerror
resolver = open("/etc/resolv.conf").read() if os.path.exists("/etc/resolv.conf") else ""
print(json.dumps([sorted(os.listdir("/sys/class/net")), open("/etc/hosts").read(), "nameserver" in resolver, out]))
`;
  const outcome = await engine.runContainer(spec('hosts', probe, { hostsFile }), new AbortController().signal);
  assert.is(outcome.exitCode, 0, outcome.output);
  assert.equal(JSON.parse(outcome.output), [['lo'], LOOPBACK_HOSTS, false, 'Network is unreachable']);
});

test('output beyond the cap is dropped from the middle and counted', async () => {
  // stdout and stderr reach the engine through separate pipes: only a pause orders them.
  const outcome = await engine.runContainer(
    spec(
      'cap',
      'import sys, time\nsys.stdout.write("START" + "x" * 200000 + "END")\nsys.stdout.flush()\ntime.sleep(0.3)\nsys.stderr.write("on stderr")',
      { outputCapBytes: 1000 },
    ),
    new AbortController().signal,
  );
  assert.is(outcome.exitCode, 0);
  assert.ok(outcome.outputTruncated);
  assert.ok(outcome.output.startsWith('START'));
  assert.match(outcome.output, /bytes of output dropped/);
  assert.ok(outcome.output.endsWith('ENDon stderr'), outcome.output.slice(-80));
  assert.ok(outcome.output.length < 1100, String(outcome.output.length));
});

test('the time limit kills the container, which is gone when the run settles', async () => {
  const started = Date.now();
  const outcome = await engine.runContainer(
    spec('timeout', 'import time\ntime.sleep(60)', { timeoutMs: 1500 }),
    new AbortController().signal,
  );
  assert.equal({ exitCode: outcome.exitCode, timedOut: outcome.timedOut }, { exitCode: null, timedOut: true });
  assert.ok(Date.now() - started < 15_000);
  assert.is(await containersOf('timeout'), 0);
});

test('a run started ahead of its turn waits for its go on stdin, and its clock and time limit start there', async () => {
  let ended = 0;
  const go = new Promise<void>((resolve) => setTimeout(resolve, 2_500));
  const outcome = await engine.runContainer(
    spec('turn', 'import sys\nprint("warm")\nprint(repr(sys.stdin.readline()))', {
      timeoutMs: 2_000,
      turn: { go, waitLimitMs: 60_000, ended: () => (ended += 1) },
    }),
    new AbortController().signal,
  );
  assert.equal({ exitCode: outcome.exitCode, timedOut: outcome.timedOut }, { exitCode: 0, timedOut: false });
  assert.is(outcome.output, "warm\n'go\\n'\n");
  assert.ok(outcome.durationMs < 2_000, `${outcome.durationMs} ms from the go`);
  assert.is(ended, 1, 'its end was told once, before the run settled');
  assert.is(await containersOf('turn'), 0);
});

test('a run aborted before its turn is removed, and its go never reaches it', async () => {
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 1_500);
  const failure = await rejection(
    engine.runContainer(
      spec('turn-aborted', 'import sys\nsys.stdin.readline()', {
        turn: { go: new Promise<void>(() => undefined), waitLimitMs: 60_000, ended: () => undefined },
      }),
      abort.signal,
    ),
  );
  assert.is(failure.name, 'AbortError');
  assert.is(await containersOf('turn-aborted'), 0);
});

test('the memory limit ends a container that exceeds it, and says so', async () => {
  const outcome = await engine.runContainer(
    spec('memory', 'block = b"x" * (400 * 1024 * 1024)', { memoryBytes: 128 * MIB }),
    new AbortController().signal,
  );
  assert.ok(outcome.oomKilled, JSON.stringify(outcome));
  assert.is.not(outcome.exitCode, 0);
});

test('an abort removes the container before the run rejects', async () => {
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 1000);
  const error = await rejection(engine.runContainer(spec('abort', 'import time\ntime.sleep(60)'), abort.signal));
  assert.is(error.name, 'AbortError');
  assert.is(await containersOf('abort'), 0);
  const early = await rejection(engine.runContainer(spec('abort', 'print(1)'), abort.signal));
  assert.is(early.name, 'AbortError');
  assert.is(await containersOf('abort'), 0);
});

test('a failing build step is op_2 with the build output, as plain text where the step wrote in colour', async () => {
  // As pip writes its ERROR lines in a terminal: red, then reset.
  const context = await contextWith(
    'failing',
    "FROM python:3.11-slim\nRUN printf '\\033[91mERROR: pvhub-build-marker\\033[0m\\n' && exit 7\n",
  );
  const error = await rejection(
    engine.buildImage(
      { tag: 'pvhub-spec-failing:latest', contextDir: context, labels: LABELS, timeoutMs: 60_000, maxSizeBytes: GIB },
      () => undefined,
    ),
  );
  assert.instance(error, WorkerError);
  assert.is((error as WorkerError).code, 'op_2');
  assert.match(error.message, 'ERROR: pvhub-build-marker');
  assert.not.match(error.message, '\x1b', 'no escape codes');
  assert.match(error.message, 'returned a non-zero code: 7');
  assert.not.ok(await engine.imageExists('pvhub-spec-failing:latest'));
});

test('an image over the size limit is op_2 and is removed', async () => {
  const context = await contextWith('big', 'FROM python:3.11-slim\nRUN head -c 8000000 /dev/urandom > /ballast\n');
  const error = await rejection(
    engine.buildImage(
      { tag: 'pvhub-spec-big:latest', contextDir: context, labels: LABELS, timeoutMs: 60_000, maxSizeBytes: 100 * MIB },
      () => undefined,
    ),
  );
  assert.is((error as WorkerError).code, 'op_2');
  assert.match(error.message, /over the limit of 104857600 bytes/);
  assert.not.ok(await engine.imageExists('pvhub-spec-big:latest'));
});

test('a build has no network', async () => {
  const context = await contextWith(
    'offline',
    'FROM python:3.11-slim\nRUN python -c "import socket; socket.create_connection((\'1.1.1.1\', 53), timeout=3)"\n',
  );
  const error = await rejection(
    engine.buildImage(
      { tag: 'pvhub-spec-offline:latest', contextDir: context, labels: LABELS, timeoutMs: 60_000, maxSizeBytes: GIB },
      () => undefined,
    ),
  );
  assert.is((error as WorkerError).code, 'op_2');
  assert.match(error.message, 'Network is unreachable');
});

test('a build past its time limit is op_2 and leaves no build container running', async () => {
  const context = await contextWith('slow', 'FROM python:3.11-slim\nRUN sleep 60 && echo pvhub-slow-build-marker\n');
  const error = await rejection(
    engine.buildImage(
      { tag: 'pvhub-spec-slow:latest', contextDir: context, labels: LABELS, timeoutMs: 3000, maxSizeBytes: GIB },
      () => undefined,
    ),
  );
  assert.is((error as WorkerError).code, 'op_2');
  assert.match(error.message, 'image build exceeded 3 s');
  let left = 1;
  for (let attempt = 0; attempt < 20 && left > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const all = await docker.listContainers({ all: true });
    left = all.filter((info) => info.Command.includes('pvhub-slow-build-marker')).length;
  }
  assert.is(left, 0);
});

test('images are listed by repository with their tags, and removed by id unless a container or another image uses them', async () => {
  const labels = { ...LABELS, 'pvhub.case': 'images' };
  const tags = ['a', 'b'].map((name) => `pvhub-spec-images:${name}`);
  for (const tag of tags) {
    const context = await contextWith(`images-${tag.slice(-1)}`, `FROM python:3.11-slim\nRUN echo ${tag} > /tag\n`);
    await engine.buildImage(
      { tag, contextDir: context, labels, timeoutMs: 60_000, maxSizeBytes: GIB },
      () => undefined,
    );
  }
  await engine.tagImage(tags[0] as string, 'pvhub-spec-images:a-too');
  const child = await contextWith('images-child', `FROM ${tags[1]}\nRUN echo child > /child\n`);
  await engine.buildImage(
    { tag: 'pvhub-spec-images-child:c', contextDir: child, labels, timeoutMs: 60_000, maxSizeBytes: GIB },
    () => undefined,
  );
  const user = await docker.createContainer({
    Image: tags[0],
    Cmd: ['true'],
    Labels: labels,
  });
  try {
    const listed = await engine.listImages(['pvhub-spec-images']);
    const a = listed.find((image) => image.tags.includes(tags[0] as string));
    const b = listed.find((image) => image.tags.includes(tags[1] as string));
    assert.equal([...(a?.tags ?? [])].sort(), ['pvhub-spec-images:a', 'pvhub-spec-images:a-too']);
    assert.is(listed.length, 2, 'the child is in another repository');
    assert.ok((b?.sizeBytes ?? 0) > 100 * 1024 ** 2 && b?.labels['pvhub.spec'] === 'docker-engine');
    assert.is(await engine.removeImage(a?.id ?? ''), false, 'a container uses it');
    assert.ok(await engine.imageExists('pvhub-spec-images:a-too'), 'its tags are given back');
    assert.ok(await engine.imageExists(tags[0] as string));
    assert.is(await engine.removeImage(b?.id ?? ''), false, 'an image is built on it');
    assert.ok(await engine.imageExists(tags[1] as string));
    await user.remove({ force: true });
    assert.ok(await engine.removeImage(a?.id ?? ''), 'two tags, no user');
    assert.not.ok(await engine.imageExists('pvhub-spec-images:a-too'));
    await engine.removeImages(labels);
    assert.is(await engine.removeImage(b?.id ?? ''), false, 'gone with its child, as its labels say');
    assert.not.ok(await engine.imageExists('pvhub-spec-images-child:c'));
  } finally {
    await user.remove({ force: true }).catch(() => undefined);
    await engine.removeImages(labels);
  }
});

test('a run that exits 0 is committed: what it wrote, started as its image starts, with its labels; a failed one is not', async () => {
  const labels = { ...LABELS, 'pvhub.case': 'commit' };
  const base = 'python:3.11-slim';
  const spec = {
    image: base,
    mounts: [],
    memoryBytes: 256 * 1024 ** 2,
    nanoCpus: 1e9,
    pidsLimit: 64,
    outputCapBytes: 65_536,
    timeoutMs: 60_000,
    user: '0:0',
    labels,
  };
  const tag = 'pvhub-spec-commit:ok';
  const failed = await engine.runAndCommit(
    { ...spec, command: ['sh', '-c', 'echo half > /half && exit 3'] },
    { tag: 'pvhub-spec-commit:failed', maxSizeBytes: GIB },
    new AbortController().signal,
  );
  assert.is(failed.exitCode, 3);
  assert.is(failed.image, undefined);
  assert.not.ok(await engine.imageExists('pvhub-spec-commit:failed'));
  const done = await engine.runAndCommit(
    { ...spec, command: ['sh', '-c', 'echo made > /made'] },
    { tag, maxSizeBytes: GIB },
    new AbortController().signal,
  );
  try {
    assert.is(done.exitCode, 0, done.output);
    assert.is(done.image, await engine.imageId(tag));
    const committed = await docker.getImage(tag).inspect();
    const original = await docker.getImage(base).inspect();
    assert.equal(committed.Config.Cmd, original.Config.Cmd, 'not the command that made it');
    assert.equal(committed.Config.Env, original.Config.Env);
    assert.is(committed.Config.Labels['pvhub.spec'], 'docker-engine');
    const read = await engine.runContainer(
      { ...spec, image: tag, command: ['cat', '/made'], user: '10001:10001' },
      new AbortController().signal,
    );
    assert.is(read.output.trim(), 'made');
    const left = await docker.listContainers({ all: true, filters: { label: ['pvhub.case=commit'] } });
    assert.is(left.length, 0, 'the runs are removed');
    const small = await rejection(
      engine.runAndCommit(
        { ...spec, command: ['true'] },
        { tag: 'pvhub-spec-commit:small', maxSizeBytes: 1024 },
        new AbortController().signal,
      ),
    );
    assert.match(small.message, /over the limit of 1024 bytes/);
    assert.not.ok(await engine.imageExists('pvhub-spec-commit:small'));
  } finally {
    await engine.removeImages(labels);
  }
});

test('leftover containers are removed by label', async () => {
  const labels = { ...LABELS, 'pvhub.case': 'leftover' };
  for (let i = 0; i < 2; i++) {
    const container = await docker.createContainer({ Image: IMAGE, Cmd: ['sleep', '60'], Labels: labels });
    await container.start();
  }
  assert.is(await engine.removeContainers(labels), 2);
  assert.is(await containersOf('leftover'), 0);
  await rejection(engine.removeContainers({})).then((error) => assert.match(error.message, 'at least one label'));
});

test.run();
