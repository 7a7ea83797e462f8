import { WorkerError } from './errors.js';
import { plainText } from './plain-text.js';

/** A requirement the worker will not resolve: the submission's fault (op_2), saying which line and why. */
export function invalidRequirement(message: string): WorkerError {
  return new WorkerError('op_2', message);
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const VERSION_CLAUSE = new RegExp(`^(===|~=|==|!=|<=|>=|<|>)\\s*([A-Za-z0-9*+!_.-]+)$`);
/** Name, extras, version clauses (optionally in parentheses), and what follows a `;`: each part read apart. */
const REQUIREMENT = new RegExp(`^(${NAME})\\s*(?:\\[([^\\]]*)\\])?\\s*([^;]*?)\\s*(?:;(.*))?$`);
const ARCHIVE_NAME = /\.(whl|zip|tar|tgz|tbz|txz|tar\.gz|tar\.bz2|tar\.xz)$/i;

/** The environment markers of PEP 508, and how they compare. */
const MARKER_VARIABLES = new Set([
  'python_version',
  'python_full_version',
  'os_name',
  'sys_platform',
  'platform_release',
  'platform_system',
  'platform_version',
  'platform_machine',
  'platform_python_implementation',
  'implementation_name',
  'implementation_version',
  'extra',
]);
const MARKER_TOKEN = /\s*(\(|\)|not\s+in\b|in\b|and\b|or\b|===|==|!=|<=|>=|~=|<|>|'[^'\\]*'|"[^"\\]*"|[a-z_]+)/y;
const COMPARISONS = new Set(['===', '==', '!=', '<=', '>=', '~=', '<', '>', 'in', 'not in']);

/** A marker's tokens, each as written back (`not   in` as `not in`); undefined when it is not PEP 508. */
function markerTokens(text: string): string[] | undefined {
  const tokens: string[] = [];
  MARKER_TOKEN.lastIndex = 0;
  while (MARKER_TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(MARKER_TOKEN.lastIndex))) break;
    const match = MARKER_TOKEN.exec(text);
    if (match === null) return undefined;
    tokens.push((match[1] ?? '').replace(/^not\s+in$/, 'not in'));
  }
  return tokens;
}

