import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Liveness, ownerSocket, workerId } from '../domain/ownership.js';

/** How long a live owner has to accept a connection; no answer is `unknown`, never `dead`. */
const PROBE_TIMEOUT_MS = 2_000;

/** A worker's identity, held while its process lives. */
export interface OwnerMark {
  readonly id: string;
  /** Stops listening and removes the socket: what a clean exit does; a killed process leaves a socket no one answers. */
  readonly release: () => void;
}

/**
 * Listens on `<workDir>/workers/<id>.sock` for the life of the process. Node has no flock, but a listening socket
 * serves as well: the kernel closes it on any death of the process (kill -9 and the OOM killer included), after
 * which a connection is refused (ECONNREFUSED) though the file stays. It answers while the worker's loop is busy
 * too (the kernel queues the connection), so no timer a busy worker could miss is involved. Worker containers that
 * mount the work folder at the same path see each other's sockets. Unref'd: it never keeps the process alive.
 */
export async function holdOwnerMark(
  workDir: string,
  id = workerId(os.hostname(), process.pid, randomBytes(3).toString('hex')),
): Promise<OwnerMark> {
  const socket = ownerSocket(workDir, id);
  await mkdir(path.dirname(socket), { recursive: true });
  const server = net.createServer((connection) => connection.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  server.unref();
  return {
    id,
    release: () => {
      server.close();
      rmSync(socket, { force: true });
    },
  };
}

/**
 * Whether the owner of this socket lives: it accepts a connection (alive), or the kernel refuses one because no
 * process listens there any more (dead). A missing socket is dead only where its folder is visible: a worker with
 * its work folder elsewhere (not mounted here) cannot be judged. Anything else is `unknown`.
 */
export function probeOwner(socket: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Liveness> {
  return new Promise((resolve) => {
    const connection = net.connect(socket);
    const answer = (liveness: Liveness) => {
      clearTimeout(timer);
      connection.destroy();
      resolve(liveness);
    };
    const timer = setTimeout(() => answer('unknown'), timeoutMs);
    connection.once('connect', () => answer('alive'));
    connection.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') return answer('dead');
      answer(error.code === 'ENOENT' && existsSync(path.dirname(socket)) ? 'dead' : 'unknown');
    });
  });
}
