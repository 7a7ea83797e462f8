/**
 * Why the worker counts as unhealthy, if it does: its heartbeat file is missing, or older than `maxAgeSeconds`. A
 * worker touches the file at each poll and each visibility extension, so one that is hung (on the engine, the
 * network, a blocked loop) stops touching it. Pure.
 */
export function healthProblem(
  touchedAtMs: number | undefined,
  nowMs: number,
  maxAgeSeconds: number,
): string | undefined {
  if (touchedAtMs === undefined) return 'no heartbeat yet: the worker has not polled the queue';
  const ageSeconds = Math.round((nowMs - touchedAtMs) / 1000);
  if (ageSeconds > maxAgeSeconds)
    return `last heartbeat ${ageSeconds} s ago, more than ${maxAgeSeconds} s: the worker is hung`;
  return undefined;
}
