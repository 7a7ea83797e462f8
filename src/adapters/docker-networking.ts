import os from 'node:os';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { InternalNetwork, RunNetwork, ServiceSpec } from '../ports/container-engine.js';
import { forceRemove, labelFilter, statusOf } from './docker-common.js';

/** A service's log kept on the engine's disk: enough for a job's proxy lines, bounded whatever a submission asks it. */
const SERVICE_LOG = { Type: 'json-file', Config: { 'max-size': '16m', 'max-file': '1' } };
const SERVICE_TMP = 'rw,noexec,nosuid,nodev,size=16m';

/** What a run on a job's network sees: the proxy, in the spellings that Python, curl and R each read. */
export function runNetworkEnv(network: RunNetwork | undefined): string[] {
  if (network === undefined) return [];
  return ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].map((name) => `${name}=${network.proxyUrl}`);
}

/** A non-TTY container's log, as the engine frames it: an 8-byte header (stream, size) before each chunk. */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    (buffer[at] === 2 ? err : out).push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Resolves once `line` appears in the container's output; rejects, with the output's tail, if it ends first or is late. */
async function waitForLine(
  docker: Dockerode,
  container: Dockerode.Container,
  line: string,
  timeoutMs: number,
): Promise<void> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & {
    destroy?: () => void;
  };
  const text = new PassThrough();
  docker.modem.demuxStream(stream, text, text);
  let seen = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`${why}: ${seen.trim().split('\n').slice(-5).join(' | ')}`));
      const timer = setTimeout(() => fail(`not ready within ${timeoutMs / 1000} s`), timeoutMs);
      text.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-16_384);
        if (seen.includes(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      const ended = () => {
        clearTimeout(timer);
        fail('ended before it was ready');
      };
      stream.on('end', ended);
      stream.on('error', ended);
    });
  } finally {
    stream.destroy?.();
  }
}

/**
 * The networks and services that give a job its way out (operators/with-egress.ts), over a Docker engine. Its own
 * class so the engine adapter stays about runs and builds; DockerEngine extends it.
 */
export class DockerNetworking {
  constructor(protected readonly docker: Dockerode) {}

  /**
   * `Internal` takes away the route out. Without an address on the bridge (inhibit_ipv4), the engine's host is not
   * on the network either: an internal network otherwise still reaches every service the host listens on.
   */
  async createInternalNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<InternalNetwork> {
    const network = await this.docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      EnableIPv6: false,
      Labels: { ...labels },
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
    });
    const info = (await network.inspect()) as { IPAM?: { Config?: Array<{ Subnet?: string }> } };
    const subnet = info.IPAM?.Config?.[0]?.Subnet;
    if (subnet === undefined) {
      await network.remove().catch(() => undefined);
      throw new Error(`network ${name} has no subnet`);
    }
    return { name, subnet };
  }

  async connectToNetwork(container: string, network: string): Promise<string> {
    await this.docker.getNetwork(network).connect({ Container: container });
    const info = await this.docker.getContainer(container).inspect();
    const address = info.NetworkSettings.Networks[network]?.IPAddress;
    if (address === undefined || address === '') throw new Error(`container ${container} has no address on ${network}`);
    return address;
  }

  async removeNetworks(labels: Readonly<Record<string, string>>): Promise<number> {
    const found = await this.docker.listNetworks({ filters: { label: labelFilter(labels) } });
    let removed = 0;
    for (const info of found) {
      try {
        await this.docker.getNetwork(info.Id).remove();
        removed += 1;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
    return removed;
  }

  async startService(spec: ServiceSpec): Promise<string> {
    const container = await this.docker.createContainer({
      Image: spec.image,
      User: spec.user,
      Labels: { ...spec.labels },
      Env: [],
      HostConfig: {
        NetworkMode: spec.network,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': SERVICE_TMP },
        Memory: spec.memoryBytes,
        MemorySwap: spec.memoryBytes,
        NanoCpus: spec.nanoCpus,
        PidsLimit: spec.pidsLimit,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
        LogConfig: SERVICE_LOG,
        Binds: spec.mounts.map((mount) => `${mount.hostPath}:${mount.containerPath}:${mount.readOnly ? 'ro' : 'rw'}`),
        AutoRemove: false,
      },
    });
    try {
      await container.start();
      await waitForLine(this.docker, container, spec.readyLine, spec.readyTimeoutMs);
      return container.id;
    } catch (error) {
      await forceRemove(container);
      throw error;
    }
  }

  async serviceOutput(container: string, lines: number): Promise<{ stdout: string; stderr: string }> {
    const buffer = (await this.docker
      .getContainer(container)
      .logs({ follow: false, stdout: true, stderr: true, tail: lines })) as Buffer;
    return demux(buffer);
  }

  /**
   * The gateways of every network the engine has (the host's side of each bridge), and the interfaces of the host the
   * worker runs on, which is the engine's host when the worker runs beside it.
   */
  async engineAddresses(): Promise<string[]> {
    const networks = await this.docker.listNetworks();
    const gateways = networks.flatMap((network) =>
      (network.IPAM?.Config ?? []).map((config) => (config as { Gateway?: string }).Gateway ?? ''),
    );
    const interfaces = Object.values(os.networkInterfaces()).flatMap((list) =>
      (list ?? []).filter((entry) => entry.family === 'IPv4').map((entry) => entry.address),
    );
    return [...new Set([...gateways, ...interfaces].filter((address) => address !== ''))];
  }
}
