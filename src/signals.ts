/** 128 + the signal's number: the exit status a shell reports for a command stopped by that signal. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * A signal that aborts `graceMs` after `signal` does, with its reason: what must still happen after a stop (the job's
 * log uploaded, its message released) gets that long, and a request that stalls cannot hold the exit longer.
 */
export function abortAfterGrace(signal: AbortSignal, graceMs: number): AbortSignal {
  const deadline = new AbortController();
  const start = () => setTimeout(() => deadline.abort(signal.reason), graceMs).unref();
  if (signal.aborted) start();
  else signal.addEventListener('abort', start, { once: true });
  return deadline.signal;
}

/** One signal for any of these (the absent ones left out): undefined when none is given. */
export function anySignal(...signals: ReadonlyArray<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((signal) => signal !== undefined);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}
