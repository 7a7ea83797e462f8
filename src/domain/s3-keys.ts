import type { Job } from './job.js';

/** The S3 keys of contract §4. */
export const s3Keys = {
  taskScriptsPrefix: (analysisId: number) => `evaluation_scripts/${analysisId}/`,
  dataFile: (fileName: string) => `data_files/files/${fileName}`,
  reference: (analysisId: number, fileName: string) => `data_files/references/${analysisId}/${fileName}`,
  submissionPrefix: (job: Job) => `submission_files/submission_user_${job.userId}/submission_${job.submissionId}/`,
  submissionArchive: (job: Job) => `${s3Keys.submissionPrefix(job)}${job.submissionFilename}`,
  result: (job: Job, relativePath: string) => `${s3Keys.submissionPrefix(job)}results/${relativePath}`,
  log: (job: Job, fileName: string) => `${s3Keys.submissionPrefix(job)}logs/${fileName}`,
  /** The log of an earlier attempt (its worker died), beside the logs of the attempt that settles the job. */
  attemptLog: (job: Job, attempt: string, fileName: string) =>
    `${s3Keys.submissionPrefix(job)}logs/attempts/${attempt}/${fileName}`,
};
