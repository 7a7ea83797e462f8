import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defer, type Observable } from 'rxjs';
import {
  DENIED_RANGES,
  type EgressSettings,
  egressAllowlist,
  formatHostPort,
  type HostPort,
} from '../domain/egress-policy.js';
import { WorkerError } from '../domain/errors.js';
import { parseProxyAccess, PROXY_PORT, PROXY_READY_LINE, squidConfig } from '../domain/squid-config.js';
import type { ContainerEngine, Mount, RunNetwork } from '../ports/container-engine.js';
import type { JobScope } from './job-scope.js';
import { usingResource } from './using-resource.js';

/** What a job's runs need to reach the hosts its task lists, and nothing else. */
export interface JobEgress {
  readonly allowed: readonly HostPort[];
  readonly network: RunNetwork;
  /** Mounted into every run: the resolv.conf that resolves nothing. */
  readonly mounts: readonly Mount[];
  /** The proxy's container. */
  readonly proxy: string;
}

export interface EgressPorts {
  readonly engine: ContainerEngine;
  /** The proxy image's tag, made when the engine lacks it. */
  readonly egressProxyImage: () => Promise<string>;
}

const PROXY_ROLE = { 'pvhub.role': 'egress-proxy' };
const PROXY_LIMITS = { memoryBytes: 256 * 1024 ** 2, nanoCpus: 500_000_000, pidsLimit: 64 };
const PROXY_READY_MS = 30_000;
/** The proxy's lines the job's log receives at most (its log on the engine is bounded too). */
const PROXY_LOG_LINES = 5_000;
/** glibc asks the resolvers listed here; 127.0.0.1 in the run's own namespace has none, so every lookup fails at once. */
const NO_RESOLVER =
  '# No resolver: the job proxy resolves the hosts the task lists, and only those.\nnameserver 127.0.0.1\noptions attempts:1 timeout:1\n';

async function writeReadable(file: string, text: string): Promise<string> {
  await writeFile(file, text);
  // The proxy runs as its own unprivileged user, the submission as another: both read these, neither owns them.
  await chmod(file, 0o644);
  return file;
}

/**
 * Makes the job's way out: its own internal network, and on it a proxy whose second network is the outward one. The
 * proxy allows the listed pairs and refuses the denied ranges, the engine's addresses and the operator's own.
 */
async function openEgress(
  allowed: readonly HostPort[],
  scope: JobScope,
  ports: EgressPorts,
  settings: EgressSettings,
): Promise<JobEgress> {
  const started = Date.now();
  const image = await ports.egressProxyImage();
  const dir = path.join(scope.dir, 'egress');
  await mkdir(dir, { recursive: true });
  const network = await ports.engine.createInternalNetwork(
    `pvhub-job-${scope.labels['pvhub.submission'] ?? 'x'}-${randomUUID().slice(0, 8)}`,
    scope.labels,
  );
  const deny = [...DENIED_RANGES, ...settings.deny, ...(await ports.engine.engineAddresses())];
  const config = await writeReadable(
    path.join(dir, 'squid.conf'),
    squidConfig({ allow: allowed, clientSubnet: network.subnet, deny }),
  );
  const resolvConf = await writeReadable(path.join(dir, 'resolv.conf'), NO_RESOLVER);
  const proxy = await ports.engine.startService({
    image,
    mounts: [{ hostPath: config, containerPath: '/etc/pvhub-proxy/squid.conf', readOnly: true }],
    labels: { ...scope.labels, ...PROXY_ROLE },
    user: 'proxy',
    ...PROXY_LIMITS,
    network: settings.outwardNetwork,
    readyLine: PROXY_READY_LINE,
    readyTimeoutMs: PROXY_READY_MS,
  });
  const address = await ports.engine.connectToNetwork(proxy, network.name);
  const egress: JobEgress = {
    allowed,
    network: { name: network.name, proxyUrl: `http://${address}:${PROXY_PORT}` },
    mounts: [{ hostPath: resolvConf, containerPath: '/etc/resolv.conf', readOnly: true }],
    proxy,
  };
  scope.log.info(
    {
      allowed: allowed.map(formatHostPort),
      network: network.name,
      proxy: egress.network.proxyUrl,
      setupMs: Date.now() - started,
    },
    'egress ready',
  );
  return egress;
}

async function removeEgress(scope: JobScope, ports: EgressPorts): Promise<void> {
  await ports.engine.removeContainers({ ...scope.labels, ...PROXY_ROLE });
  await ports.engine.removeNetworks(scope.labels);
}

/** The proxy's access lines into the job's log (one per request, allowed or refused), then the proxy and network go. */
async function closeEgress(egress: JobEgress, scope: JobScope, ports: EgressPorts): Promise<void> {
  try {
    const { stdout, stderr } = await ports.engine.serviceOutput(egress.proxy, PROXY_LOG_LINES);
    for (const access of stdout.split('\n').map(parseProxyAccess)) {
      if (access !== undefined)
        scope.log.info({ egress: access }, access.allowed ? 'egress allowed' : 'egress refused');
    }
    if (stderr.trim() !== '') scope.log.debug({ output: stderr }, 'egress proxy output');
  } catch (error) {
    scope.log.warn({ err: error }, 'the egress proxy log could not be read');
  }
  await removeEgress(scope, ports);
}

/**
 * Runs `use` with the job's egress when its task lists hosts (config.json's network_allowlist) the worker allows, and without any (undefined: runs get
 * no network) otherwise, at no cost. A task asking for more than the worker allows fails here, before any image is
 * built. The network and proxy are removed when `use` ends, however it ends; the job's scope removes them again by
 * label, for the paths that cut this one short.
 */
export function withEgress<T>(
  taskAllowlist: readonly HostPort[],
  scope: JobScope,
  ports: EgressPorts,
  settings: EgressSettings,
  use: (egress: JobEgress | undefined) => Observable<T>,
): Observable<T> {
  return defer(() => {
    const allowed = egressAllowlist(taskAllowlist, settings);
    if (allowed.length === 0) return use(undefined);
    const open$ = defer(() =>
      openEgress(allowed, scope, ports, settings).catch(async (error: unknown) => {
        await removeEgress(scope, ports).catch(() => undefined);
        throw new WorkerError('wr_500', `the job's network could not be set up: ${(error as Error).message}`, {
          cause: error,
          retryable: true,
        });
      }),
    );
    return usingResource(open$, use, (egress) => defer(() => closeEgress(egress, scope, ports)));
  });
}
