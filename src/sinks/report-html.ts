import { escapeHtml } from '../domain/html.js';
import type { ResultsObject } from '../domain/results.js';
import type { FailedFile, ScoredRows } from '../domain/tally.js';
import type { TaskConfig } from '../domain/task-config.js';

/** What the built-in report shows: the job's results and every file, scored or failed. */
export interface ReportInput {
  readonly config: TaskConfig;
  readonly publicResults: ResultsObject;
  readonly privateResults: ResultsObject;
  readonly rows: ScoredRows;
  readonly failed: readonly FailedFile[];
  /** Why the task's own template was not used, shown at the top; undefined when there is nothing to say. */
  readonly note?: string;
}

function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(6)));
}

/** A table's parts: its head, then each row as it is made, then its end. */
function* tableParts(header: readonly string[], rows: Iterable<readonly string[]>, className = ''): Generator<string> {
  const head = header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('');
  yield `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>\n`;
  let first = true;
  for (const row of rows) {
    yield `${first ? '' : '\n'}<tr>${row.join('')}</tr>`;
    first = false;
  }
  yield '\n</tbody></table>';
}

const table = (header: readonly string[], rows: Iterable<readonly string[]>, className = '') =>
  [...tableParts(header, rows, className)].join('');

const td = (text: string, className = '') => `<td${className ? ` class="${className}"` : ''}>${escapeHtml(text)}</td>`;

function metricsTable(results: ResultsObject, labels: Readonly<Record<string, string>>): string {
  const rows = Object.entries(results.metrics).map(([key, value]) => [
    td(labels[key] ?? key),
    td(key, 'key'),
    td(formatNumber(value), 'num'),
  ]);
  rows.push([td('Mean runtime (s)'), td('mean_runtime', 'key'), td(formatNumber(results.mean_runtime), 'num')]);
  rows.push([td('Median runtime (s)'), td('median_runtime', 'key'), td(formatNumber(results.median_runtime), 'num')]);
  return table(['Metric', 'Key', 'Value'], rows);
}

const CHART = { width: 640, height: 260, left: 56, right: 16, top: 16, bottom: 48 };

/** An inline SVG histogram; the bin count grows with the square root of the number of values, up to 30. */
export function histogramSvg(label: string, values: readonly number[]): string {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return '<p>No values to chart.</p>';
  const low = finite.reduce((a, b) => Math.min(a, b));
  const high = finite.reduce((a, b) => Math.max(a, b));
  const bins = high === low ? 1 : Math.min(30, Math.max(1, Math.ceil(Math.sqrt(finite.length))));
  const width = high === low ? 1 : (high - low) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const value of finite) {
    const bin = Math.min(bins - 1, Math.floor((value - low) / width));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const most = Math.max(...counts);
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const barWidth = plotWidth / bins;
  const bars = counts.map((count, index) => {
    const height = (count / most) * plotHeight;
    const from = low + index * width;
    const tip = `${formatNumber(from)} to ${formatNumber(from + width)}: ${count} file(s)`;
    return `<rect x="${(CHART.left + index * barWidth + 1).toFixed(1)}" y="${(CHART.top + plotHeight - height).toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" height="${height.toFixed(1)}" fill="#3b7dd8"><title>${escapeHtml(tip)}</title></rect>`;
  });
  const baseline = CHART.top + plotHeight;
  const text = (x: number, y: number, content: string, anchor: string) =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" font-size="12">${escapeHtml(content)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}">`,
    `<title>${escapeHtml(`Histogram of ${label} over ${finite.length} file(s)`)}</title>`,
    ...bars,
    `<line x1="${CHART.left}" y1="${baseline}" x2="${CHART.width - CHART.right}" y2="${baseline}" stroke="#333"/>`,
    `<line x1="${CHART.left}" y1="${CHART.top}" x2="${CHART.left}" y2="${baseline}" stroke="#333"/>`,
    text(CHART.left, baseline + 16, formatNumber(low), 'start'),
    text(CHART.width - CHART.right, baseline + 16, formatNumber(high === low ? high + 1 : high), 'end'),
    text(CHART.left + plotWidth / 2, baseline + 36, label, 'middle'),
    text(CHART.left - 6, CHART.top + 10, String(most), 'end'),
    text(CHART.left - 6, baseline, '0', 'end'),
    '</svg>',
  ].join('\n');
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:72rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}td.key{font-family:monospace;color:#555}
td.failed{color:#a40000}.note{background:#fff6d6;border:1px solid #e0c060;padding:.5rem .8rem}dt{font-weight:600}dd{margin:0 0 .4rem 1rem}`;

/**
 * The built-in report: one self-contained HTML page (no scripts, no external resources) with the summary, the
 * public and private metrics under the task's display labels, a histogram of the main metric and every file, the
 * failed ones with their codes. Every piece of text is escaped. Pure. In parts, a file's row each, so that a job
 * of 10,000 files writes its page without holding it.
 */
export function* reportHtml(input: ReportInput): Generator<string> {
  const { config, publicResults, privateResults, rows, failed } = input;
  const mainKey = config.scoreKeys.find((key) => key !== 'runtime') ?? 'runtime';
  const total = rows.length + failed.length;
  function* fileRows(): Generator<string[]> {
    for (let row = 0; row < rows.length; row += 1)
      yield [
        td(rows.fileName(row)),
        ...config.scoreKeys.map((key) => td(formatNumber(rows.value(row, key)), 'num')),
        td('scored'),
      ];
    for (const { fileName, failure } of failed)
      yield [td(fileName), ...config.scoreKeys.map(() => td('')), td(`${failure.code}: ${failure.message}`, 'failed')];
  }
  const mainValues = Array.from({ length: rows.length }, (_, row) => rows.value(row, mainKey) ?? NaN);
  const summary: Array<[string, string]> = [
    ['Function', config.functionName],
    ['Comparison', config.comparisonType],
    [
      'Files',
      `${total} (${rows.length} scored, ${failed.length} failed; ${publicResults.number_of_files} scored on the leaderboard)`,
    ],
    ['Function parameters', publicResults.function_parameters.join(', ') || 'n/a'],
    ['Data requirements', publicResults.data_requirements.join(', ')],
  ];
  yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Results: ${config.functionName}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(`Results: ${config.functionName}`)}</h1>
${input.note ? `<p class="note">${escapeHtml(input.note)}</p>` : ''}
<dl>${summary.map(([term, text]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(text)}</dd>`).join('')}</dl>
<h2>Leaderboard metrics</h2>
${metricsTable(publicResults, config.displayMetrics)}
<h2>All files</h2>
${metricsTable(privateResults, config.displayMetrics)}
<h2>${escapeHtml(`Distribution of ${config.displayMetrics[mainKey] ?? mainKey}`)}</h2>
${histogramSvg(mainKey, mainValues)}
<h2>Files</h2>
`;
  yield* tableParts(['File', ...config.scoreKeys, 'Status'], fileRows(), 'files');
  yield '\n</body>\n</html>\n';
}
