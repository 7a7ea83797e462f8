import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canonicalName,
  parseRequirements,
  pipErrorSummary,
  requirementWithoutWheel,
  urlRequirements,
} from '../../src/domain/requirements.js';
import { workerError } from '../helpers/images.js';

test('requirement lines keep names, extras, versions and markers, without comments', () => {
  const text = [
    '# pinned by the author',
    'pandas>=1.5,<3',
    'numpy==1.26.4  # inline comment',
    'scikit-learn[alldeps] ~= 1.3',
    'pvlib ; python_version >= "3.9"',
    'statsmodels \\',
    '  ==0.14.1',
    '',
  ].join('\n');
  assert.equal(parseRequirements(text), [
    'pandas>=1.5,<3',
    'numpy==1.26.4',
    'scikit-learn[alldeps] ~= 1.3',
    'pvlib ; python_version >= "3.9"',
    'statsmodels    ==0.14.1',
  ]);
});

test('options, URLs, files and malformed lines are op_2 naming the line', async () => {
  const refused: Array<[string, string]> = [
    ['-e git+https://example.com/x.git#egg=x', 'options are not accepted'],
    ['--index-url https://example.com/simple', 'options are not accepted'],
    ['-f https://example.com/wheels', 'options are not accepted'],
    ['https://example.com/x-1.0-py3-none-any.whl', 'URLs are not accepted'],
    ['x @ https://example.com/x.zip', 'URLs are not accepted'],
    ['x-1.0-py3-none-any.whl', 'files are not accepted'],
    ['./local/package', 'malformed requirement'],
    ['pandas >= ', 'malformed requirement'],
    ['not a requirement!', 'malformed requirement'],
  ];
  for (const [line, reason] of refused) {
    const error = await workerError(() => parseRequirements(`pandas\n${line}\n`));
    assert.is(error.code, 'op_2');
    assert.match(error.message, reason);
    assert.match(error.message, line.trim());
  }
});

test('pip\'s "no matching distribution" names the requirement to build from source', () => {
  const output =
    'ERROR: Could not find a version that satisfies the requirement qss>=0.2 (from solar-data-tools) (from versions: none)\nERROR: No matching distribution found for qss>=0.2\n';
  assert.is(requirementWithoutWheel(output), 'qss>=0.2');
  assert.is(requirementWithoutWheel('ERROR: ResolutionImpossible: for help visit ...'), undefined);
  assert.is(
    pipErrorSummary(output),
    'ERROR: Could not find a version that satisfies the requirement qss>=0.2 (from solar-data-tools) (from versions: none) | ERROR: No matching distribution found for qss>=0.2',
  );
  assert.is(
    pipErrorSummary('Collecting x\n  Downloading x-1.0.whl\nKilled\n'),
    'Collecting x |   Downloading x-1.0.whl | Killed',
  );
});

test('project names compare as the index compares them', () => {
  assert.is(canonicalName('Ruptures_Fork.Two'), canonicalName('ruptures-fork-two'));
  assert.is.not(canonicalName('ruptures2'), canonicalName('ruptures'));
});

test("a wheel's URL requirements are found in its METADATA, folded lines too; markers and named ones are not", () => {
  const metadata =
    'Metadata-Version: 2.1\nName: x\nRequires-Dist: numpy (>=1.20)\nRequires-Dist: pytest ; extra == "test"\nRequires-Dist: evil\n  @ https://example.invalid/evil.tar.gz\nRequires-Dist: y; python_version >= "3.9"\n';
  assert.equal(urlRequirements(metadata), ['evil @ https://example.invalid/evil.tar.gz']);
});

test.run();
