import { WorkerError } from './errors.js';

/** A requirement the worker will not resolve: the submission's fault (op_2), saying which line and why. */
export function invalidRequirement(message: string): WorkerError {
  return new WorkerError('op_2', message);
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const VERSION = '(?:===|~=|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9*+!_.-]+';
/** PEP 508 without URLs: name, extras, versions (optionally in parentheses), a marker. */
const REQUIREMENT = new RegExp(
  `^(${NAME})\\s*(?:\\[\\s*${NAME}(?:\\s*,\\s*${NAME})*\\s*\\])?\\s*` +
    `(?:\\(?\\s*${VERSION}(?:\\s*,\\s*${VERSION})*\\s*\\)?)?\\s*(?:;\\s*[^;]+)?$`,
);
const ARCHIVE_NAME = /\.(whl|zip|tar|tgz|tbz|txz|tar\.gz|tar\.bz2|tar\.xz)$/i;

/**
 * The requirement lines of a requirements.txt, without comments. Only named requirements are accepted: options,
 * URLs and file paths would let a submission pick its own package source, and only PyPI through the resolver is
 * allowed. Throws op_2 naming the offending line.
 */
export function parseRequirements(text: string, origin = 'requirements.txt'): string[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const requirements: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('-')) throw invalidRequirement(`${origin}: options are not accepted: "${line}"`);
    if (line.includes('://') || line.includes('@'))
      throw invalidRequirement(`${origin}: URLs are not accepted: "${line}"`);
    const name = REQUIREMENT.exec(line)?.[1];
    if (name === undefined) throw invalidRequirement(`${origin}: malformed requirement "${line}"`);
    if (ARCHIVE_NAME.test(name)) throw invalidRequirement(`${origin}: files are not accepted: "${line}"`);
    requirements.push(line);
  }
  return requirements;
}

/** PEP 503 normalised project name, as wheel file names and the index compare them. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The requirement pip found no wheel for ("No matching distribution found for ruptures==1.1.8"), if that was why. */
export function requirementWithoutWheel(pipOutput: string): string | undefined {
  return /No matching distribution found for (\S+)/.exec(pipOutput)?.[1];
}

/** pip's ERROR lines (or its last lines), on one line short enough for an error report. */
export function pipErrorSummary(pipOutput: string): string {
  const errors = pipOutput.split('\n').filter((line) => line.startsWith('ERROR:'));
  return (errors.length > 0 ? errors : pipOutput.trim().split('\n').slice(-5)).join(' | ').slice(0, 1000);
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
