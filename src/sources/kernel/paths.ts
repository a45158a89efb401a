/** Where the build outputs live, relative to the package root: the package root and the BPF objects of each architecture. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('ebpf-sensor package root not found');
}

export const packageRoot = findRoot();

/**
 * The shipped CO-RE objects of an architecture (bpf/Makefile): full (kfuncs)
 * and compat (probe reads only), in bpf/.output/<process.arch>/ — pt_regs,
 * syscall numbers and a few open flags differ between x86-64 and arm64, so
 * each architecture has its own pair; the package ships both.
 */
export function bpfObjectPaths(arch: string = process.arch): { full: string; compat: string } {
  return {
    full: join(packageRoot, `bpf/.output/${arch}/sensor.bpf.o`),
    compat: join(packageRoot, `bpf/.output/${arch}/sensor-compat.bpf.o`),
  };
}

/** This machine's objects. */
export const BPF_OBJECT_PATH = bpfObjectPaths().full;
export const BPF_COMPAT_OBJECT_PATH = bpfObjectPaths().compat;
