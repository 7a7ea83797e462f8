import { OPERATIONS } from './pandas-reductions.js';
import { type HostPort, parseHostPort } from './egress-policy.js';
import { WorkerError } from './errors.js';
import { METRICS } from './scoring.js';

export type ComparisonType = 'scalar' | 'time_series';

/** The keys of an analysis task's config.json that the worker reads (contract §5), in the worker's own names. */
export interface TaskConfig {
  readonly functionName: string;
  readonly comparisonType: ComparisonType;
  readonly performanceMetrics: readonly string[];
  readonly metricsOperations: Readonly<Record<string, readonly string[]>>;
  readonly allowableKwargs: readonly string[];
  readonly referencesCompare: readonly string[];
  /**
   * The per-file metric keys in the order of performance_metrics: `runtime`, then `<metric>_<ref>` for every other
   * metric and reference (contract §7). Each one is in metricsOperations with known operations.
   */
  readonly scoreKeys: readonly string[];
  readonly publicResultsTable: string;
  readonly privateResultsTable: string;
  readonly privateResultsColumns: readonly string[];
  readonly displayMetrics: Readonly<Record<string, string>>;
  /** The host:port pairs the submission may reach, through the job's proxy (`network_allowlist`); empty: no network. */
  readonly networkAllowlist: readonly HostPort[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fail(message: string): never {
  throw new WorkerError('wr_6', `config.json: ${message}`);
}

/** The config is well formed but asks for metrics the worker cannot produce: op_500, before any container runs. */
function mismatch(message: string): never {
  throw new WorkerError('op_500', `config.json: ${message}`);
}

function stringField(config: Record<string, unknown>, key: string): string {
  const value = config[key];
  if (typeof value !== 'string' || value.trim() === '') fail(`"${key}" must be a non-empty string`);
  return value;
}

function stringList(config: Record<string, unknown>, key: string, required: boolean): string[] | undefined {
  const value = config[key];
  if (value === undefined && !required) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    fail(`"${key}" must be a list of strings`);
  }
  return value as string[];
}

function stringListMap(config: Record<string, unknown>, key: string): Record<string, string[]> {
  const value = config[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`"${key}" must be an object`);
  const result: Record<string, string[]> = {};
  for (const [name, ops] of Object.entries(value)) {
    if (!Array.isArray(ops) || !ops.every((op) => typeof op === 'string')) {
      fail(`"${key}.${name}" must be a list of strings`);
    }
    result[name] = ops as string[];
  }
  return result;
}

/** A JSON file name that is safe to write into a results directory. */
function checkFileName(key: string, name: string): string {
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) fail(`"${key}" must be a plain file name`);
  return name;
}

/**
 * The Hub's task-insertion docs still show `ground_truth_compare`, the key's older name, so both are read;
 * `references_compare` wins when a task has both.
 */
function referencesCompare(config: Record<string, unknown>): string[] {
  const key =
    config['references_compare'] !== undefined || config['ground_truth_compare'] === undefined
      ? 'references_compare'
      : 'ground_truth_compare';
  const references = stringList(config, key, true) ?? [];
  if (references.length === 0) fail(`"${key}" must name at least one output`);
  return references;
}

/**
 * A task without private_results_table still gets its private table, named after the public one:
 * "x-public-metrics.json" becomes "x-private-metrics.json", any other name gets a "private-" prefix.
 */
function privateResultsTable(config: Record<string, unknown>, publicName: string): string {
  const at = publicName.lastIndexOf('public');
  const derived =
    at >= 0 ? `${publicName.slice(0, at)}private${publicName.slice(at + 'public'.length)}` : `private-${publicName}`;
  const name =
    config['private_results_table'] === undefined
      ? derived
      : checkFileName('private_results_table', stringField(config, 'private_results_table'));
  if (name === publicName) fail('"private_results_table" must differ from "public_results_table"');
  return name;
}

/**
 * The per-file keys the task produces, checked against what the worker computes and against metrics_operations,
 * so a task that could never be aggregated fails before any file runs rather than after all of them.
 */
