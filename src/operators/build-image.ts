import { map, type Observable } from 'rxjs';
import type { JobEvent } from '../domain/job-event.js';
import { type Workspace, workspacePaths } from '../domain/workspace.js';
import type { ImageBuilder } from '../ports/image-builder.js';
import { fromAbortable } from '../streams/from-abortable.js';
import type { JobScope } from './job-scope.js';

/**
 * The job's second step: the submission's image, built or reused from the engine's cache. Emits `image` with the
 * workspace that now names it. Unsubscribing stops host pip, a source build and the engine's build at once.
 */
export function buildImage(workspace: Workspace, scope: JobScope, images: ImageBuilder): Observable<JobEvent> {
  return fromAbortable((signal) =>
    images.submissionImage({
      submissionDir: workspace.submissionDir,
      pythonVersion: workspace.job.pythonVersion,
      workDir: workspacePaths(workspace.dir).build,
      labels: scope.labels,
      log: scope.log.child({ stage: 'build' }),
      signal,
    }),
  ).pipe(
    map((image): JobEvent => ({
      type: 'image',
      tag: image.tag,
      cached: image.cached,
      warnings: image.warnings,
      workspace: { ...workspace, image: image.tag },
    })),
  );
}
