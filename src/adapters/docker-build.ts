import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import tar from 'tar-stream';
import { WorkerError } from '../domain/errors.js';
import { plainText } from '../domain/plain-text.js';
import type { ImageBuildSpec } from '../ports/container-engine.js';
import { abortError } from './docker-common.js';

/** Fixed, so the same context gives the same layers whatever the files' times on this disk. */
const CONTEXT_MTIME = new Date('2000-01-01T00:00:00Z');
const BUILD_TAIL_LINES = 8;

/** The parts of a build's or a pull's progress event we read (Docker's JSON message). */
export interface ProgressEvent {
  readonly stream?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

async function* walk(root: string, relative = ''): AsyncGenerator<{ name: string; file: string; directory: boolean }> {
  for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      yield { name, file: path.join(root, name), directory: true };
      yield* walk(root, name);
    } else if (entry.isFile()) {
      yield { name, file: path.join(root, name), directory: false };
    } else {
      throw new WorkerError('wr_500', `build context entry ${name} is neither a file nor a folder`);
    }
  }
}

/**
 * The context folder as a tar stream, owned by root with plain modes: what the host's umask or uid made of the files
 * must not decide whether the runner user can read its code.
 */
function packContext(dir: string): Readable {
  const pack = tar.pack();
  const fill = async () => {
    for await (const entry of walk(dir)) {
      const common = { name: entry.name, uid: 0, gid: 0, mtime: CONTEXT_MTIME };
      if (entry.directory) {
        pack.entry({ ...common, type: 'directory', mode: 0o755 });
        continue;
      }
      const { size, mode } = await stat(entry.file);
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...common, type: 'file', size, mode: mode & 0o111 ? 0o755 : 0o644 }, (error) =>
          error ? reject(error) : resolve(),
        );
        pipeline(createReadStream(entry.file), sink).catch(reject);
      });
    }
    pack.finalize();
  };
  fill().catch((error: Error) => pack.destroy(error));
  // tar-stream's streams are streamx ones; the engine's client wants a Node stream.
  return Readable.from(pack, { objectMode: false });
}

/** Follows a build's progress; followProgress alone resolves even when a step failed, so error events are kept. */
function followBuild(docker: Dockerode, stream: NodeJS.ReadableStream, onLog: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    let failure: string | undefined;
    const onEvent = (event: ProgressEvent) => {
      for (const line of (event.stream ?? '').split('\n')) {
        if (line.trim() === '') continue;
        onLog(line);
        tail.push(line.trim());
        if (tail.length > BUILD_TAIL_LINES) tail.shift();
      }
      if (event.error !== undefined || event.errorDetail !== undefined)
        failure = event.errorDetail?.message ?? event.error;
    };
    const onEnd = (error: Error | null) => {
      if (error) reject(error);
      else if (failure !== undefined)
        reject(
          new WorkerError('op_2', `image build failed: ${plainText([...tail, failure].join(' | ')).slice(-1500)}`),
        );
      else resolve();
    };
    docker.modem.followProgress(stream, onEnd, onEvent);
  });
}

/**
 * Builds the spec's context folder with no network, within its time limit; a failed step, or a build past its time,
 * is the submission's op_2, with the build's last lines. The image's size is not checked here.
 */
export async function buildFromContext(
  docker: Dockerode,
  spec: ImageBuildSpec,
  onLog: (line: string) => void,
): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), spec.timeoutMs);
  const stop = spec.signal === undefined ? abort.signal : AbortSignal.any([abort.signal, spec.signal]);
  try {
    spec.signal?.throwIfAborted();
    const stream = await docker.buildImage(packContext(spec.contextDir), {
      t: spec.tag,
      labels: { ...spec.labels },
      networkmode: 'none',
      rm: true,
      forcerm: true,
      abortSignal: stop,
    });
    await followBuild(docker, stream, onLog);
  } catch (error) {
    // Dropping the request makes the engine cancel the build.
    if (spec.signal?.aborted === true) throw abortError(spec.signal);
    if (abort.signal.aborted)
      throw new WorkerError('op_2', `image build exceeded ${spec.timeoutMs / 1000} s`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
