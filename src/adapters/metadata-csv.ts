import { parseFile } from 'fast-csv';
import { WorkerError } from '../domain/errors.js';
import type { TestLink } from '../domain/metadata.js';

/** A CSV cell as the Hub's pandas exports write it: numbers, True/False, empty for missing. */
export function csvValue(text: string): string | number | boolean | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'NaN' || trimmed === 'nan') return null;
  if (trimmed === 'True' || trimmed === 'true') return true;
  if (trimmed === 'False' || trimmed === 'false') return false;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

/** Reads a CSV with a header row by row (fast-csv); an error thrown by onRow stops the read and rejects. */
export function readCsvRecords(filePath: string, onRow: (row: Record<string, string>) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const parser = parseFile<Record<string, string>, Record<string, string>>(filePath, {
      headers: true,
      ignoreEmpty: true,
      trim: true,
    });
    parser
      .on('error', reject)
      .on('data', (row: Record<string, string>) => {
        try {
          onRow(row);
        } catch (error) {
          parser.destroy();
          reject(error);
        }
      })
      .on('end', resolve);
  });
}

/** Reads file_test_link.csv: test_id (row index), file_id; a malformed file is a wr_6. */
export async function readTestLinks(filePath: string): Promise<TestLink[]> {
  const links: TestLink[] = [];
  let line = 1;
  try {
    await readCsvRecords(filePath, (row) => {
      line += 1;
      const fileId = Number(row['file_id']);
      if (!Number.isSafeInteger(fileId)) {
        throw new WorkerError(
          'wr_6',
          `file_test_link.csv line ${line}: file_id must be an integer, got ${JSON.stringify(row['file_id'])}`,
        );
      }
      const testId = row['test_id'] ?? row[''];
      links.push({ testId: testId === undefined || testId === '' ? links.length : Number(testId), fileId });
    });
  } catch (error) {
    if (error instanceof WorkerError) throw error;
    throw new WorkerError('wr_6', `file_test_link.csv is not a readable CSV: ${(error as Error).message}`);
  }
  if (links.length === 0) throw new WorkerError('wr_8', 'file_test_link.csv lists no files');
  return links;
}

/** Reads a metadata CSV (file_metadata.csv, system_metadata.csv) into typed records. */
export async function readMetadataCsv(filePath: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  await readCsvRecords(filePath, (row) => {
    rows.push(
      Object.fromEntries(
        Object.entries(row)
          .filter(([key]) => key !== '')
          .map(([key, value]) => [key, csvValue(value)]),
      ),
    );
  });
  return rows;
}
