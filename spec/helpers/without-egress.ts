import type { ContainerEngine } from '../../src/ports/container-engine.js';

const unused = async (): Promise<never> => {
  throw new Error('this spec uses no network: the egress methods are not called');
};

/** The egress half of a ContainerEngine, for a spec's own small engine that never makes a network. */
export const withoutEgress: Pick<
  ContainerEngine,
  'createInternalNetwork' | 'connectToNetwork' | 'removeNetworks' | 'startService' | 'serviceOutput' | 'engineAddresses'
> = {
  createInternalNetwork: unused,
  connectToNetwork: unused,
  removeNetworks: unused,
  startService: unused,
  serviceOutput: unused,
  engineAddresses: unused,
};

/** For an engine on which no job's files run, so no group of results holders is opened. */
export const withoutSharedHolders: Pick<ContainerEngine, 'openResultsHolders'> = {
  openResultsHolders: () => {
    throw new Error('this spec runs no files: no group of results holders is opened');
  },
};

/** For an engine that a spec gives every image it needs: it tags, commits, lists or removes none. */
export const withoutImageCache: Pick<
  ContainerEngine,
  'imageId' | 'tagImage' | 'runAndCommit' | 'listImages' | 'removeImage'
> = {
  imageId: unused,
  tagImage: unused,
  runAndCommit: unused,
  listImages: unused,
  removeImage: unused,
};
