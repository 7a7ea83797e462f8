import { type HostPort } from './egress-policy.js';

/** The port the proxy listens on, on the job's network. */
export const PROXY_PORT = 3128;

/** The line Squid writes once it accepts connections: the proxy is ready. */
export const PROXY_READY_LINE = 'Accepting HTTP Socket connections';

export interface ProxyPolicy {
  readonly allow: readonly HostPort[];
  /** The job's internal network: the only clients the proxy serves. */
  readonly clientSubnet: string;
  /** Addresses and ranges (CIDR) never connected to, checked on what a name resolves to. */
  readonly deny: readonly string[];
}

/** Every value goes into squid.conf as a bare token: anything else could end a line and start a directive. */
const TOKEN = /^[A-Za-z0-9.:/_-]+$/;

function token(value: string | number): string {
  const text = String(value);
  if (!TOKEN.test(text)) throw new Error(`not a plain squid.conf token: ${JSON.stringify(text)}`);
  return text;
}

/**
 * The proxy's whole configuration. Requests are judged in this order, the first match deciding:
 * the cache manager (Squid's admin interface) is refused; clients outside the job's network are refused; a listed
 * host:port pair is allowed unless an address it resolves to is denied; everything else is refused. The host is
 * matched as written (`dstdomain -n`, no reverse lookup), so an unlisted name is refused before it is ever resolved
 * and a submission cannot use the proxy's lookups as a channel. Nothing is cached, nothing about the client is
 * forwarded, and one line per request (allowed or refused) goes to stdout: the job's log reads it.
 */
export function squidConfig(policy: ProxyPolicy): string {
  const lines = [
    `http_port ${PROXY_PORT}`,
    'visible_hostname pvhub-egress-proxy',
    'httpd_suppress_version_string on',
    'pid_filename none',
    'coredump_dir none',
    'cache deny all',
    'cache_mem 0 MB',
    'pinger_enable off',
    'icp_port 0',
    'htcp_port 0',
    'via off',
    'forwarded_for delete',
    'max_filedescriptors 1024',
    'shutdown_lifetime 0 seconds',
    'logformat pvhub %ts.%03tu %>a %Ss/%03>Hs %rm %ru %<a',
    'access_log stdio:/dev/stdout pvhub',
    'cache_log stdio:/dev/stderr',
    'logfile_rotate 0',
    `acl job_network src ${token(policy.clientSubnet)}`,
    `acl denied_destination dst ${policy.deny.map(token).join(' ')}`,
    'http_access deny manager',
    'http_access deny !job_network',
  ];
  policy.allow.forEach(({ host, port }, index) => {
    lines.push(`acl listed_${index}_host dstdomain -n ${token(host)}`, `acl listed_${index}_port port ${token(port)}`);
    lines.push(`http_access allow listed_${index}_host listed_${index}_port !denied_destination`);
  });
  lines.push('http_access deny all');
  return `${lines.join('\n')}\n`;
}

/** One line of the proxy's access log, as the job's log records it. */
export interface ProxyAccess {
  readonly client: string;
  /** Squid's result and HTTP status: TCP_TUNNEL/200 for an opened tunnel, TCP_DENIED/403 for a refusal. */
  readonly result: string;
  readonly method: string;
  readonly target: string;
  /** The address connected to; '-' when none was. */
  readonly server: string;
  readonly allowed: boolean;
}

/** A line of the `pvhub` log format above; undefined for anything else. */
export function parseProxyAccess(line: string): ProxyAccess | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 6 || !/^\d+\.\d{3}$/.test(fields[0] ?? '')) return undefined;
  const [, client = '', result = '', method = '', target = '', server = ''] = fields;
  return { client, result, method, target, server, allowed: !result.startsWith('TCP_DENIED') && server !== '-' };
}
