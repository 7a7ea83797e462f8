import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { python } from './cli.js';

/**
 * Writes `<dir>/<name>-<version>.tar.gz`, a source distribution whose setup.py runs `setupBody` first, then declares
 * `installRequires`; with `pyproject`, that pyproject.toml too (else setuptools' legacy build). Offer it to the
 * worker's resolver by putting `dir` in PIP_FIND_LINKS.
 */
export async function writeSdist(
  dir: string,
  name: string,
  version: string,
  installRequires: readonly string[],
  setupBody = '',
  pyproject?: string,
): Promise<string> {
  const source = path.join(dir, 'src', `${name}-${version}`);
  const module = name.replace(/-/g, '_');
  await mkdir(source, { recursive: true });
  await writeFile(
    path.join(source, 'setup.py'),
    `${setupBody}\nfrom setuptools import setup\n` +
      `setup(name=${JSON.stringify(name)}, version=${JSON.stringify(version)}, py_modules=[${JSON.stringify(module)}], ` +
      `install_requires=${JSON.stringify(installRequires)})\n`,
  );
  await writeFile(path.join(source, `${module}.py`), `VERSION = ${JSON.stringify(version)}\n`);
  if (pyproject !== undefined) await writeFile(path.join(source, 'pyproject.toml'), pyproject);
  await writeFile(path.join(source, 'PKG-INFO'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
  const archive = path.join(dir, `${name}-${version}.tar.gz`);
  await python(
    'import sys, tarfile, os\nsrc, dest = sys.argv[1], sys.argv[2]\nwith tarfile.open(dest, "w:gz") as tar: tar.add(src, arcname=os.path.basename(src))\n',
    [source, archive],
  );
  return archive;
}

/** Runs `action` with `dir` added to PIP_FIND_LINKS of this process (and so of the host pip the worker starts). */
export async function withFindLinks<T>(dir: string, action: () => Promise<T>): Promise<T> {
  const previous = process.env['PIP_FIND_LINKS'];
  process.env['PIP_FIND_LINKS'] = [dir, previous ?? ''].join(' ').trim();
  try {
    return await action();
  } finally {
    if (previous === undefined) delete process.env['PIP_FIND_LINKS'];
    else process.env['PIP_FIND_LINKS'] = previous;
  }
}
