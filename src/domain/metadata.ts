/** File metadata as the Hub API serves it (contract §5). */
export interface FileMetadata {
  readonly file_id: number;
  readonly system_id: number;
  readonly file_name: string;
  readonly timezone?: string;
  readonly data_sampling_frequency?: number;
  readonly issue?: string;
  readonly subissue?: string;
  readonly file_hash?: string;
  readonly include_on_leaderboard: boolean;
  readonly [column: string]: unknown;
}

/** System metadata as the Hub API serves it (contract §5). */
export interface SystemMetadata {
  readonly system_id: number;
  readonly name?: string;
  readonly azimuth?: number;
  readonly tilt?: number;
  readonly elevation?: number;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly tracking?: boolean;
  readonly dc_capacity?: number;
  readonly [column: string]: unknown;
}

/** One row of file_test_link.csv. */
export interface TestLink {
  readonly testId: number;
  readonly fileId: number;
}

/** A value passed to the submission's function: numbers stay numbers, everything else a string, absent is null. */
export type KwargValue = number | string | null;

/**
 * The task's allowable kwargs for one file, in order, from its file and system metadata (joined on system_id). A
 * missing value is null, so the wrapper can leave the parameter to its default, and numbers stay numbers.
 */
export function kwargsFor(
  names: readonly string[],
  file: FileMetadata,
  system: SystemMetadata | undefined,
): Array<[string, KwargValue]> {
  return names.map((name) => {
    const value = name in file ? file[name] : system?.[name];
    if (value === undefined || value === null || value === '') return [name, null];
    if (typeof value === 'number') return [name, Number.isFinite(value) ? value : null];
    if (typeof value === 'boolean') return [name, value ? 'True' : 'False'];
    const text = String(value);
    const number = Number(text);
    return [name, text.trim() !== '' && Number.isFinite(number) ? number : text];
  });
}
