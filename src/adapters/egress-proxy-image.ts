import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ContainerEngine } from '../ports/container-engine.js';

export const EGRESS_PROXY_IMAGE = 'pvhub-egress-proxy:bookworm';
const BUILD_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../container/egress-proxy/build-proxy-image.sh',
);

/**
 * The proxy image's tag, made on first use: no registry is reachable, so container/egress-proxy/build-proxy-image.sh
 * builds it from Debian (a few minutes, once per engine). Rejects with the script's last line.
 */
export async function ensureEgressProxyImage(engine: ContainerEngine): Promise<string> {
  if (await engine.imageExists(EGRESS_PROXY_IMAGE)) return EGRESS_PROXY_IMAGE;
  try {
    await promisify(execFile)('bash', [BUILD_SCRIPT, EGRESS_PROXY_IMAGE.split(':')[1] ?? ''], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').pop();
    throw new Error(`the egress proxy image cannot be built: ${detail}`, { cause: error });
  }
  return EGRESS_PROXY_IMAGE;
}
