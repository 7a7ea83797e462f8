import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkerError } from '../../domain/errors.js';
import type { ImageBuilder, SubmissionImage, SubmissionImageRequest } from '../../ports/image-builder.js';

/** Simulated images: every submission image is "built" at once, or the build fails as the request's requirements would. */
export class SimulatedImages implements ImageBuilder {
  readonly requests: SubmissionImageRequest[] = [];
  constructor(private readonly failure?: WorkerError) {}

  async submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage> {
    this.requests.push(request);
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
    throw new Error('the simulated images have no report image');
  }
  async pruneSubmissionImages(): Promise<string[]> {
    return [];
  }
}
