import { type HostPort, formatHostPort } from './egress-policy.js';
import type { FileFailure } from './errors.js';

/**
 * What a failed or refused connection looks like in a Python submission's output: a name that did not resolve, a
 * connection refused, unreachable or timed out, or the proxy's refusal (urllib's "Tunnel connection failed: 403",
 * requests' ProxyError, an HTTP 403 from it).
 */
const CONNECTION_TROUBLE =
  /Temporary failure in name resolution|Name or service not known|No address associated with hostname|getaddrinfo failed|gaierror|NameResolutionError|Failed to resolve|Connection refused|Failed to establish a new connection|Network is unreachable|No route to host|Connection timed out|ConnectTimeout|ProxyError|Tunnel connection failed|HTTP Error 403: Forbidden|Max retries exceeded|urlopen error/i;

export const NO_NETWORK_HINT =
  'submission containers have no network in this task: a function gets its data from its arguments and cannot download any';

/**
 * The task's network policy, in the participant's words, when a failed file's text shows a connection that failed:
 * they learn that the task, not their code or the Hub, stopped it. Undefined when the text shows no such failure.
 */
export function networkHint(allowlist: readonly HostPort[], text: string): string | undefined {
  if (!CONNECTION_TROUBLE.test(text)) return undefined;
  if (allowlist.length === 0) return NO_NETWORK_HINT;
  return `this task allows network access only to ${allowlist.map(formatHostPort).join(', ')}, through the proxy in HTTPS_PROXY`;
}

/** The failure with the task's network policy added, when its message or the run's output shows a failed connection. */
export function withNetworkHint(failure: FileFailure, allowlist: readonly HostPort[], output: string): FileFailure {
  const hint = networkHint(allowlist, `${failure.message}\n${output}`);
  return hint === undefined || failure.message.includes(hint)
    ? failure
    : { ...failure, message: `${failure.message} (${hint})` };
}