function scoreKeys(
  comparisonType: ComparisonType,
  performanceMetrics: readonly string[],
  references: readonly string[],
  operations: Readonly<Record<string, readonly string[]>>,
): string[] {
  if (comparisonType === 'time_series' && references.length !== 1) {
    mismatch(`a time_series task compares one output series, but "references_compare" names ${references.length}`);
  }
  const keys: string[] = [];
  for (const metric of performanceMetrics) {
    if (metric !== 'runtime') {
      const appliesTo = (METRICS as Record<string, ComparisonType | undefined>)[metric];
      if (appliesTo === undefined) {
        mismatch(`unknown performance metric "${metric}" (known: runtime, ${Object.keys(METRICS).join(', ')})`);
      }
      if (appliesTo !== comparisonType)
        mismatch(`performance metric "${metric}" applies to ${appliesTo} tasks, this one is ${comparisonType}`);
    }
    for (const key of metric === 'runtime' ? ['runtime'] : references.map((reference) => `${metric}_${reference}`)) {
      if (keys.includes(key)) continue;
      const ops = operations[key];
      if (ops === undefined) mismatch(`"metrics_operations" has no entry for "${key}"`);
      const unknown = ops.find((op) => !Object.hasOwn(OPERATIONS, op));
      if (unknown !== undefined) {
        mismatch(
          `"metrics_operations.${key}" has unknown operation "${unknown}" (known: ${Object.keys(OPERATIONS).join(', ')})`,
        );
      }
      keys.push(key);
    }
  }
  return keys;
}

/** A worker extension of config.json: without the key, the task's submissions run without a network, as always. */
function networkAllowlist(config: Record<string, unknown>): HostPort[] {
  const pairs = (stringList(config, 'network_allowlist', false) ?? []).map((entry) => {
    const pair = parseHostPort(entry);
    return typeof pair === 'string' ? fail(`"network_allowlist": ${pair}`) : pair;
  });
  return pairs.filter(
    (pair, index) => pairs.findIndex((other) => other.host === pair.host && other.port === pair.port) === index,
  );
}

/**
 * Validates the parsed config.json of a task. A malformed key is a wr_6 naming it; metrics the worker cannot
 * compute or aggregate are an op_500 naming the metric or key.
 */
export function parseTaskConfig(json: unknown): TaskConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('must be a JSON object');
  const config = json as Record<string, unknown>;
  const functionName = stringField(config, 'function_name');
  if (!IDENTIFIER.test(functionName)) fail(`"function_name" must be a Python identifier, got ${functionName}`);
  const comparisonType = stringField(config, 'comparison_type');
  if (comparisonType !== 'scalar' && comparisonType !== 'time_series') {
    fail(`"comparison_type" must be "scalar" or "time_series", got ${comparisonType}`);
  }
  const references = referencesCompare(config);
  const performanceMetrics = stringList(config, 'performance_metrics', true) ?? [];
  const metricsOperations = stringListMap(config, 'metrics_operations');
  const keys = scoreKeys(comparisonType, performanceMetrics, references, metricsOperations);
  const publicResultsTable = checkFileName('public_results_table', stringField(config, 'public_results_table'));
  const displayMetrics = config['display_metrics'];
  return {
    functionName,
    comparisonType,
    performanceMetrics,
    metricsOperations,
    allowableKwargs: stringList(config, 'allowable_kwargs', false) ?? [],
    referencesCompare: references,
    scoreKeys: keys,
    publicResultsTable,
    privateResultsTable: privateResultsTable(config, publicResultsTable),
    // Without the key the full results show the file and its metrics: every column an author could want.
    privateResultsColumns: stringList(config, 'private_results_columns', false) ?? ['file_name', ...keys],
    displayMetrics:
      typeof displayMetrics === 'object' && displayMetrics !== null && !Array.isArray(displayMetrics)
        ? Object.fromEntries(
            Object.entries(displayMetrics).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
          )
        : {},
    networkAllowlist: networkAllowlist(config),
  };
}

/** Parses the text of config.json; a syntax error is a wr_6 with the parser's own words. */
export function parseTaskConfigText(text: string): TaskConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  return parseTaskConfig(json);
}
