/** What every job's containers and builds may use: set by the operator, read by loadConfig. */
export interface ResourceLimits {
  /** Memory (and memory+swap) limit of one submission container; also what a run reserves from the budget. */
  readonly containerMemoryBytes: number;
  readonly containerNanoCpus: number;
  readonly containerPidsLimit: number;
  /** Memory kept free for the worker and the host, subtracted from the budget. */
  readonly memoryReserveBytes: number;
  /** Upper bound on containers at once; runtime is a leaderboard metric, so runs should not fight for cores. */
  readonly maxParallel: number;
  readonly fileTimeLimitMs: number;
  readonly buildTimeLimitMs: number;
  /** Largest submission or dependencies image (and wheelhouse) a build may make; over it the build is refused (op_2). */
  readonly imageSizeLimitBytes: number;
  readonly outputCapBytes: number;
  /** Bytes a container may write to its results folder (all files together) before it is stopped (sb_500). */
  readonly resultsCapBytes: number;
  /** The first this-many finished files all failing aborts the job (op_7); 0 turns the rule off. */
  readonly earlyAbortFiles: number;
}
