import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CachedImage, imagesToPrune } from '../../src/domain/image-cache.js';

const GB = 1000 ** 3;
const MB = 1000 ** 2;

/** Dependencies image `deps` (1 GB) with submission images s1 (oldest) to s3 on it, each 10 MB over it; `old` alone. */
const images: CachedImage[] = [
  { id: 'old', createdAt: 1, sizeBytes: 2 * GB },
  { id: 'deps', createdAt: 2, sizeBytes: 1 * GB },
  { id: 's1', createdAt: 3, sizeBytes: GB + 10 * MB, builtOn: 'deps' },
  { id: 's2', createdAt: 4, sizeBytes: GB + 10 * MB, builtOn: 'deps' },
  { id: 's3', createdAt: 5, sizeBytes: GB + 10 * MB, builtOn: 'deps' },
];

test('submission images on one dependencies image cost what they add to it: three of them and it fit in 1.1 GB', () => {
  assert.equal(imagesToPrune(images, 1.1 * GB), ['old']);
  assert.equal(imagesToPrune(images, 10 * GB), []);
});

test('past the budget the oldest go, each before the dependencies image it is built on; one a kept image is built on stays', () => {
  assert.equal(imagesToPrune(images, GB + 25 * MB), ['s1', 'old']);
  assert.equal(imagesToPrune(images, 0.5 * GB), ['s3', 's2', 's1', 'old', 'deps']);
});

test('an image that names a dependencies image the cache does not hold costs its whole size', () => {
  const orphan: CachedImage[] = [{ id: 's', createdAt: 1, sizeBytes: GB, builtOn: 'gone' }];
  assert.equal(imagesToPrune(orphan, 0.9 * GB), ['s']);
  assert.equal(imagesToPrune(orphan, GB), []);
});

test.run();
