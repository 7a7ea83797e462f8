import type { Logger } from 'pino';
import { type ErrorCode, WorkerError } from '../domain/errors.js';
import { DEFAULT_RETRY, isNetworkError, isUndeliveredError, retrying, type RetryPolicy } from '../domain/retry.js';
import type { HubCredentials } from './hub-credentials.js';

/** A request the Hub answered with an error status: the status and the start of its body, for the log and the user. */
export class HubApiError extends WorkerError {
  constructor(
    code: ErrorCode,
    readonly request: string,
    readonly status: number,
    readonly responseBody: string,
  ) {
    // A refusal (4xx) is the same on every try; a server error (5xx, 429) left after the retries may pass.
    super(code, `${request} answered ${status}${responseBody ? `: ${responseBody}` : ''}`, {
      retryable: status >= 500 || status === 429,
    });
  }
}

export interface HubSessionOptions {
  /** e.g. https://api-pv-validation-hub.stratus.nrel.gov; routes are appended after a slash. */
  readonly baseUrl: string;
  /** Asked once, when the first request needs a token, and again only after a 401. */
  readonly credentials: () => Promise<HubCredentials>;
  readonly requestTimeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly log?: Logger;
}

/** A 5xx or 429: the same request may well succeed later. */
class TransientStatus extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`status ${status}`);
  }
}

const isTransient = (error: unknown) => error instanceof TransientStatus || isNetworkError(error);
/**
 * For a request that is not idempotent (the POSTs: progress, error reports): a time-out or a broken connection may
 * come after the Hub applied it, and a second try would count a file twice or add a second report.
 */
const isTransientUnapplied = (error: unknown) => error instanceof TransientStatus || isUndeliveredError(error);

const BODY_EXCERPT = 500;

interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * The Hub API's transport: requests time out and are retried with backoff on 5xx, 429 and network failures, as a Hub
 * behind a load balancer needs; a 401 logs in again once (an expired token); a failure names the request, the status
 * and the response, and carries the Hub code of what failed; credentials and the token never reach a log. Bodies are
 * JSON.stringify'd, which writes NaN and ±Infinity as null: the API's strict JSON refuses NaN tokens.
 */
export class HubSession {
  private token: Promise<string> | undefined;
  private readonly base: string;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: HubSessionOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /**
   * One HTTP exchange, retried while transient; a request that is not idempotent only while surely not applied. The
   * body is read within the same time limit.
   */
  private exchange(
    method: string,
    route: string,
    body: unknown,
    token: string | undefined,
    idempotent: boolean,
  ): Promise<Answer> {
    const request = `${method} ${route}`;
    return retrying(
      async () => {
        const signal = AbortSignal.timeout(this.options.requestTimeoutMs);
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (token !== undefined) headers['Authorization'] = `Token ${token}`;
        const response = await fetch(`${this.base}/${route}`, {
          method,
          headers,
          // A body only when there is something to send: the API's GET routes refuse one.
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          redirect: 'follow',
          signal,
        });
        const text = await response.text();
        if (response.status >= 500 || response.status === 429) throw new TransientStatus(response.status, text);
        return { status: response.status, text };
      },
      idempotent ? isTransient : isTransientUnapplied,
      this.retry,
      {
        onRetry: (error, attempt, delayMs) =>
          this.options.log?.warn(
            {
              request,
              attempt,
              delayMs,
              status: error instanceof TransientStatus ? error.status : undefined,
              reason: error instanceof TransientStatus ? undefined : String(error),
            },
            'Hub API request failed, retrying',
          ),
      },
    );
  }

  /** The exchange, with its final failure turned into a WorkerError of the caller's code. */
  private async send(
    method: string,
    route: string,
    body: unknown,
    token: string | undefined,
    code: ErrorCode,
  ): Promise<Answer> {
    const request = `${method} ${route}`;
    // Logging in twice is harmless; the other POSTs add a row or a count each time they arrive.
    const idempotent = method !== 'POST' || route === 'login';
    try {
      return await this.exchange(method, route, body, token, idempotent);
    } catch (error) {
      if (error instanceof TransientStatus)
        throw new HubApiError(code, request, error.status, error.body.slice(0, BODY_EXCERPT));
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.options.requestTimeoutMs / 1000} s`
          : describe(error);
      // No answer after the retries is the Hub's outage whatever the route's own code: another try may well pass.
      throw new WorkerError(code, `${request} failed: ${reason}`, { cause: error, retryable: isNetworkError(error) });
    }
  }

  private login(code: ErrorCode): Promise<string> {
    this.token ??= (async () => {
      let credentials: HubCredentials;
      try {
        credentials = await this.options.credentials();
      } catch (error) {
        throw new WorkerError(code, `no credentials for the Hub API: ${describe(error)}`, { cause: error });
      }
      const answer = await this.send(
        'POST',
        'login',
        { username: credentials.username, password: credentials.password },
        undefined,
        code,
      );
      if (answer.status !== 200)
        throw new HubApiError(code, 'POST login', answer.status, answer.text.slice(0, BODY_EXCERPT));
      const token = (parseJson(answer.text) as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || token === '') throw new WorkerError(code, 'POST login answered without a token');
      return token;
    })().catch((error: unknown) => {
      // A failed login must not stick: the next call tries again.
      this.token = undefined;
      throw error;
    });
    return this.token;
  }

  /** Logs in now (credentials from the environment or the secret), so a worker that cannot stops before any job. */
  async signIn(): Promise<void> {
    await this.login('wr_5');
  }

  /** An authorized call; a 401 means the token is stale: log in again, once. Returns the parsed JSON answer. */
  async call(method: string, route: string, code: ErrorCode, body?: unknown): Promise<unknown> {
    let token = await this.login(code);
    let answer = await this.send(method, route, body, token, code);
    if (answer.status === 401) {
      this.options.log?.info({ request: `${method} ${route}` }, 'Hub API token refused; logging in again');
      if (this.token !== undefined && (await this.token.catch(() => undefined)) === token) this.token = undefined;
      token = await this.login(code);
      answer = await this.send(method, route, body, token, code);
    }
    if (answer.status < 200 || answer.status >= 300)
      throw new HubApiError(code, `${method} ${route}`, answer.status, answer.text.slice(0, BODY_EXCERPT));
    return parseJson(answer.text);
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
