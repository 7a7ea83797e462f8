import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import unzipper from 'unzipper';
import { readMetadataCsv, readTestLinks } from '../src/adapters/metadata-csv.js';
import { parseTaskConfigText } from '../src/domain/task-config.js';
import { HOST_PYTHON, python, ROOT, run } from './helpers/cli.js';

const EXAMPLES = path.join(ROOT, 'examples');
const GENERATOR = path.join(EXAMPLES, 'generate.py');
const TASKS = path.join(EXAMPLES, 'tasks');
const SUBMISSIONS = path.join(EXAMPLES, 'submissions');
/** Left by tools that run a template or a submission in place; git-ignored, so not part of the examples. */
const CACHES = new Set(['__marimo__', '__pycache__']);

let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-examples-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Relative paths of every file under dir, sorted, caches skipped. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    if (CACHES.has(entry.name)) continue;
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await filesUnder(dir, relative)));
    else found.push(relative);
  }
  return found.sort();
}

async function generate(out: string): Promise<string> {
  const result = await run('python3', [GENERATOR, '--out', out]);
  assert.is(result.status, 0, result.stderr);
  return result.stdout;
}

test('generate.py makes exactly the committed examples, byte for byte, and a second run changes nothing', async () => {
  const out = path.join(scratch, 'generated');
  await generate(out);
  for (const root of ['tasks', 'submissions']) {
    const committed = await filesUnder(path.join(EXAMPLES, root));
    const generated = await filesUnder(path.join(out, root));
    assert.equal(
      committed,
      generated,
      `${root}: committed and generated files differ; run python3 examples/generate.py`,
    );
    const differing: string[] = [];
    for (const name of committed) {
      const [a, b] = await Promise.all([
        readFile(path.join(EXAMPLES, root, name)),
        readFile(path.join(out, root, name)),
      ]);
      if (!a.equals(b)) differing.push(name);
    }
    assert.equal(differing, [], `${root}: bytes differ; run python3 examples/generate.py`);
  }
  assert.match(await generate(out), ' 0 written, 0 removed');
});

/** The task's output key for a metric and reference, as the worker forms it (contract §7). */
function metricKey(metric: string, reference: string): string {
  return metric === 'runtime' ? 'runtime' : `${metric}_${reference}`;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d):(\d\d):00([+-]\d\d:\d\d),-?\d+(\.\d+)?$/;

for (const task of ['time-shift-detection', 'az-tilt-estimation']) {
  test(`task ${task}: the files the contract requires, with consistent ids`, async () => {
    const dir = path.join(TASKS, task);
    for (const name of [
      'config.json',
      'file_test_link.csv',
      'file_metadata.csv',
      'system_metadata.csv',
      'template.py',
      'data',
      'validation_data',
    ]) {
      assert.ok(existsSync(path.join(dir, name)), `${task} has ${name}`);
    }
    const config = parseTaskConfigText(await readFile(path.join(dir, 'config.json'), 'utf8'));
    for (const metric of config.performanceMetrics) {
      for (const reference of config.referencesCompare) {
        const key = metricKey(metric, reference);
        assert.ok(key in config.metricsOperations, `metrics_operations has ${key}`);
        assert.ok(config.privateResultsColumns.includes(key), `private_results_columns has ${key}`);
      }
    }
    assert.match(await readFile(path.join(dir, 'template.py'), 'utf8'), 'mo.cli_args()');

    const links = await readTestLinks(path.join(dir, 'file_test_link.csv'));
    const files = await readMetadataCsv(path.join(dir, 'file_metadata.csv'));
    const systems = await readMetadataCsv(path.join(dir, 'system_metadata.csv'));
    const systemById = new Map(systems.map((row) => [row['system_id'], row]));
    const fileById = new Map(files.map((row) => [row['file_id'], row]));
    assert.is(fileById.size, files.length, 'file ids are unique');
    assert.is(new Set(links.map((link) => link.fileId)).size, links.length, 'each file is linked once');
    for (const link of links)
      assert.ok(fileById.has(link.fileId), `file_test_link file_id ${link.fileId} has a metadata row`);
    assert.is(links.length, files.length, 'every metadata file is linked (and so run)');
    assert.ok(
      files.some((row) => row['include_on_leaderboard'] === false),
      'some files are off the leaderboard',
    );

    const names = files.map((row) => String(row['file_name']));
    assert.equal(
      (await readdir(path.join(dir, 'data'))).sort(),
      [...names].sort(),
      'data/ holds exactly the metadata files',
    );
    assert.equal(
      (await readdir(path.join(dir, 'validation_data'))).sort(),
      [...names].sort(),
      'validation_data/ likewise',
    );

    for (const row of files) {
      const name = String(row['file_name']);
      const system = systemById.get(row['system_id']);
      assert.ok(system, `${name}: system ${String(row['system_id'])} exists`);
      assert.type(row['include_on_leaderboard'], 'boolean', `${name}: include_on_leaderboard is True/False`);
      for (const kwarg of config.allowableKwargs) {
        assert.type(row[kwarg] ?? system?.[kwarg], 'number', `${name}: kwarg ${kwarg} is in the metadata`);
      }
      const data = await readFile(path.join(dir, 'data', name));
      assert.is(row['file_hash'], createHash('md5').update(data).digest('hex'), `${name}: file_hash`);

      const lines = data.toString('utf8').trimEnd().split('\n');
      assert.is(lines[0], 'measured_on,ac_power', `${name}: header`);
      const dates: string[] = [];
      const minutes: number[] = [];
      for (const line of lines.slice(1)) {
        const match = TIMESTAMP.exec(line);
        assert.ok(match, `${name}: "${line}" is an offset timestamp and a number`);
        if (dates[dates.length - 1] !== match[1]) dates.push(match[1] ?? '');
        if (minutes.length < 2) minutes.push(Number(match[2]) * 60 + Number(match[3]));
      }
      assert.is(
        (minutes[1] ?? 0) - (minutes[0] ?? 0),
        row['data_sampling_frequency'],
        `${name}: sampling matches the metadata`,
      );

      const reference = (await readFile(path.join(dir, 'validation_data', name), 'utf8')).trimEnd().split('\n');
      if (config.comparisonType === 'time_series') {
        assert.is(reference[0], ',0', `${name}: reference header as pandas writes an unnamed Series`);
        assert.equal(
          reference.slice(1).map((line) => line.split(',')[0]),
          dates,
          `${name}: one reference row per data day`,
        );
      } else {
        assert.is(reference[0], config.referencesCompare.join(','), `${name}: reference header (develop's format)`);
        assert.is(reference.length, 2, `${name}: one reference row`);
        const values = (reference[1] ?? '').split(',').map(Number);
        config.referencesCompare.forEach((column, i) => {
          assert.is(
            values[i],
            system?.[column],
            `${name}: reference ${column} equals the system metadata (main's source)`,
          );
        });
      }
    }
  });
}

