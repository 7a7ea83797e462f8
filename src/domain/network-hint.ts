import type { FileFailure } from './errors.js';

/**
 * What a failed name lookup or connection looks like in Python's messages (socket, urllib, urllib3, requests, httpx)
 * and in curl's: in a submission container, where the only interface is the loopback, every one of them means the
 * same thing.
 */
const NETWORK_FAILURE =
  /Temporary failure in name resolution|Name or service not known|No address associated with hostname|getaddrinfo failed|NameResolutionError|Failed to resolve|Could not resolve host|Failed to establish a new connection|Network is unreachable|Connection refused/i;

export const NO_NETWORK_HINT = 'submission containers have no network: a function gets its data from its arguments and cannot download any';

/**
 * A file's failure as the participant should read it: when its message or its output shows a failed name lookup or
 * connection, the message says that submission containers have no network, which the bare error does not. Pure.
 */
export function withNetworkHint(failure: FileFailure, output: string): FileFailure {
  if (!NETWORK_FAILURE.test(failure.message) && !NETWORK_FAILURE.test(output)) return failure;
  return { ...failure, message: `${failure.message} (${NO_NETWORK_HINT})` };
}
