/**
 * Retrying a call that may fail for a passing reason (a 5xx, throttling, a reset connection). One copy, shared by
 * the S3 store and the Hub API client; each says what is transient for it.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Delay before try `attempt + 1` (attempt counts from 1): exponential, capped, with "full jitter" so that workers
 * failing together do not come back together. `random` in [0, 1) is a parameter to keep this pure.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export interface RetryHooks {
  /** Called before each wait, e.g. to log; never with the final error. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `operation` until it succeeds, a failure is not transient, or the policy's tries are spent. */
export async function retrying<T>(
  operation: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? realSleep;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const delay = backoffDelay(policy, attempt, random());
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** Error codes of a connection that broke or never formed, from Node's net layer and undici. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Of those, the ones of a connection that never formed: the request cannot have reached the server. */
const UNDELIVERED_CODES = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function causeChainHas(
  error: unknown,
  matches: (code: string | undefined, name: string | undefined) => boolean,
): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; depth += 1) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (matches(typeof code === 'string' ? code : undefined, typeof name === 'string' ? name : undefined)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** True for a network-level failure anywhere in the error's cause chain (fetch wraps them in a TypeError). */
export function isNetworkError(error: unknown): boolean {
  return causeChainHas(
    error,
    (code, name) => (code !== undefined && NETWORK_CODES.has(code)) || name === 'TimeoutError',
  );
}

/**
 * True when the request never reached the server (no connection was made). Only then may a request that is not
 * idempotent be sent again: after a time-out or a reset the server may have applied it already.
 */
export function isUndeliveredError(error: unknown): boolean {
  return causeChainHas(error, (code) => code !== undefined && UNDELIVERED_CODES.has(code));
}

/**
 * True when a request may have been applied without its answer reaching us: a time-out or a broken connection once
 * it was sent. A request the server answered, or one that never left, was not (or was refused).
 */
export function answerWasLost(error: unknown): boolean {
  return isNetworkError(error) && !isUndeliveredError(error);
}

/** A request abandoned on purpose (a caller's signal), by an SDK or by a stream: never worth another try. */
export function isAbortError(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'AbortError';
}
