import type Dockerode from 'dockerode';
import { WorkerError } from '../domain/errors.js';
import type { EngineImage } from '../ports/container-engine.js';
import type { ProgressEvent } from './docker-build.js';
import { labelFilter, statusOf } from './docker-common.js';
import { DockerNetworking } from './docker-networking.js';

/** `repository:tag` split at the tag's colon (a registry's port has one too). */
function splitReference(reference: string): { repo: string; tag: string } {
  const colon = reference.lastIndexOf(':');
  if (colon <= reference.lastIndexOf('/')) return { repo: reference, tag: 'latest' };
  return { repo: reference.slice(0, colon), tag: reference.slice(colon + 1) };
}

/**
 * Commits what a stopped container wrote as an image tagged `tag`, which starts its containers as `runImage` does
 * (command, entry point, environment, working folder, user), not with the command that made it. The engine gives it
 * the container's labels. Resolves the image's id.
 */
export async function commitContainer(
  docker: Dockerode,
  container: Dockerode.Container,
  runImage: string,
  tag: string,
): Promise<string> {
  const { Config } = await docker.getImage(runImage).inspect();
  const { repo, tag: name } = splitReference(tag);
  const committed = (await container.commit({
    _query: { container: container.id, repo, tag: name, pause: false },
    _body: {
      Cmd: Config.Cmd,
      Entrypoint: Config.Entrypoint,
      Env: Config.Env,
      WorkingDir: Config.WorkingDir,
      // Empty (root), the engine would take the container's user instead, which is root too.
      User: Config.User,
    },
  })) as { Id: string };
  return committed.Id;
}

/**
 * The images of a Docker engine: what is there, pulled, tagged, listed and removed. Its own class so the engine
 * adapter stays about runs and builds; DockerEngine extends it.
 */
export class DockerImages extends DockerNetworking {
  async imageExists(tag: string): Promise<boolean> {
    return (await this.imageId(tag)) !== undefined;
  }

  async imageId(reference: string): Promise<string | undefined> {
    return (await this.inspectImage(reference))?.Id;
  }

  /** The image's details, or undefined when the engine has no such image. */
  private async inspectImage(reference: string): Promise<Dockerode.ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(reference).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async tagImage(image: string, reference: string): Promise<void> {
    await this.docker.getImage(image).tag(splitReference(reference));
  }

  async pullImage(reference: string): Promise<void> {
    const stream = (await this.docker.pull(reference)) as NodeJS.ReadableStream;
    // followProgress alone resolves on a failed pull too: the error arrives as an event.
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) =>
          error ? reject(error) : failure !== undefined ? reject(new Error(failure)) : resolve(),
        (event: ProgressEvent) => {
          if (event.error !== undefined || event.errorDetail !== undefined)
            failure = event.errorDetail?.message ?? event.error;
        },
      );
    });
  }

  async listImages(repositories: readonly string[]): Promise<EngineImage[]> {
    const found = await this.docker.listImages();
    return found.flatMap((info) => {
      const tags = (info.RepoTags ?? []).filter((tag) => repositories.includes(splitReference(tag).repo));
      if (tags.length === 0) return [];
      return [{ id: info.Id, tags, createdAt: info.Created * 1000, sizeBytes: info.Size, labels: info.Labels ?? {} }];
    });
  }

  /**
   * The engine refuses an id with several tags unless forced, and forced it would untag an image it then keeps (one
   * built on): all tags but one go, the image goes unforced, and when it stays its tags are given back.
   */
  async removeImage(id: string): Promise<boolean> {
    const found = await this.inspectImage(id);
    if (found === undefined) return false;
    const untagged = (found.RepoTags ?? []).slice(1);
    for (const tag of untagged) await this.docker.getImage(tag).remove();
    try {
      await this.docker.getImage(id).remove();
      return true;
    } catch (error) {
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
      for (const tag of untagged) await this.tagImage(id, tag);
      return false;
    }
  }

  /**
   * Force-removes every image that carries all these labels (the worker's builds label theirs), newest first so an
   * image goes before the one it is built on; an image others are built on stays. Returns how many went.
   */
  async removeImages(labels: Readonly<Record<string, string>>): Promise<number> {
    const found = await this.docker.listImages({ filters: { label: labelFilter(labels) } });
    let removed = 0;
    // Newest first, so an image goes after those built on it; but the engine's times are in seconds, and a parent
    // made in the same second as its child is refused (409) until the child is gone: another pass, while one removes.
    let pending = found.sort((a, b) => b.Created - a.Created);
    for (let progress = true; progress && pending.length > 0;) {
      progress = false;
      const refused: typeof pending = [];
      for (const info of pending) {
        try {
          await this.docker.getImage(info.Id).remove({ force: true });
          removed += 1;
          progress = true;
        } catch (error) {
          if (statusOf(error) === 409) refused.push(info);
          else if (statusOf(error) !== 404) throw error;
        }
      }
      pending = refused;
    }
    return removed;
  }

  /** The image's size against the limit: an image over it is removed, and the build or commit fails (op_2). */
  protected async refuseOversized(tag: string, maxSizeBytes: number): Promise<void> {
    const found = await this.inspectImage(tag);
    if (found === undefined) throw new WorkerError('op_2', `the image build ended without an image ${tag}`);
    const size = found.Size;
    if (size <= maxSizeBytes) return;
    await this.docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    throw new WorkerError(
      'op_2',
      `the image is ${size} bytes, over the limit of ${maxSizeBytes} bytes: the requirements are too big`,
    );
  }
}
