/**
 * Section 3 of bench/run.ts, the cost of one container: DockerEngine.runContainer of `python -c pass`, one after
 * another and two at once. BENCH_CONTAINERS (default 6) containers per batch.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { loadConfig } from '../src/config.js';
import { RUNNER_USER } from '../src/domain/sandbox.js';
import type { ContainerRunSpec } from '../src/ports/container-engine.js';
import { alternating, median, positiveInt, round } from './common.js';
import { progress, REPEATS } from './process.js';

const BASE_IMAGE = 'python:3.11-slim';
const CONTAINERS_PER_BATCH = positiveInt(process.env['BENCH_CONTAINERS'], 6);

export async function benchContainers(tmp: string) {
  const config = loadConfig({ ...process.env, PVHUB_CONTAINER_MEMORY: '1g' });
  const engine = new DockerEngine();
  if (!(await engine.imageExists(BASE_IMAGE))) throw new Error(`${BASE_IMAGE} is missing: run bash scripts/setup.sh`);
  const labels = { 'pvhub.bench': String(process.pid) };
  let counter = 0;
  /** Folders as run-file.ts prepares them (read-only data, writable results), made before the clock starts. */
  const prepare = async (): Promise<ContainerRunSpec> => {
    const dir = path.join(tmp, 'containers', String(counter++));
    const data = path.join(dir, 'data');
    const results = path.join(dir, 'results');
    await mkdir(data, { recursive: true });
    await mkdir(results, { recursive: true });
    await chmod(results, 0o777);
    await writeFile(path.join(data, 'series.csv'), ',0\n2015-01-01,0\n');
    return {
      image: BASE_IMAGE,
      command: ['python', '-c', 'pass'],
      mounts: [
        { hostPath: data, containerPath: '/data', readOnly: true },
        { hostPath: results, containerPath: '/results', readOnly: false },
      ],
      memoryBytes: config.limits.containerMemoryBytes,
      nanoCpus: config.limits.containerNanoCpus,
      pidsLimit: config.limits.containerPidsLimit,
      timeoutMs: 60_000,
      labels,
      outputCapBytes: config.limits.outputCapBytes,
      resultsCapBytes: config.limits.resultsCapBytes,
      user: RUNNER_USER,
    };
  };
  const runOne = async (spec: ContainerRunSpec) => {
    const outcome = await engine.runContainer(spec, new AbortController().signal);
    if (outcome.exitCode !== 0) throw new Error(`python -c pass exited ${outcome.exitCode}: ${outcome.output}`);
  };
  /** Wall seconds per container for a batch run with this many lanes. */
  const batch = async (lanes: number): Promise<number> => {
    const specs = await Promise.all(Array.from({ length: CONTAINERS_PER_BATCH }, prepare));
    const queue = [...specs];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) await runOne(spec);
      }),
    );
    return (performance.now() - started) / 1000 / CONTAINERS_PER_BATCH;
  };
  try {
    progress('containers: warm-up');
    await runOne(await prepare());
    const perContainer: Record<1 | 2, number[]> = { 1: [], 2: [] };
    for (const lanes of alternating<1 | 2>([1, 2], REPEATS)) {
      const value = await batch(lanes);
      progress(`containers: ${lanes === 1 ? 'sequential' : 'two at once'} ${round(value)} s per container`);
      perContainer[lanes].push(round(value));
    }
    const sequential = round(median(perContainer[1]));
    const twoAtOnce = round(median(perContainer[2]));
    return {
      description:
        `DockerEngine.runContainer (create, attach, start, wait, inspect, force-remove) of \`python -c pass\` in ${BASE_IMAGE} ` +
        "with the worker's hardening (no network, all capabilities dropped, read-only root, tmpfs /tmp, memory 1g, " +
        `CPU and pids limits, ulimits, uid ${RUNNER_USER}, results watch) and two bind mounts as run-file.ts makes them; ` +
        `batches of ${CONTAINERS_PER_BATCH} containers, wall seconds per container, one after another vs two at once.`,
      containersPerBatch: CONTAINERS_PER_BATCH,
      repeats: REPEATS,
      values: {
        sequentialSecondsPerContainer: perContainer[1],
        twoAtOnceSecondsPerContainer: perContainer[2],
        medianSequentialSecondsPerContainer: sequential,
        medianTwoAtOnceSecondsPerContainer: twoAtOnce,
        architectureFigures: {
          bindMountsSequential: 0.5,
          bindMountsTwoAtOnce: 0.4,
          source: '/work/shared/design/architecture.md',
        },
      },
      ratios: {
        twoAtOnceOverSequential: round(twoAtOnce / sequential),
        sequentialOverArchitecture: round(sequential / 0.5),
        twoAtOnceOverArchitecture: round(twoAtOnce / 0.4),
      },
    };
  } finally {
    await engine.removeContainers(labels);
  }
}
