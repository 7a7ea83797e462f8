import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { extractSubmission } from '../adapters/submission-archive.js';
import { readTestLinks } from '../adapters/metadata-csv.js';
import { type ErrorCode, WorkerError } from '../domain/errors.js';
import type { FileTask } from '../domain/file-run.js';
import type { Job } from '../domain/job.js';
import { kwargsFor, type SystemMetadata } from '../domain/metadata.js';
import { s3Keys } from '../domain/s3-keys.js';
import { parseTaskConfigText } from '../domain/task-config.js';
import type { HubApi } from '../ports/hub-api.js';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';
import { type Workspace, workspacePaths } from './workspace.js';

export interface StagingDeps {
  readonly store: ObjectStore;
  readonly hub: HubApi;
}

/** Downloads a key; a missing object gets the caller's code, any other failure is wr_2. Both name the key. */
export async function fetchObject(store: ObjectStore, key: string, destination: string, missingCode: ErrorCode): Promise<void> {
  try {
    await store.download(key, destination);
  } catch (error) {
    if (error instanceof WorkerError) throw error;
    if (error instanceof ObjectNotFoundError) throw new WorkerError(missingCode, `missing object: ${key}`, { cause: error });
    throw new WorkerError('wr_2', `download of ${key} failed: ${(error as Error).message}`, { cause: error });
  }
}

async function readRequired(dir: string, name: string): Promise<string> {
  try {
    return await readFile(path.join(dir, name), 'utf8');
  } catch {
    throw new WorkerError('wr_6', `the task has no ${name}`);
  }
}

/**
 * Stages one job into `dir`: the task's scripts, its file list and metadata, and the extracted submission; the
 * Hub must offer the job's python version.
 * Data and reference files are not fetched here but one at a time as their files run, so disk use stays flat.
 */
export async function stageJob(job: Job, dir: string, log: Logger, deps: StagingDeps): Promise<Workspace> {
  const paths = workspacePaths(dir);
  await Promise.all(Object.values(paths).map((folder) => mkdir(folder, { recursive: true })));

  const prefix = s3Keys.taskScriptsPrefix(job.analysisId);
  const keys = await deps.store.list(prefix).catch((error: unknown) => {
    throw new WorkerError('wr_2', `listing ${prefix} failed: ${(error as Error).message}`, { cause: error });
  });
  if (keys.length === 0) throw new WorkerError('wr_3', `no task files under ${prefix}`);
  for (const key of keys) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (name !== '') await fetchObject(deps.store, key, path.join(paths.task, name), 'wr_2');
  }
  const config = parseTaskConfigText(await readRequired(paths.task, 'config.json'));
  await readRequired(paths.task, 'file_test_link.csv');
  const links = await readTestLinks(path.join(paths.task, 'file_test_link.csv'));
  const fileIds = [...new Set(links.map((link) => link.fileId))];
  log.info({ files: fileIds.length, function: config.functionName, comparison: config.comparisonType }, 'task staged');

  const fileMetadata = await deps.hub.fileMetadataMany(fileIds);
  if (fileMetadata.length === 0) throw new WorkerError('wr_8', 'no file metadata for the task');
  // The Hub's calls in the original's order (contract §3): the blank error report, the versions, the systems.
  await deps.hub.createBlankErrorReport(job.submissionId).catch((error: unknown) => log.warn({ err: error }, 'blank error report failed'));
  const offered = await deps.hub.pythonVersions();
  if (!offered.includes(job.pythonVersion)) {
    throw new WorkerError('wr_500', `python ${job.pythonVersion} is not one of the Hub's versions (${offered.join(', ')})`);
  }
  const systemRows = await deps.hub.systemMetadata();
  if (systemRows.length === 0) throw new WorkerError('op_4', 'the Hub returned no system metadata');
  const systems = new Map<number, SystemMetadata>(systemRows.map((system) => [Number(system.system_id), system]));

  const files: FileTask[] = fileMetadata.map((metadata, index) => {
    if (!/^[^/\\]+$/.test(metadata.file_name) || metadata.file_name.startsWith('.')) {
      throw new WorkerError('wr_7', `file ${metadata.file_id} has an unusable file_name ${JSON.stringify(metadata.file_name)}`);
    }
    return { index, metadata, kwargs: kwargsFor(config.allowableKwargs, metadata, systems.get(Number(metadata.system_id))) };
  });

  const archive = path.join(paths.archive, job.submissionFilename);
  await fetchObject(deps.store, s3Keys.submissionArchive(job), archive, 'wr_2');
  await extractSubmission(archive, paths.submission);

  const template = keys.some((key) => key.endsWith('/template.py')) ? path.join(paths.task, 'template.py') : undefined;
  return { job, dir, log, config, files, fileMetadata, systems, templatePath: template, submissionDir: paths.submission };
}
