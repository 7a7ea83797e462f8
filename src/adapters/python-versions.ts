import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A Python version this worker can build a base image for, from the Debian suite that ships it. */
export interface BasePython {
  readonly suite: string;
  /** glibc of that suite as in manylinux tags ("2_36"): newer wheels would not load in the image. */
  readonly glibc: string;
}

/** What the Hub's versions route offers and its upload accepts (contract §3, §11). */
export const HUB_PYTHON_VERSIONS: readonly string[] = ['3.9', '3.10', '3.11', '3.12'];

const TABLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../container/base/python-versions.json');

/** The table shared with container/base/build-base-image.sh, so the script and the worker never disagree. */
export function basePythons(): Readonly<Record<string, BasePython>> {
  return JSON.parse(readFileSync(TABLE, 'utf8')) as Record<string, BasePython>;
}
