import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseString } from 'fast-csv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ROW_CHARS, openCsvRows, RowLengthCheck } from '../../src/adapters/csv-rows.js';
import { seededRandom as random } from '../helpers/seeded-random.js';

let scratch = '';

test.before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pvhub-csv-rows-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Rows as the reader returns them: fast-csv with the reader's options, blank lines dropped; undefined on a parse error. */
function fastCsvRows(text: string): Promise<string[][] | undefined> {
  return new Promise((resolve) => {
    const rows: string[][] = [];
    parseString<string[], string[]>(text, { headers: false, trim: true })
      .on('data', (row: string[]) => {
        if (row.length > 0) rows.push(row);
      })
      .on('error', () => resolve(undefined))
      .on('end', () => resolve(rows));
  });
}

/** The text cut where the check saw rows end: with a limit of 0, a character leaves no complaint only if it ends a row. */
function rowsAsChecked(text: string): string[] {
  const check = new RowLengthCheck(0);
  const pieces: string[] = [];
  let piece = '';
  for (const char of text) {
    piece += char;
    if (check.feed(char) === undefined) {
      pieces.push(piece);
      piece = '';
    }
  }
  return piece === '' ? pieces : [...pieces, piece];
}

test('the check never ends a row where the parser does not: each piece it cuts parses to the same rows as the whole', async () => {
  const alphabet = ['a', '1', ',', ',', '"', '"', ' ', '\t', '\n', '\n', '\r', 'é', '\u00a0', '\u3000', '\u2028'];
  const next = random(17);
  let compared = 0;
  for (let attempt = 0; attempt < 4000; attempt += 1) {
    let text = '';
    const length = 1 + Math.floor(next() * 24);
    for (let index = 0; index < length; index += 1) text += alphabet[Math.floor(next() * alphabet.length)];
    const whole = await fastCsvRows(text);
    if (whole === undefined) continue;
    const pieces = await Promise.all(rowsAsChecked(text).map(fastCsvRows));
    assert.equal(pieces.some((rows) => rows === undefined) ? undefined : pieces.flat(), whole, JSON.stringify(text));
    compared += 1;
  }
  assert.ok(compared > 1000, `only ${compared} texts parsed`);
});

test('rows of a pandas CSV end where their lines do, quoted values with commas and line breaks included', () => {
  assert.equal(rowsAsChecked(',"a, b"\n2015-01-01,0.5\n'), [',"a, b"\n', '2015-01-01,0.5\n']);
  assert.equal(rowsAsChecked('x,"two\nlines ""quoted"""\r\n1,2'), ['x,"two\nlines ""quoted"""\r', '\n', '1,2']);
  assert.equal(rowsAsChecked('a"b,c\n1,2\n'), ['a"b,c\n', '1,2\n'], 'a quote inside an unquoted value is a character');
});

test('a quoted value of 32 MB spanning many lines is refused at once, the reader holding no more than a row', async () => {
  const file = path.join(scratch, 'quoted.csv');
  const handle = await open(file, 'w');
  await handle.write(',0\n0,"');
  const block = 'x\n'.repeat(512 * 1024);
  for (let written = 0; written < 32 * 1024 ** 2; written += block.length) await handle.write(block);
  await handle.write('"\n');
  await handle.close();
  const before = process.memoryUsage().rss;
  const started = Date.now();
  const rows = openCsvRows(file, (error) => error);
  try {
    assert.equal(await rows.next(), ['', '0']);
    await rows.next().then(
      (row) => assert.unreachable(`read a row of ${row?.join('').length} characters`),
      (error: Error) => assert.is(error.message, `a row is longer than ${MAX_ROW_CHARS} characters`),
    );
  } finally {
    rows.close();
  }
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.ok(process.memoryUsage().rss - before < 64 * 1024 ** 2, 'memory stays flat');
});

