import { canonicalName } from './requirements.js';

/** A wheel's file name read as PEP 427 writes it: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`. */
export interface WheelName {
  /** Canonical (PEP 503), so `Foo_Bar` and `foo-bar` are one project. */
  readonly project: string;
  readonly version: string;
  readonly pythonTags: readonly string[];
  readonly abiTags: readonly string[];
  readonly platformTags: readonly string[];
}

/** What an image can load: CPython of this version, on this machine, with this glibc. */
export interface WheelTarget {
  readonly pythonVersion: string;
  /** `x86_64`, `aarch64`. */
  readonly machine: string;
  readonly glibcMinor: number;
}

export function parseWheelName(file: string): WheelName | undefined {
  if (!file.endsWith('.whl')) return undefined;
  const parts = file.slice(0, -'.whl'.length).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [name, version] = parts;
  const [python, abi, platform] = parts.slice(-3);
  if (!name || !version || !python || !abi || !platform) return undefined;
  const split = (tags: string) => tags.split('.').filter((tag) => tag !== '');
  return {
    project: canonicalName(name),
    version,
    pythonTags: split(python),
    abiTags: split(abi),
    platformTags: split(platform),
  };
}

function pythonFits(tag: string, abi: string, major: number, minor: number): boolean {
  const match = /^(cp|py)(\d)(\d*)$/.exec(tag);
  if (match === null || Number(match[2]) !== major) return false;
  const tagMinor = match[3] === '' ? undefined : Number(match[3]);
  if (match[1] === 'py') return tagMinor === undefined || tagMinor <= minor;
  if (tagMinor === undefined) return false;
  // cp3X-abi3 loads in any later CPython 3; a cpXY tag with its own ABI only in XY.
  return abi === 'abi3' ? tagMinor <= minor : tagMinor === minor && (abi === 'none' || abi === `cp${major}${minor}`);
}

function platformFits(tag: string, { machine, glibcMinor }: WheelTarget): boolean {
  if (tag === 'any' || tag === `linux_${machine}`) return true;
  const legacy: Readonly<Record<string, number>> = { manylinux1: 5, manylinux2010: 12, manylinux2014: 17 };
  const match = /^(manylinux(?:1|2010|2014)|manylinux_2_(\d+))_(.+)$/.exec(tag);
  if (match === null || match[3] !== machine) return false;
  const needs = match[2] === undefined ? legacy[match[1] ?? ''] : Number(match[2]);
  return needs !== undefined && needs <= glibcMinor;
}

/** Whether the target can install the wheel: one of its python/abi pairs and one of its platforms fit. */
export function wheelFits(wheel: WheelName, target: WheelTarget): boolean {
  const [major, minor] = target.pythonVersion.split('.').map(Number);
  if (major === undefined || minor === undefined) return false;
  const python = wheel.pythonTags.some((tag) => wheel.abiTags.some((abi) => pythonFits(tag, abi, major, minor)));
  return python && wheel.platformTags.some((tag) => platformFits(tag, target));
}
