import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { WorkerError } from '../../domain/errors.js';
import type { ResourceLimits } from '../../domain/limits.js';
import { MANAGED_LABELS } from '../../domain/ownership.js';
import { plainText } from '../../domain/plain-text.js';
import { sandboxLimits } from '../../domain/sandbox.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import { hashField } from './recipes.js';
import type { RuntimeImage } from './runtime-image.js';
import { checkUnpackedSize } from './wheel-checks.js';
import { targetPlatform } from './wheel-download.js';
import { downloadSet, resolveSet, type ResolveOptions, WRAPPER_REQUIREMENTS } from './wheel-resolution.js';

/**
 * Where dependencies images are tagged: `set-<hash>` by the pins they hold, and `requirements-<hash>` by each
 * requirement text that resolved to them (the cache of resolutions: a text seen before is not resolved again).
 */
export const DEPENDENCIES_IMAGE_REPOSITORY = 'pvhub-deps';
/** On a submission image: the id of the dependencies image it is built on (the cache's pruning reads it). */
export const DEPENDENCIES_IMAGE_LABEL = 'pvhub.dependencies-image';
/** An empty folder of every base: the wheelhouse mounted there leaves no mount point in the committed image. */
const WHEELHOUSE_MOUNT = '/mnt';
const ROOT_USER = '0:0';
const OUTPUT_TAIL_CHARS = 1500;

/** pip in the install container: the wheelhouse's wheels only, no index, nothing cached in the image. */
export function installCommand(wheels: readonly string[]): string[] {
  return [
    'python',
    '-m',
    'pip',
    'install',
    '--no-index',
    '--find-links',
    WHEELHOUSE_MOUNT,
    '--ignore-installed',
    '--no-cache-dir',
    '--disable-pip-version-check',
    '--no-warn-script-location',
    ...wheels.map((wheel) => `${WHEELHOUSE_MOUNT}/${wheel}`),
  ];
}

export interface DependenciesImageOptions {
  readonly engine: ContainerEngine;
  /** The install container's limits, the image size limit, and the install's time limit (the build time limit). */
  readonly limits: ResourceLimits;
  readonly runtime: RuntimeImage;
  /** The submission's requirements as the worker parsed them (requirements.txt, written back line by line). */
  readonly requirements: readonly string[];
  /** How the set is resolved and its wheels fetched: the target python, the build's folder, source builds. */
  readonly resolution: ResolveOptions;
  readonly log: Logger;
}

export interface DependenciesImage {
  readonly id: string;
  readonly tag: string;
  /** Made for an earlier submission; false when this call made it. */
  readonly reused: boolean;
  /** Whether the requirements were resolved; false when the same text had been resolved to this image before. */
  readonly resolved: boolean;
}

/** `<repository>:<kind>-<hash>` of the lines, for this Python, platform, runtime image and install command. */
function dependenciesTag(kind: 'requirements' | 'set', lines: readonly string[], options: DependenciesImageOptions) {
  const { pythonVersion } = options.resolution;
  const target = targetPlatform(pythonVersion);
  const hash = createHash('sha256');
  hashField(hash, 'kind', kind);
  hashField(hash, 'python', pythonVersion);
  hashField(hash, 'platform', `${target.machine}-glibc_2_${target.glibcMinor}`);
  hashField(hash, 'runtime', options.runtime.id);
  hashField(hash, 'install', JSON.stringify(installCommand([])));
  for (const line of [...lines].sort()) hashField(hash, 'line', line);
  return `${DEPENDENCIES_IMAGE_REPOSITORY}:${kind}-${hash.digest('hex').slice(0, 32)}`;
}

/**
 * Installs the wheelhouse on the runtime image in a container, and commits it as `tag`: no network, no
 * capabilities, the job's memory, CPU and pid limits, the build time limit. Root (the install writes /usr/local),
 * but pip only unpacks wheels: no code of theirs runs. The container carries the image's labels, as the engine gives
 * them to the committed image; it names no owner, so one its worker left is removed once no worker can still run it.
 */
async function install(options: DependenciesImageOptions, wheelhouse: string, tag: string): Promise<string> {
  const { engine, limits, runtime } = options;
  const wheels = (await readdir(wheelhouse)).filter((name) => name.endsWith('.whl')).sort();
  // Root without capabilities reads only what others may read: the worker's umask or uid must not decide.
  await chmod(wheelhouse, 0o755);
  for (const wheel of wheels) await chmod(path.join(wheelhouse, wheel), 0o644);
  const { memoryBytes, nanoCpus, pidsLimit, outputCapBytes } = sandboxLimits(limits);
  const outcome = await engine.runAndCommit(
    {
      image: runtime.tag,
      command: installCommand(wheels),
      mounts: [{ hostPath: wheelhouse, containerPath: WHEELHOUSE_MOUNT, readOnly: true }],
      memoryBytes,
      nanoCpus,
      pidsLimit,
      outputCapBytes,
      user: ROOT_USER,
      timeoutMs: limits.buildTimeLimitMs,
      labels: { ...MANAGED_LABELS, 'pvhub.dependencies': tag },
    },
    { tag, maxSizeBytes: limits.imageSizeLimitBytes },
    options.resolution.signal,
  );
  const tail = plainText(outcome.output)
    .trim()
    .slice(-OUTPUT_TAIL_CHARS)
    .replace(/\s*\n\s*/g, ' | ');
  const failure = (why: string) => new WorkerError('op_2', `the requirements cannot be installed: ${why}`);
  if (outcome.timedOut) throw failure(`installing them took over ${limits.buildTimeLimitMs / 1000} s`);
  if (outcome.oomKilled) throw failure(`pip ran out of memory (limit ${limits.containerMemoryBytes} bytes)`);
  if (outcome.exitCode !== 0 || outcome.image === undefined)
    throw failure(`pip install failed (exit ${outcome.exitCode}): ${tail}`);
  return outcome.image;
}

/**
 * The image of the submission's requirement set, made once per set and reused by every submission with it: a
 * requirement text seen before goes straight to its image; another is resolved, and its pins find an image made for
 * another text, or one is made (wheels fetched and checked, installed with no network, committed).
 */
export async function dependenciesImage(options: DependenciesImageOptions): Promise<DependenciesImage> {
  const { engine, log } = options;
  const byRequirements = dependenciesTag('requirements', [...options.requirements, ...WRAPPER_REQUIREMENTS], options);
  const known = await engine.imageId(byRequirements);
  if (known !== undefined) {
    log.info({ image: byRequirements }, 'dependencies image reused: the same requirements were resolved before');
    return { id: known, tag: byRequirements, reused: true, resolved: false };
  }
  const set = await resolveSet(options.resolution, options.requirements);
  const bySet = dependenciesTag('set', set.resolved.pins, options);
  const made = await engine.imageId(bySet);
  let id = made;
  if (id === undefined) {
    const started = Date.now();
    const wheelhouse = path.join(options.resolution.workDir, 'wheelhouse');
    await mkdir(wheelhouse, { recursive: true });
    await downloadSet(options.resolution, set, wheelhouse);
    await checkUnpackedSize(wheelhouse, options.limits.imageSizeLimitBytes);
    id = await install(options, wheelhouse, bySet);
    log.info({ image: bySet, seconds: (Date.now() - started) / 1000 }, 'dependencies image made');
  } else log.info({ image: bySet }, 'dependencies image reused: the requirements resolve to the same pins');
  await engine.tagImage(id, byRequirements);
  return { id, tag: bySet, reused: made !== undefined, resolved: true };
}
