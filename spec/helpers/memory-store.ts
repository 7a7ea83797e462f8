import { readFile, writeFile } from 'node:fs/promises';
import { ObjectNotFoundError, type ObjectStore } from '../../src/ports/object-store.js';

/** A bucket in memory: what was uploaded under which key, with its content type and text; each upload in order. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, { contentType: string; text: string }>();
  readonly uploads: Array<{ key: string; contentType: string; text: string }> = [];

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async download(key: string, destinationPath: string): Promise<void> {
    const object = this.objects.get(key);
    if (object === undefined) throw new ObjectNotFoundError(key);
    await writeFile(destinationPath, object.text);
  }

  async upload(key: string, sourcePath: string, contentType: string): Promise<void> {
    const text = await readFile(sourcePath, 'utf8');
    this.put(key, text, contentType);
  }

  /** An object as it lands, however it was sent. */
  put(key: string, text: string, contentType = 'application/json'): void {
    this.objects.set(key, { contentType, text });
    this.uploads.push({ key, contentType, text });
  }
}
