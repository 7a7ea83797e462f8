import { copyFile, cp, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ObjectNotFoundError, type ObjectStore } from '../ports/object-store.js';

/**
 * The ObjectStore of a local run: the contract's S3 keys mapped onto a task folder in the Hub's task format
 * (config.json, file_test_link.csv, template.py, data/, validation_data/) and a submission zip or folder.
 * Read-only: results leave through a ResultsPublisher.
 */
export class LocalTaskStore implements ObjectStore {
  constructor(
    private readonly taskDir: string,
    private readonly submissionPath: string,
  ) {}

  private pathOf(key: string): string | undefined {
    const parts = key.split('/');
    const name = parts[parts.length - 1] ?? '';
    if (name === '' || name === '..' || name === '.') return undefined;
    if (parts[0] === 'evaluation_scripts' && parts.length === 3) return path.join(this.taskDir, name);
    if (parts[0] === 'data_files' && parts[1] === 'files' && parts.length === 3)
      return path.join(this.taskDir, 'data', name);
    if (parts[0] === 'data_files' && parts[1] === 'references' && parts.length === 4) {
      return path.join(this.taskDir, 'validation_data', name);
    }
    if (parts[0] === 'submission_files') return this.submissionPath;
    return undefined;
  }

  async list(prefix: string): Promise<string[]> {
    if (!prefix.startsWith('evaluation_scripts/')) return [];
    const entries = await readdir(this.taskDir, { withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isFile()).map((entry) => `${prefix}${entry.name}`);
  }

  async download(key: string, destinationPath: string): Promise<void> {
    const source = this.pathOf(key);
    const info = source === undefined ? undefined : await stat(source).catch(() => undefined);
    if (source === undefined || info === undefined) throw new ObjectNotFoundError(source ?? key);
    if (info.isDirectory()) await cp(source, destinationPath, { recursive: true });
    else await copyFile(source, destinationPath);
  }

  async upload(key: string): Promise<void> {
    throw new Error(`the local task store is read-only (upload of ${key})`);
  }
}
