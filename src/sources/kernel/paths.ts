/** Where the build outputs live, relative to the package root. */
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
/** The shipped CO-RE objects (bpf/Makefile): full (kfuncs) and compat (probe reads only). */
export const BPF_OBJECT_PATH = join(packageRoot, 'bpf/.output/sensor.bpf.o');
export const BPF_COMPAT_OBJECT_PATH = join(packageRoot, 'bpf/.output/sensor-compat.bpf.o');