/** Whether the tokens are one marker expression: comparisons of a variable or a quoted string, joined by and/or. */
function isMarkerExpression(tokens: readonly string[]): boolean {
  let at = 0;
  const value = () => {
    const token = tokens[at];
    if (token === undefined || !(MARKER_VARIABLES.has(token) || /^['"]/.test(token))) return false;
    at += 1;
    return true;
  };
  const expression = (): boolean => {
    do {
      if (tokens[at] === '(') {
        at += 1;
        if (!expression() || tokens[at] !== ')') return false;
        at += 1;
      } else if (!(value() && COMPARISONS.has(tokens[at] ?? '') && (at += 1) > 0 && value())) {
        return false;
      }
    } while ((tokens[at] === 'and' || tokens[at] === 'or') && (at += 1) > 0);
    return true;
  };
  return expression() && at === tokens.length;
}

/**
 * One requirement line as the worker writes it back from its own reading: `name[extras]clauses; marker`, nothing
 * of the participant's text passed on as it was. Throws op_2 naming the line for anything else: options (pip reads
 * `--hash`, `--index-url` and the like even after a marker), URLs and files (a package source of the submission's
 * choosing), environment variables (pip expands `${VAR}` from the worker's environment).
 */
function requirementOf(line: string, origin: string): string {
  if (line.includes('${')) throw invalidRequirement(`${origin}: environment variables are not accepted: "${line}"`);
  if (line.startsWith('-') || /\s--?[A-Za-z]/.test(line))
    throw invalidRequirement(`${origin}: options are not accepted: "${line}"`);
  if (line.includes('://') || line.includes('@'))
    throw invalidRequirement(`${origin}: URLs are not accepted: "${line}"`);
  const match = REQUIREMENT.exec(line);
  const name = match?.[1];
  if (match === null || name === undefined) throw invalidRequirement(`${origin}: malformed requirement "${line}"`);
  if (ARCHIVE_NAME.test(name)) throw invalidRequirement(`${origin}: files are not accepted: "${line}"`);
  const extras = (match[2] ?? '')
    .split(',')
    .map((extra) => extra.trim())
    .filter((extra) => extra !== '');
  if (
    match[2] !== undefined &&
    (extras.length === 0 || !extras.every((extra) => new RegExp(`^${NAME}$`).test(extra)))
  ) {
    throw invalidRequirement(`${origin}: malformed extras in "${line}"`);
  }
  const clausesText = (match[3] ?? '')
    .trim()
    .replace(/^\((.*)\)$/, '$1')
    .trim();
  const clauses = clausesText === '' ? [] : clausesText.split(',').map((clause) => VERSION_CLAUSE.exec(clause.trim()));
  if (clauses.some((clause) => clause === null)) throw invalidRequirement(`${origin}: malformed requirement "${line}"`);
  const marker = match[4] === undefined ? undefined : markerTokens(match[4]);
  if (match[4] !== undefined && (marker === undefined || marker.length === 0 || !isMarkerExpression(marker))) {
    throw invalidRequirement(`${origin}: malformed environment marker in "${line}"`);
  }
  const specifier = clauses.map((clause) => `${clause?.[1] ?? ''}${clause?.[2] ?? ''}`).join(',');
  return `${name}${extras.length > 0 ? `[${extras.join(',')}]` : ''}${specifier}${marker ? `; ${marker.join(' ')}` : ''}`;
}

/**
 * The requirements of a requirements.txt, without comments, each written back from the worker's own parse (name,
 * extras, specifier, marker): only named requirements from the index are accepted, and pip never reads a line as
 * the participant wrote it. Throws op_2 naming the offending line.
 */
export function parseRequirements(text: string, origin = 'requirements.txt'): string[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const requirements: string[] = [];
  for (const raw of lines) {
    const line = plainText(raw)
      .replace(/(^|\s)#.*$/, '')
      .trim();
    if (line !== '') requirements.push(requirementOf(line, origin));
  }
  return requirements;
}

/** PEP 503 normalised project name, as wheel file names and the index compare them. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * The requirement the resolver (uv) found no wheel for, as it names it: the version it wanted ("ruptures==1.1.8") or,
 * when no version has one, the project alone. Undefined when that was not why it failed.
 */
export function requirementWithoutWheel(resolverOutput: string): string | undefined {
  return (
    /Because (\S+==\S+) has no usable wheels/.exec(resolverOutput)?.[1] ??
    /Wheels are required for `([^`]+)`/.exec(resolverOutput)?.[1]
  );
}

/** The project the resolver found nowhere on the index ("Because x was not found in the package registry"). */
export function projectNotFound(resolverOutput: string): string | undefined {
  return /Because (\S+) was not found in the package (?:registry|index)/.exec(resolverOutput)?.[1];
}

/** What the resolver or pip said went wrong (pip's ERROR lines, else the last lines), on one line for an error report. */
export function resolverErrorSummary(output: string): string {
  const lines = plainText(output)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const errors = lines.filter((line) => line.startsWith('ERROR:'));
  return (errors.length > 0 ? errors : lines.slice(-8)).join(' | ').slice(0, 1000);
}

/**
 * The Requires-Dist entries of a wheel's METADATA that name a URL ("x @ https://…"). Folded header lines continue
 * the one before.
 */
export function urlRequirements(metadata: string): string[] {
  return metadata
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/)
    .filter((line) => /^Requires-Dist:/i.test(line))
    .map((line) => line.slice('Requires-Dist:'.length).trim())
    .filter((value) => {
      const requirement = value.split(';')[0] ?? '';
      return requirement.includes('@') || requirement.includes('://');
    });
}
