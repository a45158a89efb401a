/**
 * Which of the object's programs this kernel can take, decided before load:
 * takes the object's programs (name, section), the tracefs mount and the
 * kernel's BTF tracepoint prototypes; gives the programs to leave out, each
 * with its hook and why. The kernel source turns them off (setAutoload) and
 * logs them; a missing hook is not an error, but one program the kernel
 * refuses would make libbpf refuse the whole object.
 *
 * - tracepoint/GROUP/NAME: exists only for syscalls the kernel implements
 *   (no sys_exit_init_module without CONFIG_MODULES, fchmodat2 is 6.6's,
 *   arm64 has no open, creat, unlink, ... — asm-generic's table);
 * - tp_btf/NAME: the kernel's btf_trace_NAME must exist (io_uring_submit_req
 *   is 6.2's name for 6.1's io_uring_submit_sqe) and take pointers where the
 *   program reads pointers (io_uring_complete passes the cqe as a pointer
 *   only on newer kernels; 6.1 passes user_data, res, cflags as numbers).
 */
import { existsSync } from 'node:fs';
import type { ArgKind } from './btf.js';

/**
 * The arguments each tp_btf program reads (bpf/programs/*.bpf.c, BPF_PROG),
 * as pointer or scalar, in order. A kernel whose prototype has fewer
 * arguments, or a different kind at one of these places, does not get the
 * program. A tp_btf program missing here is checked for existence only.
 */
export const TP_BTF_ARGS: Readonly<Record<string, readonly ArgKind[]>> = {
  sched_process_exec: ['ptr', 'scalar', 'ptr'],
  sched_process_fork: ['ptr', 'ptr'],
  sched_process_exit: ['ptr'],
  sys_exit: ['ptr', 'scalar'],
  io_uring_submit_req: ['ptr'],
  io_uring_complete: ['ptr', 'ptr', 'ptr'],
  io_uring_create: ['scalar', 'ptr', 'scalar', 'scalar', 'scalar'],
};

export interface UnavailableHook {
  program: string;
  tracepoint: string;
  /** Why: absent from this kernel, or present with other argument kinds. */
  reason: 'absent' | 'prototype';
}

/**
 * The programs this kernel cannot take. `protos`: the kernel's BTF
 * tracepoint prototypes (btf.ts), undefined when its BTF could not be read
 * (tp_btf programs are then left to libbpf).
 */
export function unavailableHooks(
  programs: ReadonlyArray<{ name: string; section: string }>,
  tracefs: string,
  protos: ReadonlyMap<string, readonly ArgKind[]> | undefined,
): UnavailableHook[] {
  const out: UnavailableHook[] = [];
  for (const p of programs) {
    const m = /^tracepoint\/([^/]+)\/([^/]+)$/.exec(p.section);
    if (m) {
      if (!existsSync(`${tracefs}/events/${m[1]}/${m[2]}`)) out.push({ program: p.name, tracepoint: `${m[1]}/${m[2]}`, reason: 'absent' });
      continue;
    }
    const b = /^tp_btf\/([^/]+)$/.exec(p.section);
    if (!b || !protos) continue;
    const name = b[1]!;
    const have = protos.get(name);
    if (!have) {
      out.push({ program: p.name, tracepoint: name, reason: 'absent' });
      continue;
    }
    const want = TP_BTF_ARGS[name];
    if (want && (have.length < want.length || want.some((k, i) => have[i] !== k))) {
      out.push({ program: p.name, tracepoint: name, reason: 'prototype' });
    }
  }
  return out;
}
