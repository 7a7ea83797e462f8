/**
 * The per-job cost of egress: `npm run bench:egress` (or `npx tsx bench/egress.ts`), under a minute once the proxy
 * image exists (its first build takes a few minutes more). Times `withEgress` (src/operators/with-egress.ts), the
 * job's own step, on the real engine: for a task with an allowlist, its internal network, the proxy started on the
 * outward network (PVHUB_EGRESS_NETWORK, default `bridge`) and joined to it, until the proxy accepts connections;
 * then the teardown. For a task without one, the same step, which makes nothing. No request is sent anywhere.
 * Writes `results.egress_setup_seconds` into bench/results.json and leaves every other key as it was.
 *
 * Environment: BENCH_EGRESS_REPEATS (default 5) repeats of each variant, alternating.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { lastValueFrom, of } from 'rxjs';
import { DockerEngine } from '../src/adapters/docker-engine.js';
import { ensureEgressProxyImage } from '../src/adapters/egress-proxy-image.js';
import { loadConfig } from '../src/config.js';
import type { HostPort } from '../src/domain/egress-policy.js';
import { withEgress } from '../src/operators/with-egress.js';
import { alternating, median, positiveInt, resultSections, round, seconds, writeResults } from './common.js';

const REPEATS = positiveInt(process.env['BENCH_EGRESS_REPEATS'], 5);
const ALLOWLIST: readonly HostPort[] = [{ host: 'developer.nrel.gov', port: 443 }];

interface Timing {
  readonly setupMs: number;
  readonly teardownMs: number;
}

async function main(): Promise<void> {
  const engine = new DockerEngine();
  const settings = { ...loadConfig(process.env).egress, enabled: true };
  const ports = { engine, egressProxyImage: () => ensureEgressProxyImage(engine) };
  process.stderr.write('[bench] egress: the proxy image (built from Debian on first use)\n');
  await ports.egressProxyImage();
  const log = pino({ level: 'silent' });
  const timings: Record<'with' | 'without', Timing[]> = { with: [], without: [] };
  for (const [index, variant] of alternating<'with' | 'without'>(['with', 'without'], REPEATS).entries()) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-bench-egress-'));
    const scope = { dir, log, labels: { 'pvhub.bench': String(process.pid), 'pvhub.submission': `bench${index}` } };
    try {
      const started = performance.now();
      const ready = await lastValueFrom(
        withEgress(variant === 'with' ? ALLOWLIST : [], scope, ports, settings, () => of(performance.now())),
      );
      const ended = performance.now();
      const timing = { setupMs: ready - started, teardownMs: ended - ready };
      process.stderr.write(
        `[bench] egress ${variant} allowlist: set-up ${seconds(timing.setupMs)} s, teardown ${seconds(timing.teardownMs)} s\n`,
      );
      timings[variant].push(timing);
    } finally {
      await engine.removeContainers(scope.labels);
      await engine.removeNetworks(scope.labels);
      await rm(dir, { recursive: true, force: true });
    }
  }
  const summary = (list: readonly Timing[]) => ({
    setupSeconds: list.map((timing) => seconds(timing.setupMs)),
    medianSetupSeconds: seconds(median(list.map((timing) => timing.setupMs))),
    teardownSeconds: list.map((timing) => seconds(timing.teardownMs)),
    medianTeardownSeconds: seconds(median(list.map((timing) => timing.teardownMs))),
  });
  const withAllowlist = summary(timings.with);
  const withoutAllowlist = summary(timings.without);
  const section = {
    description:
      "withEgress (src/operators/with-egress.ts, the job's own step) on the real engine: set-up = the job's internal network, " +
      'its Squid proxy started on the outward network and joined to the internal one, until the proxy accepts connections; ' +
      "teardown = the proxy's log read and the proxy and network removed. Without an allowlist the same step makes nothing.",
    command: 'npm run bench:egress',
    measuredAt: new Date().toISOString(),
    loadAverage1m: round(os.loadavg()[0] ?? NaN, 2),
    outwardNetwork: settings.outwardNetwork,
    repeats: REPEATS,
    median: withAllowlist.medianSetupSeconds,
    values: { withAllowlist, withoutAllowlist },
  };
  await writeResults({ results: { ...(await resultSections()), egress_setup_seconds: section } });
  console.log(
    JSON.stringify({
      egress_setup_seconds: section.median,
      withoutAllowlist: withoutAllowlist.medianSetupSeconds,
      teardown: withAllowlist.medianTeardownSeconds,
    }),
  );
}

await main();
