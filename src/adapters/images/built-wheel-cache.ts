import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalName } from '../../domain/requirements.js';
import { parseWheelName, type WheelTarget, wheelFits } from '../../domain/wheel-tags.js';
import type { ObjectStore } from '../../ports/object-store.js';
import { directReferences } from './wheel-checks.js';

/** What makes two source builds the same build: the very archive (a re-uploaded sdist differs), for this target. */
export interface BuiltWheelKey {
  readonly project: string;
  readonly version: string;
  readonly sdistSha256: string;
  /** Python and platform: the wheel's own tags must fit them, and the glibc (no tag of a linux_ wheel says it) too. */
  readonly target: WheelTarget;
}

/** Wheels built here from source, kept so the same archive is built once for the same target. */
export interface BuiltWheelCache {
  /** A wheel built before for the key, copied into destDir (its path); undefined when none is there or it is unreadable. */
  take(key: BuiltWheelKey, destDir: string): Promise<string | undefined>;
  /** Keeps a wheel just built and checked; a failure to keep it is logged, never thrown: the job has its wheel. */
  keep(key: BuiltWheelKey, wheel: string): Promise<void>;
}

export interface BuiltWheelCacheOptions {
  /** A folder that survives the worker (under its work folder), shared by the workers of this host. */
  readonly dir: string;
  /** Optionally a bucket prefix where a fleet shares them (config PVHUB_WHEEL_CACHE_PREFIX). */
  readonly bucket?: { readonly store: ObjectStore; readonly prefix: string };
  readonly onWarning: (message: string) => void;
}

const DIGEST_SUFFIX = '.sha256';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `<machine>-glibc_2_<n>/<project>/<version>/<sdist sha256>`: a path of the folder and a key of the bucket alike. */
function entryPath({ project, version, sdistSha256, target }: BuiltWheelKey): string {
  const safe = (part: string) => part.replace(/[^A-Za-z0-9._+!-]/g, '_');
  return [`${target.machine}-glibc_2_${target.glibcMinor}`, canonicalName(project), version, sdistSha256]
    .map(safe)
    .join('/');
}

/** The wheel file names among `names` that are of the key's project and version and fit its target. */
function fittingWheels(names: readonly string[], key: BuiltWheelKey): string[] {
  return names.filter((name) => {
    const wheel = parseWheelName(name);
    return (
      wheel !== undefined &&
      wheel.project === canonicalName(key.project) &&
      wheel.version === key.version &&
      wheel.pythonTags.length > 0 &&
      wheelFits(wheel, key.target) &&
      names.includes(`${name}${DIGEST_SUFFIX}`)
    );
  });
}

/** Written under a temporary name and renamed: a reader on this host sees the whole file or none. */
async function placeAtomically(dir: string, name: string, write: (temporary: string) => Promise<void>) {
  const temporary = path.join(dir, `.${name}.${randomUUID()}.tmp`);
  try {
    await write(temporary);
    await rename(temporary, path.join(dir, name));
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Whether the file is the wheel its digest names, and a readable one. What fails is removed: a corrupt entry is
 * rebuilt, never fatal.
 */
async function intact(wheel: string): Promise<boolean> {
  try {
    const expected = (await readFile(`${wheel}${DIGEST_SUFFIX}`, 'utf8')).trim();
    if ((await sha256File(wheel)) !== expected) throw new Error('digest differs');
    await directReferences(wheel);
    return true;
  } catch {
    await rm(wheel, { force: true });
    await rm(`${wheel}${DIGEST_SUFFIX}`, { force: true });
    return false;
  }
}

async function keepLocally(dir: string, wheel: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const name = path.basename(wheel);
  const digest = await sha256File(wheel);
  await placeAtomically(dir, name, (temporary) => copyFile(wheel, temporary));
  // The digest last: a wheel without one is not taken, so a half-kept entry is never used.
  await placeAtomically(dir, `${name}${DIGEST_SUFFIX}`, (temporary) => writeFile(temporary, `${digest}\n`));
}

async function takeLocally(dir: string, key: BuiltWheelKey, destDir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => []);
  for (const name of fittingWheels(names, key)) {
    if (!(await intact(path.join(dir, name)))) continue;
    const taken = path.join(destDir, name);
    await copyFile(path.join(dir, name), taken);
    return taken;
  }
  return undefined;
}

/** Fetches a fitting wheel of the bucket into the local folder (digest first); true when one is now there. */
async function fetchFromBucket(
  bucket: NonNullable<BuiltWheelCacheOptions['bucket']>,
  prefix: string,
  dir: string,
  key: BuiltWheelKey,
): Promise<boolean> {
  const keys = await bucket.store.list(`${prefix}/`);
  const names = keys.map((found) => found.slice(prefix.length + 1)).filter((name) => !name.includes('/'));
  const [name] = fittingWheels(names, key);
  if (name === undefined) return false;
  await mkdir(dir, { recursive: true });
  await placeAtomically(dir, name, (temporary) => bucket.store.download(`${prefix}/${name}`, temporary));
  await placeAtomically(dir, `${name}${DIGEST_SUFFIX}`, (temporary) =>
    bucket.store.download(`${prefix}/${name}${DIGEST_SUFFIX}`, temporary),
  );
  return true;
}

/** The cache in a folder of this host, and in the bucket when one is configured. */
export function builtWheelCache(options: BuiltWheelCacheOptions): BuiltWheelCache {
  const bucketPrefix = (key: BuiltWheelKey) =>
    options.bucket === undefined ? undefined : `${options.bucket.prefix.replace(/\/+$/, '')}/${entryPath(key)}`;
  return {
    async take(key, destDir) {
      const dir = path.join(options.dir, entryPath(key));
      const local = await takeLocally(dir, key, destDir);
      const prefix = bucketPrefix(key);
      if (local !== undefined || options.bucket === undefined || prefix === undefined) return local;
      try {
        if (!(await fetchFromBucket(options.bucket, prefix, dir, key))) return undefined;
      } catch (error) {
        options.onWarning(`the wheel cache in the bucket cannot be read: ${(error as Error).message}`);
        return undefined;
      }
      return takeLocally(dir, key, destDir);
    },
    async keep(key, wheel) {
      const dir = path.join(options.dir, entryPath(key));
      try {
        await keepLocally(dir, wheel);
      } catch (error) {
        options.onWarning(`the wheel cache cannot keep ${path.basename(wheel)}: ${(error as Error).message}`);
        return;
      }
      const prefix = bucketPrefix(key);
      if (options.bucket === undefined || prefix === undefined) return;
      const name = path.basename(wheel);
      try {
        await options.bucket.store.upload(`${prefix}/${name}`, path.join(dir, name), 'application/zip');
        await options.bucket.store.upload(
          `${prefix}/${name}${DIGEST_SUFFIX}`,
          path.join(dir, `${name}${DIGEST_SUFFIX}`),
          'text/plain',
        );
      } catch (error) {
        options.onWarning(`the wheel cache in the bucket cannot keep ${name}: ${(error as Error).message}`);
      }
    },
  };
}
