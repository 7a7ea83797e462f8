import { randomUUID } from 'node:crypto';
import type Dockerode from 'dockerode';
import type { ContainerRunSpec, ResultsHolders, ResultsVolume } from '../ports/container-engine.js';
import { type HeldVolume, ResultsHolder, VOLUMES_PER_HOLDER } from './results-holder.js';

/** What a run takes its results volume from, and gives it back to once collected. */
export interface HolderSource {
  take(spec: ContainerRunSpec, results: ResultsVolume): Promise<HeldVolume>;
  give(held: HeldVolume): Promise<void>;
}

/** A holder of its own for each run: what a run outside any group gets. */
export const holderPerRun = (docker: Dockerode): HolderSource => ({
  take: async (spec, results) =>
    (await ResultsHolder.start(docker, spec, results, spec.labels, 1)).take() as HeldVolume,
  give: async (held) => {
    held.holder.give(held);
    await held.holder.remove();
  },
});

/**
 * What a holder's volumes are made for: runs of another image, uid or cap need a holder of their own. So the runs
 * whose volumes one holder keeps are all of one image, one submission's: what the holder could be made to do with
 * them (it runs on the image's interpreter) is that submission's doing to its own results.
 */
const holderKind = (spec: ContainerRunSpec, results: ResultsVolume) =>
  JSON.stringify([spec.image, spec.user, results.capBytes]);

/**
 * Holders shared by a group of runs (a job's files): a holder starts when a run finds none with a volume left, and
 * is removed once each volume it has was given back, or, after `close`, once none of its volumes is in use.
 */
export class SharedHolders implements HolderSource {
  private current: { readonly kind: string; readonly holder: Promise<ResultsHolder> } | undefined;
  private readonly live = new Set<ResultsHolder>();
  /** Holders of another kind than the runs now taking: none of their volumes will be taken. */
  private readonly retired = new WeakSet<ResultsHolder>();
  private closed = false;

  constructor(
    private readonly docker: Dockerode,
    private readonly labels: Readonly<Record<string, string>>,
    private readonly count = VOLUMES_PER_HOLDER,
  ) {}

  async take(spec: ContainerRunSpec, results: ResultsVolume): Promise<HeldVolume> {
    const kind = holderKind(spec, results);
    for (;;) {
      if (this.closed) throw new Error('the results holders of this group are closed');
      const current = this.current?.kind === kind ? this.current : this.startHolder(kind, spec, results);
      const holder = await current.holder.catch((error: unknown) => {
        if (this.current === current) this.current = undefined;
        throw error;
      });
      if (this.closed) continue;
      const held = holder.take();
      if (held !== undefined) return held;
      if (this.current === current) this.current = undefined;
      await this.removeWhenDone(holder);
    }
  }

  async give(held: HeldVolume): Promise<void> {
    held.holder.give(held);
    await this.removeWhenDone(held.holder);
  }

  /** Removes the holders none of whose volumes is in use; the others go as their last run gives its volume back. */
  async close(): Promise<void> {
    this.closed = true;
    const starting = this.current?.holder;
    this.current = undefined;
    await starting?.catch(() => undefined);
    await Promise.all([...this.live].map((holder) => this.removeWhenDone(holder)));
  }

  private startHolder(kind: string, spec: ContainerRunSpec, results: ResultsVolume) {
    const replaced = this.current;
    const holder = ResultsHolder.start(this.docker, spec, results, this.labels, this.count).then((started) => {
      this.live.add(started);
      return started;
    });
    this.current = { kind, holder };
    // A holder that cannot be removed now is removed with the job's other containers, by its labels.
    void replaced?.holder
      .then((old) => {
        this.retired.add(old);
        return this.removeWhenDone(old);
      })
      .catch(() => undefined);
    return this.current;
  }

  private async removeWhenDone(holder: ResultsHolder): Promise<void> {
    const done = this.closed || holder.spent || this.retired.has(holder);
    if (!holder.idle || !done || !this.live.delete(holder)) return;
    await holder.remove();
  }
}

/** What a Docker engine's runs take their results volumes from: the group of their job, or a holder of their own. */
export class HolderGroups {
  private readonly own: HolderSource;
  private readonly groups = new Map<string, SharedHolders>();

  constructor(private readonly docker: Dockerode) {
    this.own = holderPerRun(docker);
  }

  open(labels: Readonly<Record<string, string>>): ResultsHolders {
    const id = randomUUID();
    const group = new SharedHolders(this.docker, labels);
    this.groups.set(id, group);
    return {
      id,
      close: async () => {
        this.groups.delete(id);
        await group.close();
      },
    };
  }

  sourceOf(results: ResultsVolume): HolderSource {
    const source = results.holders === undefined ? this.own : this.groups.get(results.holders);
    if (source === undefined) throw new Error(`no open group of results holders ${results.holders}`);
    return source;
  }
}
