import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWheelName, wheelFits } from '../../src/domain/wheel-tags.js';

const PY311 = { pythonVersion: '3.11', machine: 'x86_64', glibcMinor: 36 };

function fits(file: string, target = PY311): boolean {
  const wheel = parseWheelName(file);
  assert.ok(wheel, file);
  return wheelFits(wheel, target);
}

test('a wheel name is read as PEP 427 writes it, with its build tag and compressed tag sets', () => {
  assert.equal(parseWheelName('Ruptures-1.1.8-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'), {
    project: 'ruptures',
    version: '1.1.8',
    pythonTags: ['cp311'],
    abiTags: ['cp311'],
    platformTags: ['manylinux_2_17_x86_64', 'manylinux2014_x86_64'],
  });
  assert.is(parseWheelName('ruptures-1.1.8.tar.gz'), undefined);
  assert.is(parseWheelName('ruptures-1.1.8-cp311.whl'), undefined);
});

test('the wheel fits when its own tags admit the python, the abi and the platform of the image', () => {
  assert.ok(fits('x-1-cp311-cp311-linux_x86_64.whl'));
  assert.ok(fits('x-1-py3-none-any.whl'));
  assert.ok(fits('x-1-py2.py3-none-any.whl'));
  assert.ok(fits('x-1-cp38-abi3-manylinux_2_17_x86_64.whl'), 'abi3 of an older CPython');
  assert.ok(fits('x-1-cp311-cp311-manylinux2014_x86_64.whl'));
  assert.not.ok(fits('x-1-cp312-cp312-linux_x86_64.whl'), 'another CPython');
  assert.not.ok(fits('x-1-cp312-abi3-linux_x86_64.whl'), 'abi3 of a newer CPython');
  assert.not.ok(fits('x-1-cp311-cp311-linux_aarch64.whl'), 'another machine');
  assert.not.ok(fits('x-1-cp311-cp311-manylinux_2_39_x86_64.whl'), 'a newer glibc than the image');
  assert.not.ok(fits('x-1-py312-none-any.whl'), 'a later python');
  assert.not.ok(fits('x-1-cp311-cp311-win_amd64.whl'));
});
test.run();
