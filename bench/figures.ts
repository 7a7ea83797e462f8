import os from 'node:os';
import { type BenchFigure, type BenchSection, machine, readResults, round, writeResults } from './common.js';

/**
 * The figures of issue 14's targets, in the order the table prints them, with the target a figure not measured yet
 * is held to. A section states its own target with each figure it measures; the table shows that one.
 */
export const ISSUE_FIGURES: ReadonlyArray<readonly [name: string, target: string]> = [
  ['per_file_overhead_ratio', '≤ 0.7'],
  ['slot_occupancy', '≥ 90'],
  ['cached_image_seconds', '≤ 5'],
  ['build_vs_pip_install_ratio', '≤ 1.3'],
  ['rss_mb_1000', '≤ 150'],
  ['rss_mb_10000', '≤ 150'],
  ['rss_growth_percent', '< 10'],
  ['scoring_vs_pandas', '≥ 1'],
  ['report_seconds_on_critical_path', '≤ 2'],
];

/**
 * Measures one section and writes it under its own top-level key of bench/results.json, with when, where and how
 * long, keeping every other key. Returns the section.
 */
export async function writeSection(key: string, measure: () => Promise<BenchSection>): Promise<BenchSection> {
  const started = Date.now();
  const loadAtStart = os.loadavg()[0] ?? NaN;
  const section = await measure();
  await writeResults({
    [key]: {
      ...section,
      measuredAt: new Date().toISOString(),
      machine: await machine(),
      // Other work on the machine skews every figure; the ratios, measured side by side, suffer least.
      loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0] ?? NaN, 2) },
      durationSeconds: Math.round((Date.now() - started) / 1000),
    },
  });
  return section;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * Every figure in bench/results.json, by name: in any top-level section, or a section under `results`, that has
 * `figures`. So sections written by separate runs of their own benchmark are all found.
 */
export function figuresIn(results: Record<string, unknown>): Map<string, BenchFigure> {
  const nested = isObject(results['results']) ? Object.values(results['results']) : [];
  const found = new Map<string, BenchFigure>();
  for (const section of [...Object.values(results), ...nested]) {
    if (!isObject(section) || !isObject(section['figures'])) continue;
    for (const [name, figure] of Object.entries(section['figures'])) found.set(name, figure as BenchFigure);
  }
  return found;
}

/** The table of figures: the issue's first, in its order, a missing one as "not measured"; then any others. Pure. */
export function figureTable(figures: ReadonlyMap<string, BenchFigure>): string {
  const targets = new Map(ISSUE_FIGURES);
  const names = [...targets.keys(), ...[...figures.keys()].filter((name) => !targets.has(name))];
  const rows = names.map((name) => {
    const figure = figures.get(name);
    if (figure === undefined) return [name, 'not measured', targets.get(name) ?? '', '', ''];
    return [
      name,
      `${figure.value} ${figure.unit}`,
      `${figure.target} ${figure.unit}`,
      figure.reference ?? '',
      figure.met ? 'yes' : 'no',
    ];
  });
  const header = ['figure', 'value', 'target', 'reference', 'met'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** The table of every figure bench/results.json holds now. */
export async function printFigures(): Promise<void> {
  console.log(figureTable(figuresIn(await readResults())));
}
