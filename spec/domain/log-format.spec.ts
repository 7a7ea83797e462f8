import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { textLogs } from '../../src/domain/log-format.js';

test('INFO and above go to the text log, ERROR and above also to the error log', () => {
  const jsonl = [
    JSON.stringify({ level: 20, time: 't0', msg: 'debug detail' }),
    JSON.stringify({ level: 30, time: 't1', msg: 'task staged' }),
    JSON.stringify({ level: 40, time: 't2', msg: 'slow', file: 'a.csv', code: 'sb_1' }),
    'not json',
    JSON.stringify({ level: 50, time: 't3', msg: 'broke', stage: 'build', code: 'op_2' }),
  ].join('\n');
  assert.equal(textLogs(jsonl), {
    all: '[INFO|worker] t1: task staged\n[WARNING|a.csv] t2: slow [sb_1]\n[ERROR|build] t3: broke [op_2]\n',
    errors: '[ERROR|build] t3: broke [op_2]\n',
  });
});

test('an empty log gives empty files', () => {
  assert.equal(textLogs(''), { all: '', errors: '' });
});

test.run();
