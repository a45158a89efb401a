/**
 * Loads the native addon (a local build in native/build/Release, else the
 * prebuilt one in native/prebuilds/) and makes it throw SensorError. Only the kernel source imports this file.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SensorError, type SensorErrorDetails } from '../../errors.js';
import { packageRoot } from './paths.js';

export interface AttachResult {
  name: string;
  section: string;
  attached: boolean;
  error?: string;
  errno?: number;
}

export interface RingStats {
  records: number;
  bytes: number;
  batches: number;
  stalls: number;
  wakeups: number;
  oversize: number;
  freeChunks: number;
}

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface ProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
  fd: number;
}

/** The BpfObject class the addon exports (one libbpf bpf_object). */
export interface NativeBpfObject {
  setGlobal(name: string, value: number | bigint): void;
  setMapSize(map: string, maxEntries: number): void;
  setAutoload(program: string, on: boolean): void;
  load(): void;
  attach(): AttachResult[];
  detach(): number;
  mapUpdate(map: string, key: Buffer, value: Buffer, flags?: number): void;
  mapLookup(map: string, key: Buffer): Buffer | null;
  mapDelete(map: string, key: Buffer): boolean;
  mapKeys(map: string): Buffer[];
  maps(): MapInfo[];
  programs(): ProgramInfo[];
  startRing(maps: string[], chunks: Buffer[], pollMs: number, onBatch: (chunk: number, used: number, records: number) => void): void;
  stopRing(): void;
  refRing(on: boolean): void;
  ringStats(): RingStats;
  close(): void;
}

export interface NativeBinding {
  BpfObject: new (path: string) => NativeBpfObject;
  setErrorClass(ctor: new (message: string, props: Record<string, unknown>) => Error): void;
  info(): { libbpfVersion: string; possibleCpus: number };
  clocks(): { boottime: bigint; realtime: bigint };
  probeProgType(type: number): boolean;
  /** The subset of `names` the running kernel's BTF has as functions (kfunc probe). */
  kernelFuncs(names: string[]): string[];
  abi: Record<string, number>;
}

/** Error class the addon instantiates: `new NativeError(message, props)`. */
class NativeError extends SensorError {
  constructor(message: string, props: { code?: string } & SensorErrorDetails) {
    const e = SensorError.fromNative(message, props);
    super(e.code, message, props);
  }
}

/** Where node-gyp-build looks: native/build/Release (a local build) first, then native/prebuilds/<platform>-<arch>/. */
export const ADDON_DIR = join(packageRoot, 'native');

let binding: NativeBinding | undefined;

/**
 * The addon, loaded once through node-gyp-build: a developer's local build
 * wins over the prebuilt one shipped in the package. Throws
 * ESENSOR_BUILD_MISSING when neither exists or it cannot be loaded.
 */
export function loadBinding(): NativeBinding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = (require('node-gyp-build') as { path(dir: string): string }).path(ADDON_DIR);
  } catch (e) {
    throw new SensorError(
      'ESENSOR_BUILD_MISSING',
      `native addon not found for ${process.platform}-${process.arch} under ${ADDON_DIR} (no prebuild and no local build: run npm run setup)`,
      { cause: e },
    );
  }
  try {
    binding = require(path) as NativeBinding;
  } catch (e) {
    throw new SensorError('ESENSOR_BUILD_MISSING', `cannot load native addon ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  binding.setErrorClass(NativeError);
  return binding;
}
