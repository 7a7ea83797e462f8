/**
 * The stream playground: the worker's own operators on simulated files, printed as a timeline, with no Docker,
 * queue or API. Change the numbers below (or pass them) to see how memory sets the parallelism and when the
 * failure cutoff fires.
 *
 *   npx tsx scripts/playground.ts [files=8] [freeGiB=20] [containerGiB=8] [failEvery=0]
 */
import { delay, map, of, from, tap, scan } from 'rxjs';
import { abortOnEarlyFailures } from '../src/operators/abort-on-early-failures.js';
import { runWithinMemory } from '../src/operators/run-within-memory.js';

const [files = 8, freeGiB = 20, containerGiB = 8, failEvery = 0] = process.argv.slice(2).map(Number);
const GIB = 1024 ** 3;
const started = Date.now();
const at = () => `${String(Date.now() - started).padStart(5)} ms`;
let running = 0;

from(Array.from({ length: files }, (_, index) => index)).pipe(
  runWithinMemory(
    (index) => {
      running += 1;
      console.log(`${at()}  start file ${index}   (${running} running)`);
      const failed = failEvery > 0 && index % failEvery === 0;
      return of({ index, failed }).pipe(
        delay(200 + ((index * 137) % 300)),
        tap(() => {
          running -= 1;
          console.log(`${at()}  end   file ${index}   ${failed ? 'FAILED' : 'ok'}`);
        }),
      );
    },
    { costOf: () => containerGiB * GIB, freeMemory: () => freeGiB * GIB, maxConcurrent: 16 },
  ),
  abortOnEarlyFailures(3, (run) => run.failed, (runs) => runs.map((run) => `file ${run.index}`).join(', ')),
  scan((done) => done + 1, 0),
  map((done) => `${done}/${files} done`),
).subscribe({
  next: (line) => console.log(`${at()}  ${line}`),
  error: (error: Error) => console.log(`${at()}  job stopped: ${error.message}`),
  complete: () => console.log(`${at()}  job complete`),
});
