import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import * as assert from 'uvu/assert';
import { DockerEngine } from '../../src/adapters/docker-engine.js';
import { sandboxedSourceBuild, type SourceBuild } from '../../src/adapters/images/source-build.js';
import { loadConfig } from '../../src/config.js';
import { WorkerError } from '../../src/domain/errors.js';
import { sandboxLimits } from '../../src/domain/sandbox.js';
import type { ImageBuilder } from '../../src/ports/image-builder.js';

export const GIB = 1024 ** 3;
/** Not pvhub.managed: a worker started meanwhile (another spec) removes every container so labelled. */
export const SPEC_LABELS = { 'pvhub.spec': 'images' };
export const SUBMISSION_CODE = 'from helpers.scale import scale\ndef f(ts):\n    return scale(ts)\n';

/** A submission folder in `dir` with a nested package, and a requirements.txt unless `requirements` is undefined. */
export async function writeSubmission(
  dir: string,
  requirements: string | undefined,
  code = SUBMISSION_CODE,
): Promise<string> {
  await mkdir(path.join(dir, 'helpers'), { recursive: true });
  await writeFile(path.join(dir, 'submission_wrapper.py'), code);
  await writeFile(path.join(dir, 'helpers/scale.py'), 'def scale(ts):\n    return ts * 2\n');
  if (requirements !== undefined) await writeFile(path.join(dir, 'requirements.txt'), requirements);
  return dir;
}

/** Where a spec expects every requirement to have a wheel: a source build is a failure of the spec. */
export async function noSourceBuild(build: SourceBuild): Promise<void> {
  throw new Error(`unexpected source build of ${build.requirement}`);
}

/** The real sandbox on the engine, 1 GiB, with these labels on its containers (to find leftovers). */
export function sandboxWith(
  labels: Readonly<Record<string, string>> = { 'pvhub.managed': 'true', 'pvhub.spec': 'source-build' },
  env: Record<string, string> = {},
) {
  return sandboxedSourceBuild({
    engine: new DockerEngine(),
    limits: loadConfig({ PVHUB_CONTAINER_MEMORY: '1g', ...env }).limits,
    pythonVersion: '3.11',
    labels,
  });
}

/** The WorkerError the action rejects (or throws) with; anything else fails the spec. */
export async function workerError(action: () => unknown): Promise<WorkerError> {
  try {
    await action();
  } catch (error) {
    assert.instance(error, WorkerError);
    return error as WorkerError;
  }
  throw new Error('expected a WorkerError');
}

/** Builds (or reuses) the image of a submission with these requirements and imports `modules` in it, printing each version. */
export async function buildAndImport(
  builder: ImageBuilder,
  scratch: string,
  pythonVersion: string,
  requirements: string,
  modules: readonly string[],
): Promise<string> {
  const dir = path.join(scratch, `${pythonVersion}-${modules.join('-')}`);
  const submissionDir = await writeSubmission(
    path.join(dir, 'submission'),
    requirements,
    `import ${modules.join(', ')}\n`,
  );
  await mkdir(path.join(dir, 'build'), { recursive: true });
  const { tag } = await builder.submissionImage({
    submissionDir,
    pythonVersion,
    workDir: path.join(dir, 'build'),
    labels: SPEC_LABELS,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
  const code = `import importlib, sys\nprint(sys.version)\nfor name in ${JSON.stringify(modules)}:\n    module = importlib.import_module(name)\n    print(name, getattr(module, "__version__", "?"))\n`;
  const limits = loadConfig({ PVHUB_CONTAINER_MEMORY: '2g' }).limits;
  const outcome = await new DockerEngine().runContainer(
    {
      image: tag,
      command: ['python', '-c', code],
      mounts: [],
      ...sandboxLimits(limits),
      timeoutMs: 120_000,
      labels: SPEC_LABELS,
    },
    new AbortController().signal,
  );
  assert.is(outcome.exitCode, 0, outcome.output);
  return outcome.output;
}
