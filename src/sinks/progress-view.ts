import type { JobEvent } from '../domain/job-event.js';
import { etaSeconds, type Tally } from '../domain/tally.js';
import type { ResultsObject } from '../domain/results.js';

function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`
    : `${m}:${String(s).padStart(2, '0')}`;
}

function formatNumber(value: number | null): string {
  if (value === null) return 'n/a';
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0)
    ? value.toExponential(3)
    : value.toFixed(4);
}

/** The one-screen summary at the end of a local run. Pure. */
export function summaryText(
  results: ResultsObject,
  tally: Pick<Tally, 'rows' | 'failed'>,
  outDir: string,
  reports: readonly string[],
): string {
  const { failed } = tally;
  const offLeaderboard = tally.rows.length - results.number_of_files;
  const lines = [
    '',
    `Scored ${tally.rows.length} file(s)${offLeaderboard > 0 ? ` (${results.number_of_files} on the leaderboard)` : ''}${failed.length > 0 ? `, ${failed.length} failed` : ''}.`,
    '',
    'Public metrics:',
    ...Object.entries(results.metrics).map(([key, value]) => `  ${key.padEnd(44)} ${formatNumber(value)}`),
  ];
  if (!('mean_runtime' in results.metrics))
    lines.push(`  ${'mean_runtime (s)'.padEnd(44)} ${formatNumber(results.mean_runtime)}`);
  if (failed.length > 0) {
    lines.push('', 'Failed files:');
    for (const { fileName, failure } of failed.slice(0, 10))
      lines.push(`  ${fileName}: ${failure.code}: ${failure.message.slice(0, 160)}`);
    if (failed.length > 10) lines.push(`  … and ${failed.length - 10} more (see the log)`);
  }
  lines.push('', `Results: ${outDir}/results.json`, ...reports.map((name) => `Report:  ${outDir}/${name}`), '');
  return lines.join('\n');
}

/**
 * Shows a job's progress to a person: one line redrawn in place on a terminal, plain lines otherwise (CI logs).
 * Returns the handler for each event.
 */
export function progressView(stream: NodeJS.WriteStream, now: () => number = Date.now): (event: JobEvent) => void {
  const started = now();
  const tty = stream.isTTY === true;
  const elapsed = () => (now() - started) / 1000;
  return (event) => {
    switch (event.type) {
      case 'staged':
        stream.write(`staged: ${event.files} data file(s), function ${event.functionName}\n`);
        // The build makes no events of its own and may take minutes: say so before the wait, not after.
        stream.write(
          'image: building (a first build resolves and installs the requirements, minutes; later runs reuse it)\n',
        );
        break;
      case 'image':
        stream.write(`image: ${event.tag}${event.cached ? ' (cached)' : ' (built)'} after ${clock(elapsed())}\n`);
        break;
      case 'file': {
        const { progress } = event;
        const eta = etaSeconds(progress, event.parallel);
        const line = `files ${progress.done}/${progress.total}  failed ${progress.failed}  elapsed ${clock(elapsed())}  eta ${eta === undefined ? '?' : clock(eta)}`;
        if (tty) {
          stream.write(`\r\x1b[K${line}`);
          if (progress.done === progress.total) stream.write('\n');
        } else {
          const name = event.score.kind === 'scored' ? event.score.row.file_name : event.score.task.metadata.file_name;
          const status =
            event.score.kind === 'scored'
              ? 'ok'
              : `${event.score.failure.code} ${event.score.failure.message.slice(0, 120)}`;
          stream.write(`${line}  ${name}: ${status}\n`);
        }
        break;
      }
      case 'finished':
        if (tty) stream.write('\r\x1b[K');
        break;
      case 'failed':
      case 'cancelled':
        if (tty) stream.write('\n');
        break;
    }
  };
}
