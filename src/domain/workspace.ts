import path from 'node:path';
import type { Logger } from 'pino';
import type { FileList } from './file-list.js';
import type { Job } from './job.js';
import type { SystemMetadata } from './metadata.js';
import type { TaskConfig } from './task-config.js';

/** Everything staged for one job on the worker's disk. Answers (references) never enter `submissionDir`. */
export interface Workspace {
  readonly job: Job;
  readonly dir: string;
  readonly log: Logger;
  readonly config: TaskConfig;
  /** The data files with their metadata and kwargs, in the task's order. */
  readonly files: FileList;
  readonly systems: ReadonlyMap<number, SystemMetadata>;
  /** The task's marimo template, when it ships one. */
  readonly templatePath: string | undefined;
  readonly submissionDir: string;
}

export interface BuiltWorkspace extends Workspace {
  readonly image: string;
}

/** What the engine writes as the hosts file of a run with no network: the loopback's names only. */
export const LOOPBACK_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** The job's runs' /etc/hosts (ContainerRunSpec.hostsFile), LOOPBACK_HOSTS, written at staging. */
export const hostsFile = (dir: string) => path.join(dir, 'hosts');

/** The fixed folders inside a workspace. */
export const workspacePaths = (dir: string) => ({
  task: path.join(dir, 'task'),
  submission: path.join(dir, 'submission'),
  archive: path.join(dir, 'archive'),
  results: path.join(dir, 'results'),
  resultFiles: path.join(dir, 'results', 'files'),
  /** The private report, rendered while results/ is published, and published after it. */
  report: path.join(dir, 'report'),
  runs: path.join(dir, 'runs'),
  /** What staging keeps for the job beside the task's own files: the file list. */
  staged: path.join(dir, 'staged'),
  build: path.join(dir, 'build'),
  logs: path.join(dir, 'logs'),
});
