/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * uapi constants that vmlinux.h cannot give: it carries the kernel's types and
 * enums (enum bpf_cmd: BPF_MAP_CREATE, BPF_PROG_LOAD, …), never its #defines.
 * Each is defined once here, with the header it comes from; values are ABI and
 * do not change. The SE_ prefix keeps them apart from libc's names; the ptrace
 * requests keep the kernel's. The decoder names the same values in
 * src/decode/syscall-tables.ts. Included by maps.bpf.h, the base of lib/.
 * (The open flags stay in open.bpf.c and io_uring.bpf.c: some differ per
 * architecture, which the arm64 build handles there.)
 */
#ifndef SE_UAPI_BPF_H
#define SE_UAPI_BPF_H

/* include/uapi/linux/fcntl.h */
#define SE_AT_FDCWD		(-100)
#define SE_AT_REMOVEDIR		0x200
#define SE_AT_EMPTY_PATH	0x1000

/* include/uapi/linux/stat.h */
#define SE_S_IFMT		0170000
#define SE_S_IFSOCK		0140000
#define SE_S_IFREG		0100000
#define SE_S_IFDIR		0040000
#define SE_S_IFCHR		0020000
#define SE_S_IFIFO		0010000

/* include/linux/socket.h (address families), include/uapi/linux/un.h */
#define SE_AF_UNIX		1
#define SE_AF_INET		2
#define SE_AF_INET6		10
#define SE_UNIX_PATH_MAX	108

/* enum bpf_cmd (include/uapi/linux/bpf.h) comes from vmlinux.h, but for its
 * 6.9 addition: the vmlinux.h of an older kernel (the arm64 build uses 6.1's)
 * has no BPF_TOKEN_CREATE. */
#define SE_BPF_TOKEN_CREATE	36

/* include/uapi/linux/prctl.h */
#define SE_PR_SET_NAME		15

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
