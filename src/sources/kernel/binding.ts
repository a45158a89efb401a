/**
 * Loads the native addon (native/build/Release/ebpf_sensor.node) and makes it
 * throw SensorError. Only the kernel source imports this file.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
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
  abi: Record<string, number>;
}

/** Error class the addon instantiates: `new NativeError(message, props)`. */
class NativeError extends SensorError {
  constructor(message: string, props: { code?: string } & SensorErrorDetails) {
    const e = SensorError.fromNative(message, props);
    super(e.code, message, props);
  }
}

export const ADDON_PATH = join(packageRoot, 'native/build/Release/ebpf_sensor.node');

let binding: NativeBinding | undefined;

/** The addon, loaded once. Throws ESENSOR_BUILD_MISSING when it was not built. */
export function loadBinding(): NativeBinding {
  if (binding) return binding;
  if (!existsSync(ADDON_PATH)) {
    throw new SensorError('ESENSOR_BUILD_MISSING', `native addon not built: ${ADDON_PATH} is missing (run: npm run setup)`);
  }
  const require = createRequire(import.meta.url);
  try {
    binding = require(ADDON_PATH) as NativeBinding;
  } catch (e) {
    throw new SensorError('ESENSOR_BUILD_MISSING', `cannot load native addon ${ADDON_PATH}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  binding.setErrorClass(NativeError);
  return binding;
}
