import type { FileFormats } from '../ports/file-formats.js';
import { openCsvRows, scanCsvRows } from './csv-rows.js';
import { readTestLinks } from './metadata-csv.js';
import { extractSubmission } from './submission-archive.js';

/** The formats as the Hub writes them: zip archives (unzipper), CSV files (fast-csv). */
export const hubFileFormats: FileFormats = {
  extractSubmission: (source, destination) => extractSubmission(source, destination),
  readTestLinks,
  openCsv: openCsvRows,
  scanCsv: scanCsvRows,
};
