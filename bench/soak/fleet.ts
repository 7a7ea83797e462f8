import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { startWorker, type World } from '../../spec/helpers/hub-world.js';

/**
 * Worker processes as the Hub deploys them: each slot runs `worker --max-jobs 1` and starts a fresh one when it
 * exits, whatever its exit, until stopped. Each process's output goes to a file of its own; its log says which job it
 * holds ("job received" … "job settled"), so a signal can be sent mid-job.
 */

export interface WorkerExit {
  readonly slot: number;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly seconds: number;
  /** The last job it received, if any. */
  readonly submissionId: number | undefined;
  /** Sent by the soak (an interruption, or the stop at the end). */
  readonly signalled: NodeJS.Signals | undefined;
  readonly log: string;
}

export interface HeldJob {
  readonly slot: number;
  readonly submissionId: number;
  readonly receivedAt: number;
}

interface Live {
  readonly child: ChildProcess;
  readonly startedAt: number;
  job: HeldJob | undefined;
  lastSubmission: number | undefined;
  signalled: NodeJS.Signals | undefined;
}

/** A worker that exits this soon after its start is not restarted at once: a crash loop must not spin. */
const QUICK_EXIT_MS = 3_000;
const QUICK_EXIT_PAUSE_MS = 2_000;
/** How long a signalled worker may take to exit before it is killed. */
const EXIT_GRACE_MS = 30_000;

export class Fleet {
  readonly exits: WorkerExit[] = [];
  private readonly live = new Map<number, Live>();
  private stopping = false;
  private starts = 0;
  private slots: Array<Promise<void>> = [];

  constructor(
    private readonly world: World,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    /** Bounds the processes started in all: a fleet that keeps crashing stops by itself. */
    private readonly maxStarts: number,
  ) {}

  start(slots: number): void {
    this.slots = Array.from({ length: slots }, (_, slot) => this.run(slot));
  }

  /** The jobs held now, by slot. */
  held(): HeldJob[] {
    return [...this.live.values()].flatMap((entry) => (entry.job ? [entry.job] : []));
  }

  get started(): number {
    return this.starts;
  }

  /** Sends the signal to the slot's worker; resolves with its exit once it exited (killed after a grace). */
  async interrupt(slot: number, signal: NodeJS.Signals): Promise<WorkerExit | undefined> {
    const entry = this.live.get(slot);
    if (!entry) return undefined;
    entry.signalled = signal;
    const exited = once(entry.child, 'close');
    entry.child.kill(signal);
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // The slot records the exit on the same 'close', before this resumes.
    await new Promise((resolve) => setImmediate(resolve));
    return [...this.exits].reverse().find((exit) => exit.pid === entry.child.pid);
  }

  /** No more starts; every worker left gets SIGTERM (SIGKILL after the grace), and the slots end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.live.keys()].map((slot) => this.interrupt(slot, 'SIGTERM')));
    await Promise.all(this.slots);
  }

  private async run(slot: number): Promise<void> {
    while (!this.stopping && this.starts < this.maxStarts) {
      this.starts += 1;
      const startedAt = Date.now();
      const file = path.join(this.logDir, `worker-${slot}-${String(this.starts).padStart(3, '0')}.log`);
      const out = createWriteStream(file);
      const child = startWorker(this.world, ['--max-jobs', '1'], this.env);
      const entry: Live = { child, startedAt, job: undefined, lastSubmission: undefined, signalled: undefined };
      this.live.set(slot, entry);
      this.follow(slot, entry, out);
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      this.live.delete(slot);
      out.end();
      const seconds = (Date.now() - startedAt) / 1000;
      this.exits.push({
        slot,
        pid: child.pid ?? -1,
        code,
        signal,
        seconds,
        submissionId: entry.lastSubmission,
        signalled: entry.signalled,
        log: file,
      });
      if (Date.now() - startedAt < QUICK_EXIT_MS)
        await new Promise((resolve) => setTimeout(resolve, QUICK_EXIT_PAUSE_MS));
    }
  }

  /** Copies the worker's output to its file, and reads from its log which job it holds. */
  private follow(slot: number, entry: Live, out: WriteStream): void {
    let partial = '';
    entry.child.stdout?.on('data', (chunk: Buffer) => {
      out.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"msg":"job received"') && !line.includes('"msg":"job settled"')) continue;
        const record = parseLine(line);
        const submissionId = typeof record?.['submissionId'] === 'number' ? record['submissionId'] : undefined;
        if (record?.['msg'] === 'job received' && submissionId !== undefined) {
          entry.job = { slot, submissionId, receivedAt: Date.now() };
          entry.lastSubmission = submissionId;
        } else if (record?.['msg'] === 'job settled') {
          entry.job = undefined;
        }
      }
    });
    entry.child.stderr?.on('data', (chunk: Buffer) => out.write(chunk));
  }
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
