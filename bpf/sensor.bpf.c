// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sensor's BPF object: every hook family of programs/ in one translation
 * unit. (They were once linked from separate objects with `bpftool gen
 * object`, but libbpf 1.1's static linker cannot link kfunc externs such as
 * bpf_rdonly_cast, which makes kernel pointers read as data plain-loadable:
 * one helper call less per field on the hottest paths.)
 */
#include "programs/process.bpf.c"
#include "programs/open.bpf.c"
#include "programs/file_ops.bpf.c"
#include "programs/attrs.bpf.c"
#include "programs/priv.bpf.c"
#include "programs/net.bpf.c"
#include "programs/proc_ctl.bpf.c"
#include "programs/io_uring.bpf.c"
#include "abi/abi_anchor.bpf.c"

char LICENSE[] SEC("license") = "GPL";
