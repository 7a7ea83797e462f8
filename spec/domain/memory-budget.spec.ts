import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryBudget, parseCgroupBytes, parseMemAvailable } from '../../src/domain/memory-budget.js';

const GIB = 1024 ** 3;

test('the smaller of host memory and what the cgroup still allows, less the reserve', () => {
  assert.is(
    memoryBudget({ availableBytes: 20 * GIB, cgroupLimitBytes: undefined, cgroupUsageBytes: undefined }, GIB),
    19 * GIB,
  );
  assert.is(
    memoryBudget({ availableBytes: 20 * GIB, cgroupLimitBytes: 8 * GIB, cgroupUsageBytes: 2 * GIB }, GIB),
    5 * GIB,
  );
  assert.is(memoryBudget({ availableBytes: 4 * GIB, cgroupLimitBytes: 8 * GIB, cgroupUsageBytes: 0 }, GIB), 3 * GIB);
});

test("cgroup v1's huge 'unlimited' value counts as no limit; never negative", () => {
  assert.is(
    memoryBudget({ availableBytes: 10 * GIB, cgroupLimitBytes: 9223372036854771712, cgroupUsageBytes: GIB }, 0),
    10 * GIB,
  );
  assert.is(
    memoryBudget({ availableBytes: GIB, cgroupLimitBytes: undefined, cgroupUsageBytes: undefined }, 2 * GIB),
    0,
  );
  assert.is(
    memoryBudget({ availableBytes: undefined, cgroupLimitBytes: undefined, cgroupUsageBytes: undefined }, 0),
    0,
  );
});

test('procfs and cgroup files parse', () => {
  assert.is(parseMemAvailable('MemTotal:  100 kB\nMemAvailable:    2048 kB\n'), 2048 * 1024);
  assert.is(parseMemAvailable('MemTotal: 1 kB\n'), undefined);
  assert.is(parseCgroupBytes('max\n'), undefined);
  assert.is(parseCgroupBytes('1073741824\n'), GIB);
});

test.run();
