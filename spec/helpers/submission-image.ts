import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { DockerImageBuilder } from '../../src/adapters/images/docker-image-builder.js';
import type { DockerEngine } from '../../src/adapters/docker-engine.js';
import { loadConfig } from '../../src/config.js';
import type { FileTask } from '../../src/domain/file-run.js';
import { sandboxLimits } from '../../src/domain/sandbox.js';
import { turnWaitLimitMs, wrapperCommand } from '../../src/operators/run-file.js';
import type { ContainerOutcome } from '../../src/ports/container-engine.js';
import { HOST_PYTHON } from './cli.js';

/**
 * Builds the image of a submission made of `files` (path → content) on python 3.11 as the worker does (its
 * dependencies image made or reused); returns its tag. The caller removes the submission images by `labels`.
 */
export async function buildSubmissionImage(
  engine: DockerEngine,
  workDir: string,
  files: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): Promise<string> {
  const submission = path.join(workDir, 'submission');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(submission, name)), { recursive: true });
    await writeFile(path.join(submission, name), content);
  }
  const buildDir = path.join(workDir, 'build');
  await mkdir(buildDir, { recursive: true });
  const builder = new DockerImageBuilder({
    engine,
    limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '1g' }).limits,
    hostPython: HOST_PYTHON,
    baseImageRepository: 'python',
  });
  const image = await builder.submissionImage({
    submissionDir: submission,
    pythonVersion: '3.11',
    workDir: buildDir,
    labels,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
  return image.tag;
}

export interface ContainerRun {
  readonly outcome: ContainerOutcome;
  /** status.json as the engine copied it out of the container's results, parsed, or undefined. */
  readonly report: Record<string, unknown> | undefined;
  readonly output: string | undefined;
}

/**
 * Runs the wrapper in the image on one data file as src/operators/run-file.ts does (command, mounts, its go on stdin,
 * sandbox limits of a worker configured with a 512 MiB container and `timeLimitSeconds` per file), except that the engine stops
 * the container only after `engineTimeoutMs`: a worker that may never stop it.
 */
export async function runWrapper(
  engine: DockerEngine,
  tag: string,
  run: {
    readonly dir: string;
    readonly functionName: string;
    readonly task: FileTask;
    readonly csv: string;
    readonly labels: Readonly<Record<string, string>>;
  },
  timing: { readonly timeLimitSeconds: number; readonly engineTimeoutMs: number },
): Promise<ContainerRun> {
  const { limits } = loadConfig({
    PVHUB_CONTAINER_MEMORY: '512m',
    PVHUB_CONTAINER_PIDS: '64',
    PVHUB_FILE_TIME_LIMIT: String(timing.timeLimitSeconds),
  });
  const dataDir = path.join(run.dir, 'data');
  const resultsDir = path.join(run.dir, 'results');
  await mkdir(dataDir, { recursive: true });
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(dataDir, run.task.metadata.file_name), run.csv);
  const outcome = await engine.runContainer(
    {
      image: tag,
      command: wrapperCommand(run.functionName, run.task, limits),
      mounts: [{ hostPath: dataDir, containerPath: '/data', readOnly: true }],
      results: {
        containerPath: '/results',
        capBytes: limits.resultsCapBytes,
        collect: ['output.csv', 'status.json'],
        hostDir: resultsDir,
      },
      ...sandboxLimits(limits),
      timeoutMs: timing.engineTimeoutMs,
      labels: run.labels,
      // Its turn at once: the data file is in place.
      turn: { go: Promise.resolve(), waitLimitMs: turnWaitLimitMs(limits), ended: () => undefined },
    },
    new AbortController().signal,
  );
  const report = await readFile(path.join(resultsDir, 'status.json'), 'utf8').then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => undefined,
  );
  const output = await readFile(path.join(resultsDir, 'output.csv'), 'utf8').catch(() => undefined);
  return { outcome, report, output };
}
