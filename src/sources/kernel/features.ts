/**
 * Load-time feature probing: which of the shipped BPF objects this kernel can
 * load. Takes the list of kernel functions the running kernel's BTF offers
 * (the addon's kernelFuncs) and gives the object path to load and why.
 *
 * Both objects are CO-RE builds of the same programs (bpf/Makefile): the full
 * one calls the bpf_rdonly_cast kfunc (Linux 6.2, commit fd264ca02094) so that
 * kernel pointers read as data stay plain-loadable; the compat one reads each
 * field with a CO-RE probe read. The choice is made here, on the kernel that
 * loads them, never by a macro on the build machine.
 */
import { existsSync } from 'node:fs';
import { BPF_OBJECT_PATH, BPF_COMPAT_OBJECT_PATH } from './paths.js';

/** kfuncs the full object calls; all must be in the kernel's BTF. */
export const FULL_OBJECT_KFUNCS = ['bpf_rdonly_cast'] as const;

export interface ObjectChoice {
  path: string;
  variant: 'full' | 'compat';
  /** kfuncs of the full object the kernel lacks (empty for 'full'). */
  missing: string[];
}

/**
 * Pick the object: the full one when the kernel has every kfunc it calls,
 * else the compat one. `kernelFuncs` is the addon's probe (injectable for tests).
 */
export function chooseObject(
  kernelFuncs: (names: string[]) => string[],
  paths: { full: string; compat: string } = { full: BPF_OBJECT_PATH, compat: BPF_COMPAT_OBJECT_PATH },
): ObjectChoice {
  const have = new Set(kernelFuncs([...FULL_OBJECT_KFUNCS]));
  const missing = FULL_OBJECT_KFUNCS.filter((f) => !have.has(f));
  if (missing.length === 0 || !existsSync(paths.compat)) return { path: paths.full, variant: 'full', missing };
  return { path: paths.compat, variant: 'compat', missing };
}
