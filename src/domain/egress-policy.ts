import { isIP } from 'node:net';
import { WorkerError } from './errors.js';

/** One destination a task may reach: a DNS name or an IPv4 literal, and a TCP port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** What the operator lets a task list: an exact host, or every name under a domain (`*.nrel.gov`), on one port. */
export interface HostPattern {
  readonly host: string;
  readonly subdomains: boolean;
  readonly port: number;
}

/** The operator's side of egress, read by loadConfig. */
export interface EgressSettings {
  /** Whether a task's network_allowlist is honoured at all; when off, a task that lists hosts is refused. */
  readonly enabled: boolean;
  /** The pairs a task may list; undefined: any pair. */
  readonly cap: readonly HostPattern[] | undefined;
  /** The Docker network that leads out: the proxy's second network, and the only one it reaches the world on. */
  readonly outwardNetwork: string;
  /** More ranges (CIDR) the proxy never connects to: a public address of the engine's host, a LAN that is not private. */
  readonly deny: readonly string[];
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isDnsName(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label)) && !/^[0-9.]+$/.test(host);
}

/** `host:port` → its parts, or a reason it is not one. IPv6 literals are not offered: the proxy's world is IPv4. */
function splitHostPort(text: string): { host: string; port: number } | string {
  const at = text.lastIndexOf(':');
  if (at <= 0) return `"${text}" is not host:port`;
  const host = text.slice(0, at).toLowerCase();
  const portText = text.slice(at + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) return `"${text}" has no port between 1 and 65535`;
  return { host, port };
}

/** One allowlist entry of a task; a reason when it is malformed. */
export function parseHostPort(text: string): HostPort | string {
  const parts = splitHostPort(text.trim());
  if (typeof parts === 'string') return parts;
  if (!isDnsName(parts.host) && isIP(parts.host) !== 4) return `"${text}" names neither a DNS name nor an IPv4 address`;
  return parts;
}

/** One entry of the operator's cap: `host:port` or `*.domain:port`; a reason when it is malformed. */
export function parseHostPattern(text: string): HostPattern | string {
  const parts = splitHostPort(text.trim());
  if (typeof parts === 'string') return parts;
  const subdomains = parts.host.startsWith('*.');
  const host = subdomains ? parts.host.slice(2) : parts.host;
  if (!isDnsName(host) && (subdomains || isIP(host) !== 4))
    return `"${text}" names neither a host, an IPv4 address nor *.domain`;
  return { host, subdomains, port: parts.port };
}

/** `a.b.c.d/n` (or a bare IPv4 address, taken as /32); undefined when it is not one. */
export function parseCidr(text: string): string | undefined {
  const [address = '', prefix, extra] = text.trim().split('/');
  if (extra !== undefined || isIP(address) !== 4) return undefined;
  if (prefix === undefined) return `${address}/32`;
  return /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32 ? `${address}/${Number(prefix)}` : undefined;
}

export const formatHostPort = ({ host, port }: HostPort) => `${host}:${port}`;

function covers(pattern: HostPattern, pair: HostPort): boolean {
  if (pattern.port !== pair.port) return false;
  return pattern.subdomains ? pair.host.endsWith(`.${pattern.host}`) : pair.host === pattern.host;
}

/**
 * The pairs a job may reach: the task's allowlist as the operator allows it. Empty means no network, as for every
 * task without an allowlist. A task that lists pairs the worker does not allow is refused before any container runs
 * (wr_500: the worker's policy, not the submission, stops it), naming what is not allowed.
 */
export function egressAllowlist(taskAllowlist: readonly HostPort[], settings: EgressSettings): readonly HostPort[] {
  if (taskAllowlist.length === 0) return [];
  const listed = taskAllowlist.map(formatHostPort).join(', ');
  if (!settings.enabled) {
    throw new WorkerError(
      'wr_500',
      `the task needs network access to ${listed}, and this worker allows none (PVHUB_EGRESS is off)`,
    );
  }
  const { cap } = settings;
  const beyond = cap === undefined ? [] : taskAllowlist.filter((pair) => !cap.some((pattern) => covers(pattern, pair)));
  if (beyond.length > 0) {
    throw new WorkerError(
      'wr_500',
      `the task lists ${beyond.map(formatHostPort).join(', ')}, beyond what this worker allows (PVHUB_EGRESS_CAP)`,
    );
  }
  return taskAllowlist;
}

/**
 * Where the proxy never connects, whatever a name resolves to (RFC 6890's special-purpose ranges that can reach
 * something on this side of the internet): this network, private ranges, shared address space, loopback, link-local
 * (cloud metadata at 169.254.169.254), IETF protocol assignments, benchmarking, multicast and reserved; and their
 * IPv6 counterparts, with the forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo). The documentation
 * ranges (TEST-NET) are not here: nothing on the internet answers on them, and a host that uses one is the engine
 * itself or its LAN, which `engineAddresses` and PVHUB_EGRESS_DENY cover.
 */
export const DENIED_RANGES: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  '100::/64',
  '2001::/32',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];
