import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../domain/errors.js';
import { plainText } from '../../domain/plain-text.js';
import { parseRequirements } from '../../domain/requirements.js';
import { runHostProcess } from './host-process.js';
import { type BuiltWheelCache, type BuiltWheelKey, sha256File } from './built-wheel-cache.js';
import type { SourceBuilder } from './source-build.js';
import {
  downloadResolved,
  fetchWheels,
  type ResolvedPins,
  resolveRequirements,
  targetPlatform,
  type WheelOptions,
} from './wheel-download.js';
import { builtWheel } from './wheel-checks.js';

const FETCH_SDIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../container/fetch_sdist.py');
/** fetch_sdist.py's exit status when the index does not answer: the worker's problem, not the submission's. */
const FETCH_UNREACHABLE = 4;
/** What the wrapper's call (container/pvhub_call.py) imports. Unpinned, so a version the submission pins is the one installed. */
export const WRAPPER_REQUIREMENTS = ['pandas', 'numpy'];
/** Requirements of one submission that may be built from source; past that the set is not closing. */
const MAX_SOURCE_BUILDS = 10;

export interface ResolveOptions extends WheelOptions {
  /** Called only for a requirement that has no wheel for the target python. */
  readonly buildFromSource: SourceBuilder;
  /** Where wheels built from source are kept and looked for before a build; none, each is built every time. */
  readonly wheelCache?: BuiltWheelCache;
  readonly signal: AbortSignal;
}

interface FetchedSource {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly build_requires: readonly string[];
}

/**
 * Makes a wheel of a requirement that has none for the target python: its source distribution is fetched as data
 * (container/fetch_sdist.py, which runs none of its code), its build requirements are resolved to wheels like any
 * other, and the sandbox builds it. The wheel lands in builtDir.
 */
async function wheelFromSource(
  options: ResolveOptions,
  requirement: string,
  builtDir: string,
  index: number,
): Promise<void> {
  const dir = path.join(options.workDir, 'sources', String(index));
  const sdistDir = path.join(dir, 'sdist');
  const buildWheelhouse = path.join(dir, 'build-wheels');
  const outDir = path.join(dir, 'out');
  await mkdir(buildWheelhouse, { recursive: true });
  await mkdir(outDir);
  const fetched = await runHostProcess(
    options.hostPython,
    [FETCH_SDIST, requirement, options.pythonVersion, sdistDir],
    options.workDir,
    () => undefined,
    {},
    options.signal,
  );
  const why = plainText(fetched.output).trim().split('\n').pop() ?? '';
  if (fetched.status === FETCH_UNREACHABLE)
    throw new WorkerError('wr_500', `the package index cannot be reached: ${why}`);
  if (fetched.status !== 0) {
    throw new WorkerError(
      'op_2',
      `requirement ${requirement} cannot be installed: the package index has no wheel of it for python ${options.pythonVersion} on Linux, and ${why}`,
    );
  }
  const source = JSON.parse(fetched.stdout.trim().split('\n').pop() ?? '{}') as FetchedSource;
  const key: BuiltWheelKey = {
    project: source.name,
    version: source.version,
    sdistSha256: await sha256File(source.file),
    target: { pythonVersion: options.pythonVersion, ...targetPlatform(options.pythonVersion) },
  };
  const cached = await options.wheelCache?.take(key, builtDir);
  if (cached !== undefined) {
    options.onLog(
      `no wheel of ${requirement} for python ${options.pythonVersion} on the index: ${path.basename(cached)}, built here before from the same ${path.basename(source.file)}, is taken from the wheel cache`,
    );
    return;
  }
  options.onLog(`no wheel of ${requirement} for python ${options.pythonVersion}: building it from source in a sandbox`);
  // The archive's own words: only named requirements reach host pip, as for requirements.txt (a URL would be built
  // on this host whatever --only-binary says).
  const buildRequires = parseRequirements(source.build_requires.join('\n'), `${requirement}'s [build-system] requires`);
  // Resolved for the target python too: the build runs there, and build requirements often carry markers.
  const shortfall = await fetchWheels(options, buildRequires, buildWheelhouse, [builtDir]);
  if (shortfall !== undefined) {
    if (shortfall.error.code !== 'op_2') throw shortfall.error;
    throw new WorkerError(
      'op_2',
      `requirement ${requirement} has no wheel, and the build requirements of its source (${source.build_requires.join(', ')}) cannot be resolved: ${shortfall.error.message}`,
    );
  }
  await options.buildFromSource({ requirement, archive: source.file, buildWheelhouse, outDir, signal: options.signal });
  const wheel = await builtWheel(outDir, source.name, requirement);
  await copyFile(wheel, path.join(builtDir, path.basename(wheel)));
  await options.wheelCache?.keep(key, wheel);
}

/** The closed resolution of a submission's requirements: the pins, and the folder of wheels built here it needs. */
export interface ResolvedSet {
  readonly resolved: ResolvedPins;
  readonly builtDir: string;
}

/**
 * Pins the requirements and the wrapper's for the target python. A requirement with no wheel for it is built from
 * source in the sandbox, then resolution starts again with that wheel offered, so its own dependencies (read from
 * the built wheel's metadata) are pinned in turn, until the set is closed.
 */
export async function resolveSet(options: ResolveOptions, requirements: readonly string[]): Promise<ResolvedSet> {
  const builtDir = path.join(options.workDir, 'built-wheels');
  await mkdir(builtDir, { recursive: true });
  const builtFromSource = new Set<string>();
  for (;;) {
    const resolved = await resolveRequirements(options, [...requirements, ...WRAPPER_REQUIREMENTS], [builtDir]);
    if (!('error' in resolved)) return { resolved, builtDir };
    const missing = resolved.withoutWheel;
    // A second miss of the same requirement means its built wheel does not satisfy it: building again will not help.
    if (missing === undefined || builtFromSource.has(missing) || builtFromSource.size >= MAX_SOURCE_BUILDS)
      throw resolved.error;
    builtFromSource.add(missing);
    await wheelFromSource(options, missing, builtDir, builtFromSource.size);
  }
}

/** The wheels of a resolved set into the wheelhouse: from the index, and those built here. */
export function downloadSet(options: ResolveOptions, set: ResolvedSet, wheelhouse: string): Promise<void> {
  return downloadResolved(options, set.resolved, wheelhouse, [set.builtDir]);
}
