import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from './cli.js';

/**
 * Chromium with no network: every host but 127.0.0.1 fails to resolve (the rules apply to address literals too),
 * and every connection but loopback goes to a proxy on a port where nothing listens. Files and 127.0.0.1 still load.
 */
const NO_NETWORK = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--proxy-server=http://127.0.0.1:1'];

/**
 * The page's DOM once its scripts ran, from headless Chromium with no network. The virtual time budget lets the
 * page's timers and module loads settle before the dump; it is virtual, so an idle page takes a few real seconds.
 */
export async function renderedDom(url: string): Promise<string> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'pvhub-chromium-'));
  try {
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      ...NO_NETWORK,
      '--virtual-time-budget=30000',
      '--dump-dom',
      url,
    ];
    const result = await run('chromium', args);
    if (result.status !== 0) throw new Error(`chromium exited with ${result.status}: ${result.stderr.slice(-2000)}`);
    return result.stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

export interface ServedFolder {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves a folder on 127.0.0.1 as the README tells a person to: `python3 -m http.server`, on a free port. */
export function serveFolder(dir: string): Promise<ServedFolder> {
  return new Promise((resolve, reject) => {
    const server: ChildProcess = spawn(
      'python3',
      ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stop = () =>
      new Promise<void>((done) => {
        if (server.exitCode !== null) return done();
        server.once('exit', () => done());
        server.kill('SIGTERM');
      });
    let output = '';
    server.on('error', reject);
    server.on('exit', (status) => reject(new Error(`python3 -m http.server exited with ${status}: ${output}`)));
    server.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      const port = /port (\d+)/.exec(output)?.[1];
      if (port !== undefined) resolve({ url: `http://127.0.0.1:${port}`, stop });
    });
    server.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  });
}
