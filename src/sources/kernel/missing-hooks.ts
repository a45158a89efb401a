/**
 * Hooks the running kernel lacks, decided before the object is loaded.
 *
 * Takes: the opened (not yet loaded) BPF object and tracefs. Gives: the
 * programs whose syscall tracepoint does not exist (not loaded: a missing
 * hook is not an error) and, for those the generic raw sys_exit program can
 * stand in for, the syscall number to watch and the enum se_syscall to report.
 */
import { existsSync } from 'node:fs';
import { Syscall } from '../../decode/abi.generated.js';
import type { NativeBpfObject } from './binding.js';

/**
 * Syscall tracepoints exist only for syscalls the kernel implements: without
 * CONFIG_MODULES there is no sys_exit_init_module, fchmodat2 needs 6.6. Such
 * programs are not loaded, and reported.
 */
export function disableMissingTracepoints(obj: NativeBpfObject, tracefs: string): Array<{ program: string; tracepoint: string }> {
  const out: Array<{ program: string; tracepoint: string }> = [];
  for (const p of obj.programs()) {
    const m = /^tracepoint\/([^/]+)\/([^/]+)$/.exec(p.section);
    if (!m) continue;
    if (!existsSync(`${tracefs}/events/${m[1]}/${m[2]}`)) {
      obj.setAutoload(p.name, false);
      out.push({ program: p.name, tracepoint: `${m[1]}/${m[2]}` });
    }
  }
  return out;
}

/** The generic sys_exit program (bpf/programs/priv.bpf.c) for syscalls without a tracepoint. */
export const RAW_SYS_EXIT_PROGRAM = 'se_raw_sys_exit';

/** Syscall numbers (per architecture) of the hooks the raw sys_exit program can stand in for. */
const RAW_FALLBACK: Readonly<Record<string, { sc: number; nr: Partial<Record<string, number>> }>> = {
  se_sys_exit_init_module: { sc: Syscall.SE_SC_INIT_MODULE, nr: { x64: 175, arm64: 105 } },
  se_sys_exit_finit_module: { sc: Syscall.SE_SC_FINIT_MODULE, nr: { x64: 313, arm64: 273 } },
  se_sys_exit_delete_module: { sc: Syscall.SE_SC_DELETE_MODULE, nr: { x64: 176, arm64: 106 } },
};

/** The unavailable programs the raw sys_exit program reports instead: syscall number and enum se_syscall. */
export function rawSyscallFallback(unavailable: ReadonlyArray<{ program: string }>, arch: string = process.arch): Array<{ program: string; nr: number; sc: number }> {
  const out: Array<{ program: string; nr: number; sc: number }> = [];
  for (const u of unavailable) {
    const f = RAW_FALLBACK[u.program];
    const nr = f?.nr[arch];
    if (f && nr !== undefined) out.push({ program: u.program, nr, sc: f.sc });
  }
  return out;
}
