import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cellNumber, plainDecimal } from '../../src/domain/csv-cells.js';
import { seededRandom as random } from '../helpers/seeded-random.js';

const ascii = (text: string) => Buffer.from(text, 'latin1');

/** The number scoring reads for a cell: the short way when it applies, else cellNumber, as the plain reader does. */
function read(text: string): number | undefined {
  const bytes = ascii(`x,${text},y`);
  return plainDecimal(bytes, 2, bytes.length - 2) ?? cellNumber(text);
}

const pick = <T>(items: readonly T[], next: () => number): T => items[Math.floor(next() * items.length)] as T;

/** A cell as a submission or pandas might write it: decimals of every shape, exponents, markers, text. */
function randomCell(next: () => number): string {
  const digits = (count: number) => Array.from({ length: count }, () => pick([...'0123456789'], next)).join('');
  const blank = () => pick(['', '', '', ' ', '\t', '  ', '\v', '\f'], next);
  const shapes: Array<() => string> = [
    () => `${digits(1 + Math.floor(next() * 20))}`,
    () => `${digits(Math.floor(next() * 10))}.${digits(Math.floor(next() * 18))}`,
    () =>
      `${digits(1 + Math.floor(next() * 17))}${pick(['e', 'E'], next)}${pick(['', '+', '-'], next)}${digits(Math.floor(next() * 6))}`,
    () => String((next() - 0.5) * 10 ** Math.floor(next() * 40 - 20)),
    () => String(next() * 10 ** Math.floor(next() * 600 - 300)),
    () => String(Math.round((next() - 0.5) * 2e6) / 10 ** Math.floor(next() * 8)),
    () => pick(['0', '-0', '+0', '-0.0', '0e5', '-0e-5', '.0', '0.', '-.0'], next),
    () => pick(['', 'nan', 'NaN', '-nan', 'NA', 'null', 'None', '#N/A', 'inf', '-Infinity', 'True', 'false'], next),
    () => pick(['.', '-', '+', 'e5', '1e', '1e+', '1.2.3', '--1', '1-', '0x10', '1_0', '1 0', '١', '½'], next),
    () =>
      `${digits(15)}.${digits(1 + Math.floor(next() * 8))}e${pick(['', '-'], next)}${digits(1 + Math.floor(next() * 2))}`,
    () => `1e${pick(['', '-'], next)}${digits(5 + Math.floor(next() * 3))}`,
    () => pick(['9007199254740993', '999999999999999', '1e22', '1e23', '1e-22', '1e-23', '123456789012345e-22'], next),
  ];
  const sign = pick(['', '', '', '-', '+'], next);
  return `${blank()}${sign}${pick(shapes, next)()}${blank()}`;
}

test('a cell read the short way is bit for bit what cellNumber reads, -0 included', () => {
  const next = random(271828);
  let short = 0;
  for (let attempt = 0; attempt < 200_000; attempt += 1) {
    const text = randomCell(next);
    const bytes = ascii(text);
    const fast = plainDecimal(bytes, 0, bytes.length);
    if (fast !== undefined) {
      short += 1;
      assert.ok(Object.is(fast, cellNumber(text)), `${JSON.stringify(text)}: ${fast} vs ${cellNumber(text)}`);
    }
    assert.ok(Object.is(read(text), cellNumber(text)), JSON.stringify(text));
  }
  assert.ok(short > 50_000, `only ${short} cells read the short way`);
});

test('plain decimals are read the short way; markers, text and what needs more care are left to cellNumber', () => {
  for (const text of ['0.5', ' -12.25 ', '+.5', '5.', '1.5e-05', '-0', '123456789012345', '1e22', '0.000001'])
    assert.ok(plainDecimal(ascii(text), 0, text.length) !== undefined, text);
  for (const text of [
    '',
    'nan',
    'inf',
    'True',
    '.',
    '1e',
    '1 0',
    '1234567890123456',
    '1e23',
    '1e-23',
    '1e00005',
    '0.0000000000000000000001',
    '0x10',
  ])
    assert.is(plainDecimal(ascii(text), 0, text.length), undefined, text);
  assert.ok(Object.is(plainDecimal(ascii('-0.0'), 0, 4), -0));
  assert.is(plainDecimal(ascii('7,0.25,9'), 2, 6), 0.25, 'only the cell between start and end');
});

test.run();
