/**
 * The kernel source's options and their checks.
 *
 * Takes: the `kernel` section of the validated config (or a test's partial
 * options). Gives: KernelSourceOptions with defaults, and
 * validateKernelOptions(), which refuses what the addon or the kernel would
 * refuse later (ring not a power of two, env var names the key cannot hold)
 * with an ESENSOR_CONFIG naming the key.
 */
import { SensorError } from '../../errors.js';
import { AbiConsts } from '../../decode/abi.generated.js';

export interface KernelSourceOptions {
  objectPath?: string;
  /** Ring buffer size in bytes (power of two, >= 1 MiB). */
  ringBytes: number;
  /** Size of each JS-owned chunk the reader fills. */
  chunkBytes: number;
  /** Number of chunks: reader-side buffering is chunkBytes * chunks. */
  chunks: number;
  /** The reader drains at least this often (ms) even without a wakeup. */
  pollMs: number;
  /** Wake the reader early when this many bytes are pending in the ring. */
  wakeupBytes: number;
  /** Extra processes never reported. */
  ignorePids?: number[];
  /** cgroup v2 paths (as in /proc/PID/cgroup's 0:: line) whose processes are never reported. */
  ignoreCgroups?: string[];
  /** Report the sensor's own activity too (default: never). */
  reportSelf?: boolean;
  /** Where cgroup v2 is mounted (default: found in /proc/self/mountinfo). Tests. */
  cgroupRoot?: string;
  /** Programs whose attach may fail without stopping the sensor (hooks absent on some kernels). */
  optionalPrograms?: string[];
  /** Provenance: a connect to loopback counts as connecting out (kernel.provenance.loopbackIsRemote). */
  provenanceLoopback?: boolean;
  /** Names of the environment variables captured at exec (process.env_vars); none when empty or absent. */
  envVars?: string[];
}

export const DEFAULT_KERNEL_OPTIONS: KernelSourceOptions = {
  ringBytes: 8 << 20,
  chunkBytes: 1 << 20,
  chunks: 16,
  pollMs: 10,
  wakeupBytes: 1 << 20,
};

const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${AbiConsts.SE_ENV_NAME_MAX - 2}}$`);

/** Throws ESENSOR_CONFIG (with the config key) for options the kernel side cannot take. */
export function validateKernelOptions(o: KernelSourceOptions): void {
  for (const name of o.envVars ?? []) {
    if (!ENV_NAME.test(name)) {
      throw new SensorError('ESENSOR_CONFIG', `kernel.envVars: ${JSON.stringify(name)} is not an environment variable name of at most ${AbiConsts.SE_ENV_NAME_MAX - 1} characters`, {
        field: 'kernel.envVars',
      });
    }
  }
  const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(o.ringBytes) || o.ringBytes < 1 << 20) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.ringBytes must be a power of two >= 1048576, got ${o.ringBytes}`, {
      field: 'kernel.ringBytes',
    });
  }
  if (!Number.isInteger(o.chunkBytes) || o.chunkBytes < 65536) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.chunkBytes must be >= 65536, got ${o.chunkBytes}`, { field: 'kernel.chunkBytes' });
  }
  if (!Number.isInteger(o.chunks) || o.chunks < 2 || o.chunks > 256) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.chunks must be 2..256, got ${o.chunks}`, { field: 'kernel.chunks' });
  }
  if (!Number.isInteger(o.pollMs) || o.pollMs < 1 || o.pollMs > 1000) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.pollMs must be 1..1000, got ${o.pollMs}`, { field: 'kernel.pollMs' });
  }
}
