import type Dockerode from 'dockerode';
import type { ContainerRunSpec } from '../ports/container-engine.js';
import { runNetworkEnv } from './docker-networking.js';

/** Largest file a submission may write (RLIMIT_FSIZE), so it cannot fill the worker's disk through /results. */
const FILE_SIZE_LIMIT = 1024 ** 3;
const DEFAULT_TMP_BYTES = 256 * 1024 ** 2;

/**
 * Every run's environment besides the image's. OpenBLAS (numpy's, scipy's) starts a thread per core at import, and
 * each spins for 2^28 TSC cycles (about 0.1 s) before it sleeps, after its start and after every task: about 100 ms of
 * CPU per run for a file that never multiplies a matrix, taken from the other containers on the host. 2^20 cycles
 * (about 0.3 ms) still keeps the threads awake between back-to-back products. The thread count, and so every result,
 * stays the same.
 */
const RUN_ENVIRONMENT = ['OPENBLAS_THREAD_TIMEOUT=20'];

const networkDisabled = (spec: ContainerRunSpec) => spec.network === undefined && spec.hostsFile !== undefined;

/**
 * The engine's create request for a run: the hardening of every container the worker starts. A run that makes an image
 * has a writable root, and none of RUN_ENVIRONMENT: the engine's commit adds a run's variables to the image's.
 */
export function createOptions(
  spec: ContainerRunSpec,
  volumes: Dockerode.MountConfig,
  makesImage = false,
): Dockerode.ContainerCreateOptions {
  const fileSizeLimit = Math.min(FILE_SIZE_LIMIT, spec.resultsCapBytes ?? FILE_SIZE_LIMIT);
  return {
    Image: spec.image,
    Cmd: [...spec.command],
    User: spec.user,
    Labels: { ...spec.labels },
    // Nothing of the worker's environment (credentials) reaches the submission; the image's ENV still applies.
    Env: [...(makesImage ? [] : RUN_ENVIRONMENT), ...runNetworkEnv(spec.network)],
    AttachStdout: true,
    AttachStderr: true,
    // A turn's go is the only thing ever written to stdin; it closes when the worker's attach ends (the worker gone).
    ...(spec.turn === undefined ? {} : { AttachStdin: true, OpenStdin: true, StdinOnce: true }),
    // The engine's network hook is a run of its own binary, about as much CPU as the rest of the container's start.
    NetworkDisabled: networkDisabled(spec),
    HostConfig: {
      NetworkMode: spec.network?.name ?? 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: !makesImage,
      Tmpfs: {
        '/tmp': `rw,${spec.tmp?.exec ? 'exec' : 'noexec'},nosuid,size=${spec.tmp?.sizeBytes ?? DEFAULT_TMP_BYTES}`,
      },
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      PidsLimit: spec.pidsLimit,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'fsize', Soft: fileSizeLimit, Hard: fileSizeLimit },
      ],
      // The output is read through the attach stream; a logging driver would also store all of it on the host's
      // disk (json-file keeps everything), so a flood of output would fill the disk while the file runs.
      LogConfig: { Type: 'none', Config: {} },
      // Bind mounts take no nosuid or nodev (BindOptions has propagation only): what a run writes goes to a volume.
      Binds: [
        ...spec.mounts.map((mount) => `${mount.hostPath}:${mount.containerPath}:${mount.readOnly ? 'ro' : 'rw'}`),
        ...(networkDisabled(spec) ? [`${spec.hostsFile}:/etc/hosts:ro`] : []),
      ],
      Mounts: [...volumes],
      AutoRemove: false,
      // The command is PID 1 whatever the engine's default: the wrapper's supervisor relies on that to be out of the
      // submission's reach (signals from inside the container cannot stop PID 1) and to end the container on time.
      Init: false,
    },
  };
}