test('each submission folder has its zip with the same two files at the root; the nested zip has one top folder', async () => {
  const entries = await readdir(SUBMISSIONS, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !CACHES.has(entry.name)).map((entry) => entry.name);
  assert.ok(folders.length >= 6);
  const zipContents = async (file: string) => {
    const directory = await unzipper.Open.file(path.join(SUBMISSIONS, file));
    const contents = new Map<string, Buffer>();
    for (const member of directory.files) if (member.type === 'File') contents.set(member.path, await member.buffer());
    return contents;
  };
  for (const folder of folders) {
    assert.equal(
      (await readdir(path.join(SUBMISSIONS, folder))).filter((name) => !CACHES.has(name)).sort(),
      ['requirements.txt', 'submission_wrapper.py'],
      folder,
    );
    const requirements = await readFile(path.join(SUBMISSIONS, folder, 'requirements.txt'), 'utf8');
    assert.match(requirements, /^pandas==2\.2\.3$/m);
    assert.match(requirements, /^numpy==2\.1\.3$/m);
    const zipped = await zipContents(`${folder}.zip`);
    assert.equal([...zipped.keys()].sort(), ['requirements.txt', 'submission_wrapper.py'], `${folder}.zip`);
    for (const [name, bytes] of zipped)
      assert.ok(bytes.equals(await readFile(path.join(SUBMISSIONS, folder, name))), `${folder}.zip ${name}`);
  }
  const nested = await zipContents('time-shift-correct-nested.zip');
  assert.equal([...nested.keys()].sort(), [
    'time-shift-correct/requirements.txt',
    'time-shift-correct/submission_wrapper.py',
  ]);
  for (const [name, bytes] of nested) assert.ok(bytes.equals(await readFile(path.join(SUBMISSIONS, name))), name);
});

/**
 * Scores a submission folder's function on every file of a task directly with pandas (no worker, no container), so a
 * change to the generator that makes the examples meaningless (the correct one no longer correct) shows up here.
 */
const SCORE = `
import importlib.util, json, sys, pandas as pd
task, submission = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("submission_wrapper", f"{submission}/submission_wrapper.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
config = json.load(open(f"{task}/config.json"))
function = getattr(module, config["function_name"])
meta = pd.read_csv(f"{task}/file_metadata.csv").merge(pd.read_csv(f"{task}/system_metadata.csv"), on="system_id")
errors = {}
for _, row in meta.iterrows():
    series = pd.read_csv(f"{task}/data/{row.file_name}", index_col=0, parse_dates=True).squeeze("columns")
    output = function(series, *[float(row[k]) for k in config["allowable_kwargs"]])
    if config["comparison_type"] == "time_series":
        reference = pd.read_csv(f"{task}/validation_data/{row.file_name}", index_col=0).squeeze("columns")
        output = pd.DataFrame(output).squeeze("columns")
        assert len(output) == len(reference), row.file_name
        errors[row.file_name] = [float(abs(output.to_numpy() - reference.to_numpy()).mean())]
    else:
        errors[row.file_name] = [abs(o - row[r]) for o, r in zip(output, config["references_compare"])]
print(json.dumps(errors))
`;

async function scores(task: string, submission: string): Promise<number[][]> {
  return Object.values(
    JSON.parse(await python(SCORE, [path.join(TASKS, task), path.join(SUBMISSIONS, submission)])) as Record<
      string,
      number[]
    >,
  );
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

test('the correct submissions score well on the generated data, the wrong one badly', async () => {
  assert.ok(existsSync(HOST_PYTHON), `no ${HOST_PYTHON}: run scripts/setup.sh first`);
  const correct = (await scores('time-shift-detection', 'time-shift-correct')).map((row) => row[0] ?? NaN);
  assert.ok(mean(correct) < 0.1, `time-shift-correct mean MAE ${mean(correct)} h`);
  assert.ok(Math.max(...correct) < 0.25, `time-shift-correct worst MAE ${Math.max(...correct)} h`);
  const wrong = (await scores('time-shift-detection', 'time-shift-wrong')).map((row) => row[0] ?? NaN);
  assert.ok(mean(wrong) > 1, `time-shift-wrong mean MAE ${mean(wrong)} h`);
  const orientation = await scores('az-tilt-estimation', 'az-tilt-correct');
  assert.ok(mean(orientation.map((row) => row[0] ?? NaN)) < 10, 'azimuth mean absolute error below 10°');
  assert.ok(mean(orientation.map((row) => row[1] ?? NaN)) < 10, 'tilt mean absolute error below 10°');
});

test.run();
