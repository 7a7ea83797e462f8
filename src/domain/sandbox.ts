import type { ContainerRunSpec } from '../ports/container-engine.js';
import type { ResourceLimits } from './limits.js';

/** The uid of the `runner` user that container/runtime/Dockerfile creates. */
export const RUNNER_USER = '10001:10001';

/**
 * The supervisor's interpreter in every submission image: the base image's, copied before the submission's
 * dependencies are installed (container/runtime/Dockerfile), so no wheel can reach it.
 */
export const WRAPPER_PYTHON = '/opt/pvhub/python/bin/python';

/**
 * What every container of a job shares, a file's run, a source build or the report alike: the job's resource
 * limits and the unprivileged runner user.
 */
export function sandboxLimits(
  limits: ResourceLimits,
): Pick<ContainerRunSpec, 'memoryBytes' | 'nanoCpus' | 'pidsLimit' | 'outputCapBytes' | 'resultsCapBytes' | 'user'> {
  return {
    memoryBytes: limits.containerMemoryBytes,
    nanoCpus: limits.containerNanoCpus,
    pidsLimit: limits.containerPidsLimit,
    outputCapBytes: limits.outputCapBytes,
    resultsCapBytes: limits.resultsCapBytes,
    user: RUNNER_USER,
  };
}
