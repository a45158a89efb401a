/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * uapi constants that vmlinux.h cannot give: it carries the kernel's types and
 * enums (enum bpf_cmd: BPF_MAP_CREATE, BPF_PROG_LOAD, …), never its #defines.
 * Each is defined once here, with the header it comes from; values are ABI and
 * do not change. The decoder names the same values in src/decode/syscall-tables.ts.
 */
#ifndef SE_UAPI_BPF_H
#define SE_UAPI_BPF_H

/* ptrace(2) requests: include/uapi/linux/ptrace.h, except PTRACE_SETREGS
 * (arch/x86/include/uapi/asm/ptrace-abi.h; arm64 has only PTRACE_SETREGSET). */
#ifndef PTRACE_TRACEME
#define PTRACE_TRACEME		0
#define PTRACE_POKETEXT		4
#define PTRACE_POKEDATA		5
#define PTRACE_POKEUSR		6
#define PTRACE_SETREGS		13
#define PTRACE_ATTACH		16
#define PTRACE_SETREGSET	0x4205
#define PTRACE_SEIZE		0x4206
#endif

#endif /* SE_UAPI_BPF_H */
