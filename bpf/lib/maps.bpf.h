/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Maps shared by every program (all in one object, built from sensor.bpf.c).
 * The definitions are weak so that the program files could again be linked
 * from separate objects with `bpftool gen object`, where identical weak
 * definitions merge into one map each.
 */
#ifndef SE_MAPS_BPF_H
#define SE_MAPS_BPF_H

#include "vmlinux.h"
#include "features.h"
#include <bpf/bpf_helpers.h>
#include "../abi/sensor_abi.h"
#include "uapi.bpf.h"

#ifndef __weak
#define __weak __attribute__((weak))
#endif

/* Size of the per-CPU path walk buffer: the walk writes leaf-first from
 * SE_PATH_MAX downwards; offsets are masked with SE_PATH_BUF_MASK. */
enum se_internal_consts {
	SE_PATH_BUF_MASK = 8191,
	SE_PATH_BUF_SIZE = 8192 + 256,
	SE_PATH_DEPTH_MAX = 2048,
	SE_REC_MASK = SE_SCRATCH_SIZE - 1,
	SE_REC_BUF_SIZE = SE_RECORD_MAX + 8,
	SE_DEFAULT_WAKEUP_BYTES = 1 << 20,
};

/* The one ring buffer; user space sizes it before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} events SEC(".maps") __weak;

/* enum se_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

/* Record under construction: records are built here and copied to the ring
 * with bpf_ringbuf_output, because bpf_ringbuf_reserve needs a constant size. */
struct se_rec_buf {
	__u8 b[SE_REC_BUF_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_rec_buf);
} rec_scratch SEC(".maps") __weak;

/* Path walk state lives in the map value, not on the stack: the verifier
 * tracks stack scalars precisely, so a bpf_loop callback whose stack state
 * changes every iteration never converges ("sequence of jumps is too
 * complex", seen on 6.18); map value contents are unknown scalars to it. */
struct se_walk {
	__u64 dentry;
	__u64 vfsmnt;
	__u64 root_dentry;
	__u64 root_mnt;
	__u32 off;      /* next write position (exclusive end of what is written) */
	__u32 flags;
	__u32 steps;
	__u32 _pad;
};

/* Component scan of a caller's path (filter.bpf.h), same reason. */
struct se_scan {
	__u32 comp;     /* start of the current component */
	__u32 leaf;     /* start of the last complete component */
	__u32 end;      /* string end (exclusive) */
	__u32 odd;      /* an empty, "." or ".." component was seen */
};

struct se_path_buf {
	struct se_walk w;
	struct se_scan s;
	__u8 b[SE_PATH_BUF_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_path_buf);
} path_scratch SEC(".maps") __weak;

/* Filter configuration written by user space (from the compiled rules). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_filter_cfg);
} filter_cfg SEC(".maps") __weak;

/* Processes whose activity is not reported (the sensor itself, its sinks). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} ignore_tgid SEC(".maps") __weak;

/* cgroup v2 ids whose processes are never reported (SE_FL_IGNORE_CGROUPS). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} ignore_cgroup SEC(".maps") __weak;

/* Path prefixes of interest for file events (longest-prefix match). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct se_prefix_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} path_prefix SEC(".maps") __weak;

/* File names (leaf) of interest for read-only opens. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct se_name_key);
	__type(value, __u8);
} name_of_interest SEC(".maps") __weak;

/* In-kernel kill rules: exact paths (prefixlen ignored, set to the full key)
 * and prefixes (LPM). Value: the rule's index (user space maps it to the id). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct se_kill_key);
	__type(value, __u32);
} kill_exact SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct se_kill_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} kill_prefix SEC(".maps") __weak;

/* Lengths (index) for which some name of interest exists: a cheap first test
 * before hashing a file name. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} name_len_of_interest SEC(".maps") __weak;

/* Scratch keys (too big for the stack next to everything else). */
struct se_key_scratch {
	struct se_prefix_key prefix;
	struct se_name_key name;
	struct se_kill_key kill;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_key_scratch);
} key_scratch SEC(".maps") __weak;

static __always_inline void se_count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		*v += 1;
}

#endif /* SE_MAPS_BPF_H */
