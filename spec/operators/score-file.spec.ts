import { existsSync } from 'node:fs';
import { inMemoryFileList } from '../../src/domain/file-list.js';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import type { FileRun, FileScore, FileTask } from '../../src/domain/file-run.js';
import type { SystemMetadata } from '../../src/domain/metadata.js';
import { s3Keys } from '../../src/domain/s3-keys.js';
import { parseTaskConfig, type TaskConfig } from '../../src/domain/task-config.js';
import { hubFileFormats } from '../../src/adapters/file-formats.js';
import { type BuiltWorkspace, workspacePaths } from '../../src/domain/workspace.js';
import { scoreFile } from '../../src/operators/score-file.js';
import { ObjectNotFoundError, type ObjectStore } from '../../src/ports/object-store.js';

const scoreRun = (ws: BuiltWorkspace, run: FileRun, store: ObjectStore) =>
  scoreFile(ws, run, { store, files: hubFileFormats });

const SERIES = parseTaskConfig({
  function_name: 'detect_time_shifts',
  comparison_type: 'time_series',
  performance_metrics: ['runtime', 'mean_absolute_error'],
  metrics_operations: { runtime: ['mean'], mean_absolute_error_time_series: ['mean'] },
  references_compare: ['time_series'],
  public_results_table: 'public.json',
});

const SCALAR = parseTaskConfig({
  function_name: 'estimate_az_tilt',
  comparison_type: 'scalar',
  performance_metrics: ['absolute_error'],
  metrics_operations: { absolute_error_azimuth: ['mean'], absolute_error_tilt: ['mean'] },
  references_compare: ['azimuth', 'tilt'],
  public_results_table: 'public.json',
});

/** An ObjectStore over local files: key → path. Downloads are counted. */
class FileStore implements ObjectStore {
  readonly downloads: string[] = [];
  constructor(private readonly objects: Record<string, string>) {}
  async list(): Promise<string[]> {
    return Object.keys(this.objects);
  }
  async download(key: string, destination: string): Promise<void> {
    this.downloads.push(key);
    const source = this.objects[key];
    if (source === undefined) throw new ObjectNotFoundError(key);
    await copyFile(source, destination);
  }
  async upload(): Promise<void> {}
}

let scratch = '';

test.before.each(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-score-run-'));
});

