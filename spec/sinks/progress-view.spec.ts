import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobEvent } from '../../src/domain/job-event.js';
import type { BuiltWorkspace, Workspace } from '../../src/domain/workspace.js';
import { progressView } from '../../src/sinks/progress-view.js';

/** What the CLI prints on a stream that is not a terminal (a CI log), line by line. */
function printed(events: readonly JobEvent[]): string[] {
  let text = '';
  const stream = { isTTY: false, write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WriteStream;
  const view = progressView(stream, () => 0);
  for (const event of events) view(event);
  return text.split('\n').filter((line) => line !== '');
}

const WORKSPACE = {} as Workspace & BuiltWorkspace;
const staged: JobEvent = {
  type: 'staged',
  files: 13,
  functionName: 'detect_time_shifts',
  workspace: WORKSPACE,
  bytes: 1000,
};
const image = (cached: boolean, warnings: readonly string[] = []): JobEvent => ({
  type: 'image',
  tag: 'pvhub-submission:abc',
  cached,
  warnings,
  workspace: WORKSPACE,
});

test('"image: building" only when a build happens, not for an image from the cache', () => {
  assert.equal(printed([staged, image(true)]), [
    'staged: 13 data file(s), function detect_time_shifts',
    'image: pvhub-submission:abc (cached) after 0:00',
  ]);
  assert.equal(printed([staged, { type: 'building' }, image(false)]), [
    'staged: 13 data file(s), function detect_time_shifts',
    'image: building (a first build resolves and installs the requirements, minutes; later runs reuse it)',
    'image: pvhub-submission:abc (built) after 0:00',
  ]);
});

test("the image's warnings are printed as warning: lines", () => {
  const lines = printed([
    staged,
    { type: 'building' },
    image(false, ['the zip has no requirements.txt: only the standard library, numpy and pandas are installed']),
  ]);
  assert.ok(
    lines.includes(
      'warning: the zip has no requirements.txt: only the standard library, numpy and pandas are installed',
    ),
    lines.join('\n'),
  );
});

test.run();
