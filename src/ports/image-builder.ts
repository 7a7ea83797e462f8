import type { Logger } from 'pino';

/** What a submission's image is made from, and where the making may write. */
export interface SubmissionImageRequest {
  /** The extracted submission: `submission_wrapper.py`, `requirements.txt` and the rest of its files. */
  readonly submissionDir: string;
  readonly pythonVersion: string;
  /** An empty folder of the job's workspace for the build context, wheels and source builds. */
  readonly workDir: string;
  /** The job's labels: a source build's container carries them, so it is removed with the job's other containers. */
  readonly labels: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Aborting it stops host pip, a source build and the engine's build at once. */
  readonly signal: AbortSignal;
  /**
   * Called once when the image is not in the cache and its making starts (wheels resolved, sources built, the
   * engine's build), before that wait; never for an image reused from the cache.
   */
  readonly onBuildStart?: () => void;
}

export interface SubmissionImage {
  readonly tag: string;
  /** Reused from the engine's cache: nothing was resolved or built. */
  readonly cached: boolean;
  /** What the participant should know about the build (a zip without requirements.txt), one line each. */
  readonly warnings: readonly string[];
  /** When built: the image of its requirement set it was built on, and how that image was found. */
  readonly dependencies?: DependenciesReport;
}

/** The image of a requirement set, shared by every submission with that set. */
export interface DependenciesReport {
  /** Its id. */
  readonly image: string;
  /** Made for an earlier submission; false when this build made it. */
  readonly reused: boolean;
  /** Whether the requirements were resolved: false when the same requirement text had been, to this image. */
  readonly resolved: boolean;
}

/**
 * Every image a job needs: the submission's (on a base image of its Python, with wheels resolved outside the build
 * and sources built in a sandbox), and the report image task templates render in. Base images and the source-build
 * sandbox are the adapter's business. Implemented by adapters/images/.
 */
export interface ImageBuilder {
  /** Rejects with a WorkerError: op_2 for requirements that cannot be installed, wr_500 for a Python not provided. */
  submissionImage(request: SubmissionImageRequest): Promise<SubmissionImage>;
  /** The report image's tag, built on first use and reused after that. */
  reportImage(log: Logger, signal: AbortSignal): Promise<string>;
  /**
   * Holds the cache of submission images, and the images of requirement sets they are built on, to `keepBytes`,
   * oldest first, keeping images in use; the tags removed.
   */
  pruneSubmissionImages(keepBytes: number): Promise<string[]>;
}
