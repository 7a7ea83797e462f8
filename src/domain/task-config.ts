import { WorkerError } from './errors.js';

export type ComparisonType = 'scalar' | 'time_series';

/** The keys of an analysis task's config.json that the worker reads (contract §5), in the worker's own names. */
export interface TaskConfig {
  readonly functionName: string;
  readonly comparisonType: ComparisonType;
  readonly performanceMetrics: readonly string[];
  readonly metricsOperations: Readonly<Record<string, readonly string[]>>;
  readonly allowableKwargs: readonly string[];
  readonly referencesCompare: readonly string[];
  readonly publicResultsTable: string;
  readonly privateResultsTable: string;
  readonly privateResultsColumns: readonly string[];
  readonly displayMetrics: Readonly<Record<string, string>>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fail(message: string): never {
  throw new WorkerError('wr_6', `config.json: ${message}`);
}

function stringField(config: Record<string, unknown>, key: string): string {
  const value = config[key];
  if (typeof value !== 'string' || value.trim() === '') fail(`"${key}" must be a non-empty string`);
  return value;
}

function stringList(config: Record<string, unknown>, key: string, required: boolean): string[] {
  const value = config[key];
  if (value === undefined && !required) return [];
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
function resultsFileName(config: Record<string, unknown>, key: string): string {
  const name = stringField(config, key);
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) fail(`"${key}" must be a plain file name`);
  return name;
}

/** Validates the parsed config.json of a task. Every problem is a wr_6 naming the key. */
export function parseTaskConfig(json: unknown): TaskConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('must be a JSON object');
  const config = json as Record<string, unknown>;
  const functionName = stringField(config, 'function_name');
  if (!IDENTIFIER.test(functionName)) fail(`"function_name" must be a Python identifier, got ${functionName}`);
  const comparisonType = stringField(config, 'comparison_type');
  if (comparisonType !== 'scalar' && comparisonType !== 'time_series') {
    fail(`"comparison_type" must be "scalar" or "time_series", got ${comparisonType}`);
  }
  const referencesCompare = stringList(config, 'references_compare', true);
  if (referencesCompare.length === 0) fail('"references_compare" must name at least one output');
  const displayMetrics = config['display_metrics'];
  return {
    functionName,
    comparisonType,
    performanceMetrics: stringList(config, 'performance_metrics', true),
    metricsOperations: stringListMap(config, 'metrics_operations'),
    allowableKwargs: stringList(config, 'allowable_kwargs', false),
    referencesCompare,
    publicResultsTable: resultsFileName(config, 'public_results_table'),
    privateResultsTable: resultsFileName(config, 'private_results_table'),
    privateResultsColumns: stringList(config, 'private_results_columns', false),
    displayMetrics:
      typeof displayMetrics === 'object' && displayMetrics !== null && !Array.isArray(displayMetrics)
        ? Object.fromEntries(Object.entries(displayMetrics).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
        : {},
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
