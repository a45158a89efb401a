/**
 * The raw sys_exit stand-in for syscalls without a tracepoint of their own.
 *
 * Takes: the programs left out because their syscall tracepoint does not
 * exist on this kernel (module support off: no sys_exit_init_module), and
 * the architecture. Gives: for those the generic raw sys_exit program can
 * stand in for, the syscall number to watch and the enum se_syscall to report
 * (the raw_syscalls map of bpf/programs/priv.bpf.c).
 */
import { Syscall } from '../../decode/abi.generated.js';

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
