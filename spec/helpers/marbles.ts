import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';

/**
 * Errors compared by class and message: deep equality alone says two different errors are equal, and fields like
 * `cause` or a stack make equal ones differ.
 */
function normalise(value: unknown): unknown {
  if (value instanceof Error) {
    const extra = 'code' in value ? { code: (value as { code: unknown }).code } : {};
    return { errorClass: value.constructor.name, message: value.message, ...extra };
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalise(item)]));
  }
  return value;
}

/** A TestScheduler whose assertions go through uvu and compare errors by class and message. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    assert.equal(normalise(actual), normalise(expected));
  });
}
