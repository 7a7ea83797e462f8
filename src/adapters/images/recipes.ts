import type { Hash } from 'node:crypto';
import { WorkerError } from '../../domain/errors.js';

/** Length-prefixed, so no two different inputs hash alike by shifting bytes from one field to the next. */
export function hashField(hash: Hash, label: string, bytes: string | Buffer): void {
  hash.update(`${label}\0${Buffer.byteLength(bytes)}\0`);
  hash.update(bytes);
}

/** The recipe with the image it starts from as its ARG default, so the context alone reproduces the image. */
export function dockerfileFor(template: string, image: string, arg = 'BASE_IMAGE'): string {
  const line = new RegExp(`^ARG ${arg}=.*$`, 'm');
  if (!line.test(template)) throw new WorkerError('wr_500', `the image recipe has no "ARG ${arg}=" line`);
  return template.replace(line, `ARG ${arg}=${image}`);
}
