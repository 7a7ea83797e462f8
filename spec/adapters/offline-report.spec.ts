import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assetsFolderOf, serveMarimoPageBeside } from '../../src/adapters/offline-report.js';
import { HOST_PYTHON, python, run } from '../helpers/cli.js';

const NOTEBOOK = `import marimo
app = marimo.App()

@app.cell
def _():
    import marimo as mo
    mo.md("# A page marimo wrote")
    return

if __name__ == "__main__":
    app.run()
`;

let scratch = '';
/** A page exported by the host's marimo, as the report image's marimo (the same pinned version) exports it. */
let exported = '';
let hostVersion = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-offline-report-'));
  await writeFile(path.join(scratch, 'notebook.py'), NOTEBOOK);
  const out = path.join(scratch, 'exported.html');
  const result = await run(HOST_PYTHON, [
    '-m',
    'marimo',
    'export',
    'html',
    path.join(scratch, 'notebook.py'),
    '-o',
    out,
    '--no-include-code',
  ]);
  assert.is(result.status, 0, result.stderr);
  exported = await readFile(out, 'utf8');
  hostVersion = (await python('import importlib.metadata as m; print(m.version("marimo"))')).trim();
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A report in a folder of its own, as the output's staging folder holds it. */
async function reportOf(name: string, html: string): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir);
  const report = path.join(dir, 'private_results.html');
  await writeFile(report, html);
  return report;
}

test('a report of the host marimo runs its page from the folder beside it, with every file it names there', async () => {
  assert.match(
    exported,
    `https://cdn.jsdelivr.net/npm/@marimo-team/frontend@${hostVersion}/dist/assets/`,
    'the export loads its page from the CDN',
  );
  const report = await reportOf('same', exported);
  assert.is(await serveMarimoPageBeside(report, HOST_PYTHON), undefined);
  const html = await readFile(report, 'utf8');
  assert.not.match(html, 'cdn.jsdelivr.net');
  const named = [...html.matchAll(/(?:src|href)="(private_results_assets\/[^"]+)"/g)].map((match) => match[1] ?? '');
  assert.ok(
    named.some((url) => /^private_results_assets\/assets\/index-[^/]+\.js$/.test(url)),
    'its entry script among them',
  );
  for (const url of named) assert.ok(existsSync(path.join(path.dirname(report), url)), `${url} is beside the report`);
});

test('a report of another marimo version keeps the CDN and says why it needs network; no folder is made', async () => {
  const other = exported.replaceAll(`/frontend@${hostVersion}/`, '/frontend@0.1.0/');
  const report = await reportOf('other', other);
  const reason = await serveMarimoPageBeside(report, HOST_PYTHON);
  assert.is(
    reason,
    `it was made with marimo 0.1.0, and this machine's marimo is ${hostVersion}, whose page would not match it`,
  );
  const html = await readFile(report, 'utf8');
  assert.match(html, 'https://cdn.jsdelivr.net/npm/@marimo-team/frontend@0.1.0/dist/assets/');
  assert.match(
    html,
    /<p id="pvhub-network-note"[^>]*>This report loads marimo's page from cdn\.jsdelivr\.net and needs network: it was made with marimo 0\.1\.0/,
  );
  assert.not.ok(existsSync(path.join(path.dirname(report), assetsFolderOf(report))));
});

test('a host python with no marimo leaves the CDN, with the reason in the page', async () => {
  const venv = path.join(scratch, 'bare-venv');
  const made = await run('python3', ['-m', 'venv', '--without-pip', venv]);
  assert.is(made.status, 0, made.stderr);
  const report = await reportOf('bare', exported);
  const reason = await serveMarimoPageBeside(report, path.join(venv, 'bin/python'));
  assert.is(reason, "this machine's python (PVHUB_HOST_PYTHON) has no marimo to take its page from");
  assert.match(await readFile(report, 'utf8'), 'pvhub-network-note');
});

test("the built-in report in the template's place is left as it is", async () => {
  const builtIn = '<!doctype html><html><body><h1>Results</h1><p class="note">the template failed</p></body></html>';
  const report = await reportOf('built-in', builtIn);
  assert.is(await serveMarimoPageBeside(report, HOST_PYTHON), undefined);
  assert.is(await readFile(report, 'utf8'), builtIn);
  assert.not.ok(existsSync(path.join(path.dirname(report), assetsFolderOf(report))));
});

test.run();