test('a row at the limit is read, one past it is refused', async () => {
  const file = path.join(scratch, 'limit.csv');
  const value = 'y'.repeat(MAX_ROW_CHARS - 2);
  await writeFile(file, `0,${value}\n0,${value}y\n`);
  const rows = openCsvRows(file, (error) => error);
  try {
    assert.equal(await rows.next(), ['0', value]);
    await rows.next().then(
      () => assert.unreachable('read the row past the limit'),
      (error: Error) => assert.match(error.message, 'a row is longer than'),
    );
  } finally {
    rows.close();
  }
});

/** Every row of a file through the reader. */
async function readerRows(file: string): Promise<string[][]> {
  const rows = openCsvRows(file, (error) => error);
  const all: string[][] = [];
  try {
    for (let row = await rows.next(); row !== undefined; row = await rows.next()) all.push(row);
  } finally {
    rows.close();
  }
  return all;
}

/** A text of `length` characters from `alphabet`, drawn by `next`. */
function randomText(alphabet: readonly string[], length: number, next: () => number): string {
  let text = '';
  for (let index = 0; index < length; index += 1) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

test('a plain file (ASCII, no quote) gives the rows fast-csv gives, blank lines, whitespace and every line break included', async () => {
  const alphabet = ['a', '1', '.', '-', 'e', ',', ',', ' ', '\t', '\v', '\f', '\0', '\n', '\n', '\r', '\r\n'];
  const next = random(29);
  const file = path.join(scratch, 'plain.csv');
  for (let attempt = 0; attempt < 1500; attempt += 1) {
    const text = randomText(alphabet, 1 + Math.floor(next() * 30), next);
    await writeFile(file, text);
    assert.equal(await readerRows(file), await fastCsvRows(text), JSON.stringify(text));
  }
});

test('a plain file read in many chunks gives the rows fast-csv gives, a \r\n cut between two reads included', async () => {
  const next = random(31);
  const file = path.join(scratch, 'plain-long.csv');
  for (const lineBreak of ['\n', '\r\n', '\r']) {
    let text = ',0\n';
    while (text.length < 3 * 256 * 1024)
      text += `2015-01-01 00:${Math.floor(next() * 60)}:00, ${next() * 100}${next() < 0.01 ? ',' : ''}${lineBreak}`;
    // Lines that end exactly where each read of 256 KiB ends, and a \r\n across that end.
    const cut = 256 * 1024;
    text = `${text.slice(0, cut - 1)}\r\n${text.slice(cut + 1, 2 * cut - 2)}\n\n${text.slice(2 * cut)}`;
    await writeFile(file, text);
    assert.equal(await readerRows(file), await fastCsvRows(text), `line break ${JSON.stringify(lineBreak)}`);
  }
});

test('a plain file that grows after its first read, by a row longer than it was, is read whole', async () => {
  const file = path.join(scratch, 'growing.csv');
  await writeFile(file, 'a,b\n1,2\n');
  const rows = openCsvRows(file, (error) => error);
  const all: string[][] = [];
  try {
    all.push((await rows.next()) ?? []);
    const long = '4'.repeat(5000);
    await writeFile(file, `3,${long}\n5,6\n`, { flag: 'a' });
    for (let row = await rows.next(); row !== undefined; row = await rows.next()) all.push(row);
    assert.equal(all, [
      ['a', 'b'],
      ['1', '2'],
      ['3', long],
      ['5', '6'],
    ]);
  } finally {
    rows.close();
  }
});

test('a file with a quote or a byte past ASCII is read by the parser itself: quoted values, a byte-order mark', async () => {
  const file = path.join(scratch, 'quoted-values.csv');
  const text = '\ufeff,0\n"2015-01-01, 00:00",0.5\n"x""y",é\n';
  await writeFile(file, text);
  assert.equal(await readerRows(file), await fastCsvRows(text));
  assert.equal(await readerRows(file), [
    ['', '0'],
    ['2015-01-01, 00:00', '0.5'],
    ['x"y', 'é'],
  ]);
});

test('a file that cannot be read rejects with the error as described', async () => {
  const rows = openCsvRows(path.join(scratch, 'absent.csv'), (error) => new Error(`described: ${error.message}`));
  await rows.next().then(
    () => assert.unreachable('read a missing file'),
    (error: Error) => assert.match(error.message, /^described: ENOENT/),
  );
  rows.close();
});

test.run();