test.after.each(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function workspace(config: TaskConfig, systems: SystemMetadata[] = []): BuiltWorkspace {
  return {
    job: { analysisId: 4, submissionId: 9, userId: 'u', submissionFilename: 's.zip', pythonVersion: '3.11' },
    dir: scratch,
    log: pino({ level: 'silent' }),
    config,
    files: inMemoryFileList([]),
    systems: new Map(systems.map((system) => [system.system_id, system])),
    templatePath: undefined,
    submissionDir: path.join(scratch, 'submission'),
    image: 'img',
  };
}

const task = (name: string, index = 0): FileTask => ({
  index,
  metadata: { file_id: 1, system_id: 7, file_name: name, include_on_leaderboard: true },
  kwargs: [],
});

/** A run whose wrapper wrote `output` (or nothing), where run-file leaves it. */
async function ran(name: string, output: string | undefined, index = 0): Promise<FileRun> {
  const resultsDir = path.join(workspacePaths(scratch).runs, String(index), 'results');
  await mkdir(resultsDir, { recursive: true });
  const outputPath = path.join(resultsDir, 'output.csv');
  if (output !== undefined) await writeFile(outputPath, output);
  return {
    kind: 'ran',
    task: task(name, index),
    executionTime: 0.25,
    outputPath,
    functionParameters: ['time_series'],
    wallTimeMs: 900,
  };
}

async function storeWith(name: string, reference: string): Promise<FileStore> {
  const file = path.join(scratch, `answer-${name}`);
  await writeFile(file, reference);
  return new FileStore({ [s3Keys.reference(4, name)]: file });
}

const REFERENCE = ',0\n2015-01-01,0\n2015-01-02,60\n2015-01-03,60\n';

function failure(score: FileScore) {
  if (score.kind !== 'failed') return assert.unreachable(`scored: ${JSON.stringify(score.row)}`) as never;
  return score.failure;
}

test('a failed run passes through as a failed file, nothing fetched', async () => {
  const store = new FileStore({});
  const run: FileRun = {
    kind: 'failed',
    task: task('a.csv'),
    failure: { code: 'sb_1', message: 'slow' },
    wallTimeMs: 5,
  };
  const score = await lastValueFrom(scoreRun(workspace(SERIES), run, store));
  assert.equal(score, { kind: 'failed', task: run.task, failure: { code: 'sb_1', message: 'slow' }, wallTimeMs: 5 });
  assert.equal(store.downloads, []);
});

test('a time series is scored against its reference; the output is kept under results/files, the answer removed', async () => {
  const store = await storeWith('a.csv', REFERENCE);
  const run = await ran('a.csv', ',0\n0,0\n1,30\n2,90\n');
  const score = await lastValueFrom(scoreRun(workspace(SERIES), run, store));
  if (score.kind !== 'scored') return assert.unreachable(`failed: ${JSON.stringify(score)}`);
  assert.equal(score.row, {
    file_name: 'a.csv',
    data_requirements: ['time_series'],
    values: { runtime: 0.25, mean_absolute_error_time_series: 20 },
  });
  assert.equal(store.downloads, ['data_files/references/4/a.csv']);
  const kept = path.join(workspacePaths(scratch).resultFiles, 'a.csv');
  assert.is(await readFile(kept, 'utf8'), ',0\n0,0\n1,30\n2,90\n');
  assert.not.ok(existsSync(run.kind === 'ran' ? run.outputPath : ''));
  assert.not.ok(existsSync(path.join(workspacePaths(scratch).runs, '0', 'reference.csv')));
});

test('a metric problem is a failed file with its code, its output still kept for the author', async () => {
  const store = await storeWith('b.csv', REFERENCE);
  const score = await lastValueFrom(scoreRun(workspace(SERIES), await ran('b.csv', ',0\n0,0\n1,30\n'), store));
  assert.equal(failure(score), { code: 'op_8', message: 'the output has 2 values, the reference 3' });
  assert.is(score.kind === 'failed' && score.wallTimeMs, 900);
  assert.ok(existsSync(path.join(workspacePaths(scratch).resultFiles, 'b.csv')));
});

test('no output file, or one that is not CSV, fails the file', async () => {
  const store = await storeWith('c.csv', REFERENCE);
  assert.equal(failure(await lastValueFrom(scoreRun(workspace(SERIES), await ran('c.csv', undefined), store))), {
    code: 'op_8',
    message: 'the function ran but wrote no output file',
  });
  const broken = failure(
    await lastValueFrom(scoreRun(workspace(SERIES), await ran('c.csv', ',0\na,"1\nb,2\n', 1), store)),
  );
  assert.is(broken.code, 'op_8');
  assert.match(broken.message, 'the output is not a readable CSV');
  assert.is(
    failure(await lastValueFrom(scoreRun(workspace(SCALAR), await ran('c.csv', undefined, 2), store))).code,
    'op_9',
  );
});

test('an output with an endless row, or a quoted value over many lines, fails the file (op_8, or op_9 for scalars) unparsed', async () => {
  const store = await storeWith('e.csv', REFERENCE);
  const rowTooLong = { message: 'the output is not a readable CSV: a row is longer than 65536 characters' };
  const endless = `,0\n0,${'9'.repeat(200_000)}`;
  assert.equal(failure(await lastValueFrom(scoreRun(workspace(SERIES), await ran('e.csv', endless), store))), {
    code: 'op_8',
    ...rowTooLong,
  });
  const quoted = `,0\n0,"${'x\n'.repeat(200_000)}"\n`;
  assert.equal(failure(await lastValueFrom(scoreRun(workspace(SERIES), await ran('e.csv', quoted, 1), store))), {
    code: 'op_8',
    ...rowTooLong,
  });
  const scalar = `,0\n0,${'9'.repeat(3 * 1024 * 1024)}`;
  assert.equal(failure(await lastValueFrom(scoreRun(workspace(SCALAR), await ran('e.csv', scalar, 2), store))), {
    code: 'op_9',
    ...rowTooLong,
  });
});

test('a series output is bounded by its reference: past its byte limit it is not read, past its last row read no further', async () => {
  const store = await storeWith('l.csv', REFERENCE);
  const huge = failure(
    await lastValueFrom(scoreRun(workspace(SERIES), await ran('l.csv', `,0\n${'0,0\n'.repeat(300_000)}`), store)),
  );
  assert.is(huge.code, 'op_8');
  assert.match(
    huge.message,
    /^the output is 1200003 bytes, more than the \d+ a series as long as the reference can take$/,
  );
  const longer = failure(
    await lastValueFrom(scoreRun(workspace(SERIES), await ran('l.csv', `,0\n${'0,0\n'.repeat(50_000)}`, 1), store)),
  );
  assert.equal(longer, { code: 'op_8', message: "the output has more values than the reference's 3" });
});

test('scoring one output stops at its deadline with op_8', async () => {
  let reference = ',0\n';
  for (let index = 0; index < 100_000; index += 1) reference += `${index},0\n`;
  const store = await storeWith('slow.csv', reference);
  const run = await ran('slow.csv', reference);
  const score = await lastValueFrom(scoreFile(workspace(SERIES), run, { store, files: hubFileFormats }, 1));
  assert.equal(failure(score), { code: 'op_8', message: 'scoring the output took longer than 0.001 s' });
});

test('a missing reference breaks the job with wr_9 naming the key', async () => {
  try {
    await lastValueFrom(scoreRun(workspace(SERIES), await ran('d.csv', ',0\n0,1\n'), new FileStore({})));
    assert.unreachable('scored without a reference');
  } catch (error) {
    assert.instance(error, WorkerError);
    assert.is((error as WorkerError).code, 'wr_9');
    assert.match((error as Error).message, 'data_files/references/4/d.csv');
  }
});

test('an unreadable reference breaks the job with wr_9', async () => {
  const store = await storeWith('e.csv', ',0\na,"1\n');
  try {
    await lastValueFrom(scoreRun(workspace(SERIES), await ran('e.csv', ',0\n0,1\n'), store));
    assert.unreachable('scored with a broken reference');
  } catch (error) {
    assert.is((error as WorkerError).code, 'wr_9');
    assert.match((error as Error).message, 'not a readable CSV');
  }
});

test('scalars: answers from the reference file when it has the columns, else from system metadata', async () => {
  const systems = [{ system_id: 7, azimuth: 180, tilt: 25 }];
  const fromSystem = await lastValueFrom(
    scoreRun(
      workspace(SCALAR, systems),
      await ran('f.csv', ',0,1\n0,190,20\n'),
      await storeWith('f.csv', ',placeholder\n0,1\n'),
    ),
  );
  assert.equal(fromSystem.kind === 'scored' && fromSystem.row.values, {
    absolute_error_azimuth: 10,
    absolute_error_tilt: 5,
  });
  const fromFile = await lastValueFrom(
    scoreRun(
      workspace(SCALAR, systems),
      await ran('g.csv', ',0,1\n0,190,20\n', 1),
      await storeWith('g.csv', ',azimuth,tilt\n0,200,30\n'),
    ),
  );
  assert.equal(fromFile.kind === 'scored' && fromFile.row.values, {
    absolute_error_azimuth: 10,
    absolute_error_tilt: 10,
  });
  const missing = await lastValueFrom(
    scoreRun(workspace(SCALAR, systems), await ran('h.csv', ',0\n0,190\n', 2), await storeWith('h.csv', ',x\n0,1\n')),
  );
  assert.is(failure(missing).code, 'op_9');
});

test('a long series streams through quickly', async () => {
  const rows = 100_000;
  let reference = ',0\n';
  let output = ',0\n';
  for (let index = 0; index < rows; index += 1) {
    reference += `${index},${index % 7}\n`;
    output += `${index},${(index % 7) + 0.5}\n`;
  }
  const store = await storeWith('long.csv', reference);
  const started = Date.now();
  const score = await lastValueFrom(scoreRun(workspace(SERIES), await ran('long.csv', output), store));
  const elapsed = Date.now() - started;
  assert.equal(score.kind === 'scored' && score.row.values['mean_absolute_error_time_series'], 0.5);
  assert.ok(elapsed < 5000, `took ${elapsed} ms`);
});

test.run();
