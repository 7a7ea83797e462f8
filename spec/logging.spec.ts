import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Job } from '../src/domain/job.js';
import { createJobLogger } from '../src/logging.js';

const JOB: Job = { analysisId: 1, submissionId: 7, userId: 'u', submissionFilename: 'a.zip', pythonVersion: '3.11' };

test('a job log is JSON lines with the submission; after close, late lines are dropped instead of thrown', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pvhub-logging-'));
  try {
    const { log, file, close } = createJobLogger('info', JOB, dir);
    const child = log.child({ file: 'a.csv' });
    log.info({ password: 'secret' }, 'first');
    close();
    child.info('after close');
    close();
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.is(lines.length, 1);
    assert.is(lines[0]?.['msg'], 'first');
    assert.is(lines[0]?.['submission'], 7);
    assert.is(lines[0]?.['password'], '[Redacted]');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
