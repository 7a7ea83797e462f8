import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../domain/errors.js';
import { parseRequirements, pipErrorSummary, requirementWithoutWheel } from '../../domain/requirements.js';
import { downloadWheels, type HostPipOptions, resolutionError, runHostPython } from './host-pip.js';
import type { SourceBuilder } from './source-build.js';
import { builtWheel } from './wheel-checks.js';

const FETCH_SDIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../container/fetch_sdist.py');
/** fetch_sdist.py's exit status when the index does not answer: the worker's problem, not the submission's. */
const FETCH_UNREACHABLE = 4;
/** What pvhub_wrapper.py imports. Unpinned, so a version the submission pins is the one installed. */
const WRAPPER_REQUIREMENTS = ['pandas', 'numpy'];
/** Requirements of one submission that may be built from source; past that the set is not closing. */
const MAX_SOURCE_BUILDS = 10;

export interface ResolveOptions extends HostPipOptions {
  /** Called only for a requirement that has no wheel for the target python. */
  readonly buildFromSource: SourceBuilder;
  readonly signal: AbortSignal;
}

interface FetchedSource {
  readonly file: string;
  readonly name: string;
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
  options.onLog(`no wheel of ${requirement} for python ${options.pythonVersion}: building it from source in a sandbox`);
  const fetched = await runHostPython(
    options.hostPython,
    [FETCH_SDIST, requirement, options.pythonVersion, sdistDir],
    options.workDir,
    () => undefined,
    {},
    options.signal,
  );
  const why = fetched.output.trim().split('\n').pop() ?? '';
  if (fetched.status === FETCH_UNREACHABLE)
    throw new WorkerError('wr_500', `the package index cannot be reached: ${why}`);
  if (fetched.status !== 0) {
    throw new WorkerError(
      'op_2',
      `requirement ${requirement} cannot be installed: the package index has no wheel of it for python ${options.pythonVersion} on Linux, and ${why}`,
    );
  }
  const source = JSON.parse(fetched.stdout.trim().split('\n').pop() ?? '{}') as FetchedSource;
  // The archive's own words: only named requirements reach host pip, as for requirements.txt (a URL would be built
  // on this host whatever --only-binary says).
  const buildRequires = parseRequirements(source.build_requires.join('\n'), `${requirement}'s [build-system] requires`);
  const buildRequirements = await downloadWheels(options, buildRequires, buildWheelhouse, [builtDir]);
  if (buildRequirements.status !== 0) {
    throw new WorkerError(
      'op_2',
      `requirement ${requirement} has no wheel, and the build requirements of its source (${source.build_requires.join(', ')}) cannot be resolved: ${pipErrorSummary(buildRequirements.output)}`,
    );
  }
  await options.buildFromSource({ requirement, archive: source.file, buildWheelhouse, outDir, signal: options.signal });
  const wheel = await builtWheel(outDir, source.name, requirement);
  await copyFile(wheel, path.join(builtDir, path.basename(wheel)));
}

/**
 * Resolves the requirements and the wrapper's to wheels in the wheelhouse. A requirement with no wheel for the
 * target python is built from source in the sandbox, then resolution starts again with that wheel offered, so its
 * own dependencies (read from the built wheel's metadata) are fetched in turn, until the set is closed.
 */
export async function resolveWheels(
  options: ResolveOptions,
  requirements: readonly string[],
  wheelhouse: string,
): Promise<void> {
  const builtDir = path.join(options.workDir, 'built-wheels');
  await mkdir(builtDir, { recursive: true });
  const builtFromSource = new Set<string>();
  for (;;) {
    const result = await downloadWheels(options, [...requirements, ...WRAPPER_REQUIREMENTS], wheelhouse, [builtDir]);
    if (result.status === 0) return;
    const missing = requirementWithoutWheel(result.output);
    // A second miss of the same requirement means its built wheel does not satisfy it: building again will not help.
    if (
      missing === undefined ||
      result.status === null ||
      builtFromSource.has(missing) ||
      builtFromSource.size >= MAX_SOURCE_BUILDS
    ) {
      throw resolutionError(result, options.pythonVersion);
    }
    builtFromSource.add(missing);
    await wheelFromSource(options, missing, builtDir, builtFromSource.size);
  }
}
