import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { asWorkerError, WorkerError } from '../domain/errors.js';
import type { FileTask } from '../domain/file-run.js';
import type { Job } from '../domain/job.js';
import { type FileMetadata, kwargsFor, type SystemMetadata } from '../domain/metadata.js';
import { s3Keys } from '../domain/s3-keys.js';
import { openFileListSpool } from '../adapters/file-list-spool.js';
import { parseTaskConfigText } from '../domain/task-config.js';
import type { JobEvent } from '../domain/job-event.js';
import { hostsFile, LOOPBACK_HOSTS, type Workspace, workspacePaths } from '../domain/workspace.js';
import type { FileFormats } from '../ports/file-formats.js';
import type { HubApi } from '../ports/hub-api.js';
import type { ObjectStore } from '../ports/object-store.js';
import { fetchObject } from '../streams/fetch-object.js';
import { fromAbortable } from '../streams/from-abortable.js';
import type { JobScope } from './job-scope.js';

export interface StagePorts {
  readonly store: ObjectStore;
  readonly hub: HubApi;
  readonly files: FileFormats;
}

/** File metadata asked of the Hub at once (its lanes run within a batch), then written to the workspace. */
const METADATA_BATCH = 256;
const FILE_LIST = 'files.jsonl';

/** A name the file can have in the run's folder: one path segment, not hidden. */
const usableFileName = (name: string) => /^[^/\\]+$/.test(name) && !name.startsWith('.');

async function readRequired(dir: string, name: string): Promise<string> {
  try {
    return await readFile(path.join(dir, name), 'utf8');
  } catch {
    throw new WorkerError('wr_6', `the task has no ${name}`);
  }
}

async function stage(job: Job, { dir, log }: JobScope, ports: StagePorts, signal: AbortSignal): Promise<Workspace> {
  await ports.hub.setStatus(job.submissionId, 'running').catch((error: unknown) => {
    throw asWorkerError(error, 'wr_5');
  });
  const paths = workspacePaths(dir);
  await Promise.all(Object.values(paths).map((folder) => mkdir(folder, { recursive: true })));
  await writeFile(hostsFile(dir), LOOPBACK_HOSTS);
  // Read by the runs' unprivileged uid, whatever the worker's umask.
  await chmod(hostsFile(dir), 0o644);

  const prefix = s3Keys.taskScriptsPrefix(job.analysisId);
  const keys = await ports.store.list(prefix).catch((error: unknown) => {
    if (error instanceof WorkerError) throw error;
    throw new WorkerError('wr_2', `listing ${prefix} failed: ${(error as Error).message}`, { cause: error });
  });
  if (keys.length === 0) throw new WorkerError('wr_3', `no task files under ${prefix}`);
  for (const key of keys) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (name !== '') await fetchObject(ports.store, key, path.join(paths.task, name), 'wr_2', signal);
  }
  const config = parseTaskConfigText(await readRequired(paths.task, 'config.json'));
  await readRequired(paths.task, 'file_test_link.csv');
  const links = await ports.files.readTestLinks(path.join(paths.task, 'file_test_link.csv'));
  const fileIds = [...new Set(links.map((link) => link.fileId))];
  log.info({ files: fileIds.length, function: config.functionName, comparison: config.comparisonType }, 'task staged');

  // Fetched and written to the workspace a batch at a time: the metadata of a large task is never all in memory.
  const spool = await openFileListSpool(path.join(paths.staged, FILE_LIST));
  let unusable: FileMetadata | undefined;
  for (let start = 0; start < fileIds.length; start += METADATA_BATCH) {
    signal.throwIfAborted();
    const batch = await ports.hub.fileMetadataMany(fileIds.slice(start, start + METADATA_BATCH));
    unusable ??= batch.find((metadata) => !usableFileName(metadata.file_name));
    await spool.add(batch);
  }
  if (spool.count === 0) throw new WorkerError('wr_8', 'no file metadata for the task');
  // The Hub's calls in the original's order (contract §3), but for the blank error report: the front end shows a
  // submission's first report, so it is made at the first file error (sinks/hub-progress.ts), not here.
  const offered = await ports.hub.pythonVersions();
  if (!offered.includes(job.pythonVersion)) {
    throw new WorkerError(
      'wr_500',
      `python ${job.pythonVersion} is not one of the Hub's versions (${offered.join(', ')})`,
    );
  }
  const systemRows = await ports.hub.systemMetadata();
  if (systemRows.length === 0) throw new WorkerError('op_4', 'the Hub returned no system metadata');
  const systems = new Map<number, SystemMetadata>(systemRows.map((system) => [Number(system.system_id), system]));
  if (unusable !== undefined) {
    throw new WorkerError(
      'wr_7',
      `file ${unusable.file_id} has an unusable file_name ${JSON.stringify(unusable.file_name)}`,
    );
  }
  const files = await spool.close((metadata, index): FileTask => ({
    index,
    metadata,
    kwargs: kwargsFor(config.allowableKwargs, metadata, systems.get(Number(metadata.system_id))),
  }));

  const archive = path.join(paths.archive, job.submissionFilename);
  await fetchObject(ports.store, s3Keys.submissionArchive(job), archive, 'wr_2', signal);
  signal.throwIfAborted();
  await ports.files.extractSubmission(archive, paths.submission);

  const template = keys.some((key) => key.endsWith('/template.py')) ? path.join(paths.task, 'template.py') : undefined;
  return {
    job,
    dir,
    log,
    config,
    files,
    systems,
    templatePath: template,
    submissionDir: paths.submission,
  };
}

/** Bytes of the regular files under a folder, at any depth. */
async function bytesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => (await lstat(path.join(entry.parentPath, entry.name))).size),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

/**
 * The job's first step: the Hub told the submission is running, then the job staged into its workspace: the task's
 * scripts, its file list and metadata, and the extracted submission; the Hub must offer the job's python version.
 * Data and reference files are not fetched here but one at a time as their files run, so disk use stays flat.
 * Emits `staged` with the workspace. Unsubscribing stops the downloads.
 */
export function stageJob(job: Job, scope: JobScope, ports: StagePorts): Observable<JobEvent> {
  return fromAbortable(async (signal): Promise<JobEvent> => {
    const workspace = await stage(job, scope, ports, signal);
    const paths = workspacePaths(workspace.dir);
    const bytes = (await bytesUnder(paths.task)) + (await bytesUnder(paths.archive));
    return {
      type: 'staged',
      files: workspace.files.count,
      functionName: workspace.config.functionName,
      workspace,
      bytes,
    };
  });
}
