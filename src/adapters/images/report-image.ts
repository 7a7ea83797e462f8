import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { parseRequirements } from '../../domain/requirements.js';
import type { ContainerEngine } from '../../ports/container-engine.js';
import { baseImage } from './base-images.js';
import { dockerfileFor, hashField } from './recipes.js';
import { downloadWheelhouse } from './wheel-download.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** marimo, pandas and the plotting packages the Hub's templates use, pinned: the report image's whole content. */
const REQUIREMENTS = path.join(ROOT, 'container/host-requirements.txt');
const RECIPE = path.join(ROOT, 'container/report/Dockerfile');
/** The python the requirements are pinned for, and the base image setup.sh provides. */
const REPORT_PYTHON = '3.11';
/** The image is ours, not a submission's: the submission size limit does not apply, this guard does. */
const MAX_IMAGE_BYTES = 4 * 1024 ** 3;

export interface ReportImageDeps {
  readonly engine: ContainerEngine;
  /** Time for the image build itself (the wheel resolution before it has pip's own limit). */
  readonly buildTimeLimitMs: number;
  readonly hostPython: string;
  /** Where a base image the engine lacks is pulled from (config PVHUB_BASE_IMAGE_REPOSITORY). */
  readonly baseImageRepository: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** Content-addressed: the same requirements, recipe and base give the same tag, so the image is built once. */
async function reportImageTag(baseImage: string): Promise<string> {
  const hash = createHash('sha256');
  hashField(hash, 'python', REPORT_PYTHON);
  hashField(hash, 'base', baseImage);
  hashField(hash, 'dockerfile', await readFile(RECIPE));
  hashField(hash, 'requirements', await readFile(REQUIREMENTS));
  return `pvhub-report:${hash.digest('hex').slice(0, 32)}`;
}

async function buildReportImage(tag: string, baseImage: string, deps: ReportImageDeps): Promise<void> {
  // The context is streamed to the engine, so it may live in the worker's own temporary folder.
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-report-image-'));
  try {
    const contextDir = path.join(workDir, 'context');
    const wheelhouse = path.join(contextDir, 'wheelhouse');
    await mkdir(wheelhouse, { recursive: true });
    await writeFile(path.join(contextDir, 'Dockerfile'), dockerfileFor(await readFile(RECIPE, 'utf8'), baseImage));
    const started = Date.now();
    const onLog = (line: string) => deps.log.debug({ build: line.trimEnd() }, 'report image');
    const requirements = parseRequirements(await readFile(REQUIREMENTS, 'utf8'));
    await downloadWheelhouse(
      { pythonVersion: REPORT_PYTHON, workDir, onLog, hostPython: deps.hostPython, signal: deps.signal },
      requirements,
      wheelhouse,
    );
    await deps.engine.buildImage(
      {
        tag,
        contextDir,
        labels: { 'pvhub.managed': 'true' },
        timeoutMs: deps.buildTimeLimitMs,
        maxSizeBytes: MAX_IMAGE_BYTES,
        signal: deps.signal,
      },
      onLog,
    );
    deps.log.info({ image: tag, seconds: (Date.now() - started) / 1000 }, 'report image built');
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The image task templates render in: marimo and the plotting packages on python:3.11-slim, installed with no
 * network from wheels the host's pip resolved. Built on first use and reused after that, by this worker and every
 * later one on the same engine. Rejects when it cannot be built; the next job tries again.
 */
export async function ensureReportImage(deps: ReportImageDeps): Promise<string> {
  const base = await baseImage(deps.engine, deps.baseImageRepository, REPORT_PYTHON);
  const tag = await reportImageTag(base);
  if (!(await deps.engine.imageExists(tag))) await buildReportImage(tag, base, deps);
  return tag;
}
