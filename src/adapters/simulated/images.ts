import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkerError } from '../../domain/errors.js';
import type { ImageBuilder, SubmissionImage, SubmissionImageRequest } from '../../ports/image-builder.js';

/**
 * Simulated images: every submission image is "built" at once (its build start reported), or reused from the cache
 * when `cached`, or the build fails as the request's requirements would.
 */
export class SimulatedImages implements ImageBuilder {
  readonly requests: SubmissionImageRequest[] = [];
  constructor(
    private readonly failure?: WorkerError,
    private readonly cached = false,
    /** Whether there is a report image (the simulated engine then plays the report's container). */
    private readonly withReport = false,
  ) {}

  async submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage> {
    this.requests.push(request);
    if (this.cached) return { tag: 'pvhub-submission:fake', cached: true, warnings: [] };
    request.onBuildStart?.();
    if (this.failure) throw this.failure;
    const requirements = await readFile(path.join(request.submissionDir, 'requirements.txt'), 'utf8').catch(
      () => undefined,
    );
    return {
      tag: 'pvhub-submission:fake',
      cached: false,
      warnings: requirements === undefined ? ['no requirements.txt'] : [],
    };
  }
  async reportImage(): Promise<string> {
    if (this.withReport) return 'pvhub-report:simulated';
    throw new Error('the simulated images have no report image');
  }
  async pruneSubmissionImages(): Promise<string[]> {
    return [];
  }
}
