/** An image of the submission image cache: a submission's, or the dependencies image submissions are built on. */
export interface CachedImage {
  readonly id: string;
  readonly createdAt: number;
  /** With the layers of the images it is built on. */
  readonly sizeBytes: number;
  /** A submission image's dependencies image (its id), when it names one. */
  readonly builtOn?: string;
}

/**
 * The images to remove so that the cache holds at most `keepBytes`, the newest kept first. A submission image costs
 * what it adds to its dependencies image; a dependencies image costs its whole size, once, and stays while a kept
 * submission image is built on it (its layers stay with that image anyway). Once one image does not fit, every older
 * one goes. Ids in the order to remove them: an image before the one it is built on, which the engine would refuse
 * to remove first.
 */
export function imagesToPrune(images: readonly CachedImage[], keepBytes: number): string[] {
  const byId = new Map(images.map((image) => [image.id, image]));
  const newestFirst = [...images].sort((a, b) => b.createdAt - a.createdAt);
  const kept = new Set<string>();
  let total = 0;
  for (const image of newestFirst) {
    if (kept.has(image.id)) continue;
    const base = image.builtOn === undefined ? undefined : byId.get(image.builtOn);
    const own = base === undefined ? image.sizeBytes : Math.max(0, image.sizeBytes - base.sizeBytes);
    const cost = own + (base === undefined || kept.has(base.id) ? 0 : base.sizeBytes);
    if (total + cost > keepBytes) break;
    total += cost;
    kept.add(image.id);
    if (base !== undefined) kept.add(base.id);
  }
  const removed = newestFirst.filter((image) => !kept.has(image.id));
  const bases = new Set(images.flatMap((image) => (image.builtOn === undefined ? [] : [image.builtOn])));
  return [...removed.filter((image) => !bases.has(image.id)), ...removed.filter((image) => bases.has(image.id))].map(
    (image) => image.id,
  );
}
