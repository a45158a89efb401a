// SPDX-License-Identifier: Apache-2.0
/*
 * Lets the addon link libbpf statically from Debian's libbpf.a, so that the
 * prebuilt addon needs no libbpf on the machine that runs it (only glibc,
 * libelf.so.1 and libz.so.1).
 *
 * Debian builds libbpf.a as position-independent *executable* code: it links
 * into a shared object except for one reference, libbpf's default print
 * callback's use of glibc's `stderr`, which PIE code reaches PC-relatively
 * (assuming a copy relocation in an executable) and ld refuses in a shared
 * object. This file gives the addon a hidden `stderr` of its own that the
 * reference binds to, set at load time to the process's real stderr stream.
 * (stdio.h is not included: it declares the global one.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>

struct _IO_FILE;

__attribute__((visibility("hidden"))) struct _IO_FILE *stderr;

__attribute__((constructor)) static void se_stderr_shim_init(void)
{
	struct _IO_FILE **real = dlsym(RTLD_DEFAULT, "stderr");

	if (real)
		stderr = *real;
}
