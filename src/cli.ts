import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { ConfigError } from './config-reader.js';
import { outputFolderProblem } from './adapters/directory-publisher.js';
import { asWorkerError } from './domain/errors.js';
import { healthProblem } from './domain/health.js';
import { plainText } from './domain/plain-text.js';
import { healthFileTouchedAt } from './sinks/health-file.js';
import { runEvaluate } from './evaluate.js';
import { LOCAL_PYTHON_VERSIONS } from './wiring.js';
import { SIGNAL_EXIT } from './signals.js';
import { progressView, summaryText } from './sinks/progress-view.js';

const HELP = `pvhub-worker: scores PV Validation Hub submissions in isolated Docker containers.

Usage:
  pvhub-worker evaluate --task <dir> --submission <zip|dir> --out <dir> [--python 3.11] [--keep-workspace]
      Score one submission against a task folder on this machine, with no queue, bucket or API.
      The task folder is in the Hub's format: config.json, file_test_link.csv, file_metadata.csv,
      system_metadata.csv, data/, validation_data/, optionally template.py (a marimo report).
      Writes <out>/results.json, submission_full_results.csv, report.html (built-in), private_results.html
      (the task's marimo report when it ships one, with marimo's page in private_results_assets/), files/, logs/.
      Exit 0 when the job finished (some files may have failed), 1 with the error code otherwise.

  pvhub-worker worker [--max-jobs N]
      Take submissions from the Hub's SQS queue (default 1 job, then exit; 0 runs until stopped).

  pvhub-worker healthcheck
      Exit 0 when the worker on this machine touched its heartbeat file (PVHUB_HEALTH_FILE) within
      PVHUB_HEALTH_MAX_AGE seconds, 1 otherwise: the container's HEALTHCHECK.

  pvhub-worker --help
      This text. Settings come from environment variables: see the README's configuration table.
`;

function fail(message: string, status = 2): never {
  // A message may quote a submission (an archive entry, a requirement line): the terminal gets no control codes.
  process.stderr.write(`pvhub-worker: ${plainText(message)}\n`);
  process.exit(status);
}

async function evaluate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: 'string' },
      submission: { type: 'string' },
      out: { type: 'string' },
      python: { type: 'string', default: '3.11' },
      'keep-workspace': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.task || !values.submission || !values.out)
    fail('evaluate needs --task, --submission and --out (see --help)');
  if (!LOCAL_PYTHON_VERSIONS.includes(values.python)) {
    fail(
      `wr_500: python ${values.python} cannot be provided locally (available: ${LOCAL_PYTHON_VERSIONS.join(', ')})`,
      1,
    );
  }
  const config = loadConfig(process.env);
  const outProblem = await outputFolderProblem(values.out);
  if (outProblem !== undefined) fail(outProblem);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(
        `\npvhub-worker: ${signal}: stopping, removing this run's containers (again to quit at once)\n`,
      );
      process.once(signal, () => process.exit(SIGNAL_EXIT[signal] ?? 1));
      stop.abort(signal);
    });
  }
  const outcome = await runEvaluate(config, {
    taskDir: values.task,
    submission: values.submission,
    outDir: values.out,
    pythonVersion: values.python,
    keepWorkspace: values['keep-workspace'],
    onEvent: progressView(process.stderr),
    signal: stop.signal,
  });
  if (outcome.type === 'failed') {
    // The reason stays the last line, where a person (and a script) looks for it.
    if (outcome.keptLog !== undefined) process.stderr.write(`log: ${outcome.keptLog}\n`);
    fail(outcome.error.toLine(), stop.signal.aborted ? (SIGNAL_EXIT[String(stop.signal.reason)] ?? 1) : 1);
  }
  process.stdout.write(
    summaryText(
      outcome.publicResults,
      outcome.tally,
      values.out,
      outcome.reportFromTemplate ? ['report.html', "private_results.html (the task's marimo report)"] : ['report.html'],
    ),
  );
  if (outcome.reportWarning) process.stderr.write(`note: ${outcome.reportWarning}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const asksHelp = (word: string | undefined) => word === '--help' || word === '-h' || word === 'help';
  if (command === undefined || asksHelp(command) || rest.some(asksHelp)) {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'evaluate') return evaluate(rest);
  if (command === 'healthcheck') {
    const { health } = loadConfig(process.env);
    const problem = healthProblem(healthFileTouchedAt(health.file), Date.now(), health.maxAgeSeconds);
    if (problem !== undefined) fail(problem, 1);
    process.stdout.write('healthy\n');
    return;
  }
  if (command === 'worker') {
    const { parseWorkerArgs, runWorkerCommand } = await import('./worker.js');
    const workerArgs = parseWorkerArgs(rest);
    return runWorkerCommand(loadConfig(process.env), workerArgs);
  }
  fail(`unknown command "${command}" (see --help)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) fail(error.message);
  if (
    error instanceof TypeError &&
    'code' in error &&
    String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')
  ) {
    fail(`${error.message} (see --help)`);
  }
  fail(asWorkerError(error).toLine(), 1);
});
