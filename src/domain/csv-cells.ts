// pandas' default missing-value markers (read_csv na_values).
const MISSING = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITE = /^([+-]?)inf(?:inity)?$/i;

/**
 * A CSV cell as pandas reads a float column: a number (±Infinity included), NaN for a missing value, undefined
 * for text. JavaScript's Number() alone would read "" as 0 and "0x10" as 16.
 */
export function cellNumber(text: string | undefined): number | undefined {
  const cell = (text ?? '').trim();
  if (MISSING.has(cell)) return NaN;
  if (DECIMAL.test(cell)) return Number(cell);
  const infinite = INFINITE.exec(cell);
  if (infinite) return infinite[1] === '-' ? -Infinity : Infinity;
  if (cell === 'True' || cell === 'TRUE' || cell === 'true') return 1;
  if (cell === 'False' || cell === 'FALSE' || cell === 'false') return 0;
  return undefined;
}

/** The powers of ten a double holds exactly: 10²² is the last. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, power) => 10 ** power);
/** Digits whose integer a double holds exactly (10¹⁵ < 2⁵³). */
const EXACT_DIGITS = 15;
/** Exponent digits the short way reads; a longer exponent goes the long way. */
const EXPONENT_DIGITS = 4;

const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0b || byte === 0x0c;

/**
 * The number of an ASCII cell (a line's bytes from `start` to `end`, untrimmed) when it is a plain decimal whose
 * value a double division or product gives exactly rounded: at most 15 digits, a power of ten within ±22 (Clinger's
 * fast path). Both operands are then exact and IEEE arithmetic rounds the one operation correctly, so the value is
 * bit for bit the one `Number()`, hence `cellNumber`, gives for the same text, -0 included. Undefined for any other
 * cell (missing markers, text, more digits, a long exponent): those are for `cellNumber`.
 */
export function plainDecimal(bytes: Uint8Array, start: number, end: number): number | undefined {
  let first = start;
  let last = end;
  while (first < last && isBlank(bytes[first] as number)) first += 1;
  while (last > first && isBlank(bytes[last - 1] as number)) last -= 1;
  let at = first;
  const sign = bytes[at];
  if (sign === 0x2d || sign === 0x2b) at += 1;
  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  for (let digit = (bytes[at] as number) - 0x30; at < last && digit >= 0 && digit <= 9;) {
    mantissa = mantissa * 10 + digit;
    digits += 1;
    at += 1;
    digit = (bytes[at] as number) - 0x30;
  }
  if (at < last && bytes[at] === 0x2e) {
    at += 1;
    for (let digit = (bytes[at] as number) - 0x30; at < last && digit >= 0 && digit <= 9;) {
      mantissa = mantissa * 10 + digit;
      digits += 1;
      fractionDigits += 1;
      at += 1;
      digit = (bytes[at] as number) - 0x30;
    }
  }
  if (digits === 0 || digits > EXACT_DIGITS) return undefined;
  let exponent = 0;
  if (at < last && (bytes[at] === 0x65 || bytes[at] === 0x45)) {
    at += 1;
    const exponentSign = bytes[at] === 0x2d ? -1 : 1;
    if (bytes[at] === 0x2d || bytes[at] === 0x2b) at += 1;
    const exponentStart = at;
    for (let digit = (bytes[at] as number) - 0x30; at < last && digit >= 0 && digit <= 9;) {
      exponent = exponent * 10 + digit;
      at += 1;
      digit = (bytes[at] as number) - 0x30;
    }
    if (at === exponentStart || at - exponentStart > EXPONENT_DIGITS) return undefined;
    exponent *= exponentSign;
  }
  if (at !== last) return undefined;
  const power = exponent - fractionDigits;
  if (power < -22 || power > 22) return undefined;
  const magnitude =
    power < 0 ? mantissa / (EXACT_POWERS[-power] as number) : mantissa * (EXACT_POWERS[power] as number);
  return sign === 0x2d ? -magnitude : magnitude;
}

/**
 * One CSV row as scoring reads it: how many cells it has, a cell's trimmed text, and its number as `cellNumber` reads
 * it. A reader may hand out the same object for every row, valid until it reads the next.
 */
export interface CsvCells {
  readonly length: number;
  text(cell: number): string;
  number(cell: number): number | undefined;
}

/** A row already cut into texts (the general CSV parser's, a test's) as CsvCells. */
export function textCells(row: readonly string[]): CsvCells {
  return {
    length: row.length,
    text: (cell) => row[cell] ?? '',
    number: (cell) => cellNumber(row[cell]),
  };
}

/** A row's cells as texts, kept past the row. */
export const cellTexts = (row: CsvCells): string[] => Array.from({ length: row.length }, (_, cell) => row.text(cell));
