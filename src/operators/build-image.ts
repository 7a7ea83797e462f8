import { map, Observable, tap } from 'rxjs';
import type { JobEvent } from '../domain/job-event.js';
import { type Workspace, workspacePaths } from '../domain/workspace.js';
import type { ImageBuilder } from '../ports/image-builder.js';
import { fromAbortable } from '../streams/from-abortable.js';
import type { JobScope } from './job-scope.js';

/**
 * The job's second step: the submission's image, built or reused from the engine's cache. Emits `building` when the
 * image is not in the cache and its making starts, then `image` with the workspace that now names it and the build's
 * warnings (also logged). Unsubscribing stops host pip, a source build and the engine's build at once.
 */
export function buildImage(workspace: Workspace, scope: JobScope, images: ImageBuilder): Observable<JobEvent> {
  return new Observable<JobEvent>((subscriber) =>
    fromAbortable((signal) =>
      images.submissionImage({
        submissionDir: workspace.submissionDir,
        pythonVersion: workspace.job.pythonVersion,
        workDir: workspacePaths(workspace.dir).build,
        labels: scope.labels,
        log: scope.log.child({ stage: 'build' }),
        signal,
        onBuildStart: () => subscriber.next({ type: 'building' }),
      }),
    )
      .pipe(
        // The job log is what a participant gets to read: the warnings go there too, not only to the CLI.
        tap((image) => image.warnings.forEach((warning) => scope.log.warn(warning))),
        map((image): JobEvent => ({
          type: 'image',
          tag: image.tag,
          cached: image.cached,
          warnings: image.warnings,
          workspace: { ...workspace, image: image.tag },
        })),
      )
      .subscribe(subscriber),
  );
}
