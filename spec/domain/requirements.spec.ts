import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canonicalName,
  parseRequirements,
  projectNotFound,
  requirementWithoutWheel,
  resolverErrorSummary,
  urlRequirements,
} from '../../src/domain/requirements.js';
import { workerError } from '../helpers/images.js';

test('requirement lines are written back from their parse: names, extras, versions and markers, without comments', () => {
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
    'scikit-learn[alldeps]~=1.3',
    'pvlib; python_version >= "3.9"',
    'statsmodels==0.14.1',
  ]);
  assert.equal(
    parseRequirements('anyio (>=3, <5) ; python_version<"3.11" and (sys_platform == \'linux\' or extra=="x")'),
    ['anyio>=3,<5; python_version < "3.11" and ( sys_platform == \'linux\' or extra == "x" )'],
  );
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
    ['numpy==2.1.3 ; python_version > "3" --hash=sha256:0123abcd', 'options are not accepted'],
    ['numpy==2.1.3 --config-settings=x=y', 'options are not accepted'],
    ['numpy==${NUMPY_VERSION}', 'environment variables are not accepted'],
    ['numpy; python_version > "${PY}"', 'environment variables are not accepted'],
    ['numpy; import os', 'malformed environment marker'],
    ['numpy; python_version >', 'malformed environment marker'],
    ['numpy[]', 'malformed extras'],
  ];
  for (const [line, reason] of refused) {
    const error = await workerError(() => parseRequirements(`pandas\n${line}\n`));
    assert.is(error.code, 'op_2');
    assert.match(error.message, reason);
    assert.match(error.message, line.trim());
  }
});

test("uv's answer names the requirement with no wheel (to build from source), or the project it found nowhere", () => {
  const version =
    'error: No solution found when resolving dependencies\n  cause: Because pvhub-spec-x==0.1 has no usable wheels and you require pvhub-spec-x==0.1, we can conclude that your requirements are unsatisfiable.\n\nhint: Wheels are required for `pvhub-spec-x` because building from source is disabled for all packages (i.e., with `--no-build`)\n';
  assert.is(requirementWithoutWheel(version), 'pvhub-spec-x==0.1');
  const anyVersion =
    'error: No solution found when resolving dependencies\n  cause: Because all versions of qss have no usable wheels and you require qss, we can conclude that your requirements are unsatisfiable.\n\nhint: Wheels are required for `qss` because building from source is disabled for all packages (i.e., with `--no-build`)\n';
  assert.is(requirementWithoutWheel(anyVersion), 'qss');
  const unknown =
    'error: No solution found when resolving dependencies\n  cause: Because pvhub-no-such-package-for-tests was not found in the package registry and you require pvhub-no-such-package-for-tests==1.0, we can conclude that your requirements are unsatisfiable.\n';
  assert.is(requirementWithoutWheel(unknown), undefined);
  assert.is(projectNotFound(unknown), 'pvhub-no-such-package-for-tests');
  assert.is(projectNotFound(version), undefined);
  assert.is(
    resolverErrorSummary(unknown),
    'error: No solution found when resolving dependencies | cause: Because pvhub-no-such-package-for-tests was not found in the package registry and you require pvhub-no-such-package-for-tests==1.0, we can conclude that your requirements are unsatisfiable.',
  );
  assert.is(
    resolverErrorSummary('Collecting x\nERROR: No matching distribution found for x==9\n'),
    'ERROR: No matching distribution found for x==9',
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
