import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plainText } from '../../src/domain/plain-text.js';

test("pip's coloured ERROR inside a docker build reads as plain text", () => {
  const built =
    'Processing /wheelhouse/six-1.17.0-py2.py3-none-any.whl | \x1b[91mERROR: No matching distribution found for exceptiongroup>=1.0.2\x1b[0m | Removing';
  assert.is(
    plainText(built),
    'Processing /wheelhouse/six-1.17.0-py2.py3-none-any.whl | ERROR: No matching distribution found for exceptiongroup>=1.0.2 | Removing',
  );
});

test('cursor moves, titles, links and control characters go; newlines, tabs and other scripts stay', () => {
  assert.is(plainText('\x1b[2K\r\x1b[1;32mok\x1b[m\tdone\n'), 'ok\tdone\n');
  assert.is(plainText('\x1b]0;title\x07\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\'), 'link');
  assert.is(plainText('a\bb\x00c\x7fd\x9be\x1bcf'), 'abcdef');
  assert.is(plainText('Température ≥ 3 °C – naïve'), 'Température ≥ 3 °C – naïve');
});

test.run();
