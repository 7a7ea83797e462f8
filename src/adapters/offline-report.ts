import { execFile } from 'node:child_process';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  frontendVersionOf,
  type MarimoPage,
  marimoPage,
  withLocalFrontend,
  withNetworkNote,
} from '../domain/marimo-page.js';

const execFileAsync = promisify(execFile);

/**
 * The host python's marimo: its version and its frontend build (the wheel's `_static`, the folder the CDN serves
 * as `dist/`), found without importing marimo, which takes seconds. Its distribution is `marimo` or `marimo-base`,
 * as marimo reads its own version.
 */
const LOCATE_MARIMO = `
import importlib.metadata as metadata, importlib.util, json, os
spec = importlib.util.find_spec("marimo")
found = None
for name in ("marimo", "marimo-base"):
    try:
        found = {"version": metadata.version(name), "staticDir": os.path.join(list(spec.submodule_search_locations)[0], "_static")}
        break
    except (metadata.PackageNotFoundError, AttributeError, TypeError):
        pass
print(json.dumps(found))
`;

interface HostMarimo {
  readonly version: string;
  readonly staticDir: string;
}

/** The host's marimo, or why there is none to take the frontend from. */
async function hostMarimo(hostPython: string): Promise<HostMarimo | string> {
  try {
    const { stdout } = await execFileAsync(hostPython, ['-c', LOCATE_MARIMO], {
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1' },
    });
    return (
      (JSON.parse(stdout) as HostMarimo | null) ??
      `this machine's python (PVHUB_HOST_PYTHON) has no marimo to take its page from`
    );
  } catch (error) {
    return `this machine's python (PVHUB_HOST_PYTHON) could not be asked for its marimo: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** An entry of the build by its own name; anything else the page names (a template's output may name anything) is not one. */
const ENTRY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Copies the build's entries the page names into `assetsDir`, or says why it cannot. */
async function copyFrontend(page: MarimoPage, host: HostMarimo, assetsDir: string): Promise<string | undefined> {
  const [version] = page.frontendVersions;
  if (page.frontendVersions.length !== 1 || version === undefined)
    return `it names several marimo versions (${page.frontendVersions.join(', ')})`;
  if (frontendVersionOf(host.version) !== version)
    return `it was made with marimo ${version}, and this machine's marimo is ${host.version}, whose page would not match it`;
  for (const entry of page.entries) {
    const present =
      ENTRY_NAME.test(entry) && (await stat(path.join(host.staticDir, entry)).catch(() => undefined)) !== undefined;
    if (!present) return `this machine's marimo ${host.version} has no ${entry} in its page's build`;
  }
  // The whole of assets/, not only what the page names: its scripts load more of their chunks as they run.
  for (const entry of page.entries)
    await cp(path.join(host.staticDir, entry), path.join(assetsDir, entry), { recursive: true });
  return undefined;
}

/** The folder beside a report that holds the marimo page it runs: `private_results_assets` for `private_results.html`. */
export function assetsFolderOf(reportFile: string): string {
  return `${path.basename(reportFile, path.extname(reportFile))}_assets`;
}

/**
 * Makes a marimo report of a local output show with no network: the export loads marimo's page from a CDN, so that
 * page is copied from the host's marimo of the same version into a folder beside the report and the report pointed
 * there. When that cannot be done the report keeps the CDN and says why it needs network. Returns that reason;
 * undefined when the report now shows offline, or is not a marimo page (the built-in report), or is absent.
 */
export async function serveMarimoPageBeside(reportPath: string, hostPython: string): Promise<string | undefined> {
  const html = await readFile(reportPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  const page = html === undefined ? undefined : marimoPage(html);
  if (html === undefined || page === undefined) return undefined;
  const folder = assetsFolderOf(reportPath);
  const host = await hostMarimo(hostPython);
  const reason =
    typeof host === 'string' ? host : await copyFrontend(page, host, path.join(path.dirname(reportPath), folder));
  const [version = ''] = page.frontendVersions;
  await writeFile(
    reportPath,
    reason === undefined
      ? withLocalFrontend(html, version, folder, path.basename(reportPath))
      : withNetworkNote(html, reason),
  );
  return reason;
}
