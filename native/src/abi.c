// SPDX-License-Identifier: Apache-2.0
/*
 * The record ABI as this addon compiled it from bpf/abi/sensor_abi.h: sizes,
 * offsets and constants, exported as `abi`. A unit test compares them with
 * src/decode/abi.generated.ts (made from the BPF object's BTF), so the
 * decoder, the BPF programs and this addon cannot drift apart.
 */
#include "addon.h"

#include "../../bpf/abi/sensor_abi.h"

/* The ABI as compiled from sensor_abi.h: sizes, offsets and constants. */
napi_value build_abi(napi_env env)
{
	napi_value abi;
	napi_create_object(env, &abi);
#define SZ(t) set_num(env, abi, "sizeof_" #t, sizeof(struct t))
#define OFF(t, f) set_num(env, abi, "offsetof_" #t "_" #f, offsetof(struct t, f))
#define C(n) set_num(env, abi, #n, n)
	SZ(se_event);
	SZ(se_hdr);
	SZ(se_task);
	SZ(se_str);
	SZ(se_sockaddr);
	SZ(se_utimes);
	SZ(se_filter_cfg);
	SZ(se_prefix_key);
	SZ(se_name_key);
	SZ(se_kill_key);
	SZ(se_exec_ext);
	SZ(se_env_key);
	OFF(se_hdr, type);
	OFF(se_hdr, abi);
	OFF(se_hdr, size);
	OFF(se_hdr, ts_ns);
	OFF(se_hdr, cpu);
	OFF(se_hdr, flags);
	OFF(se_hdr, task);
	OFF(se_task, start_ns);
	OFF(se_task, parent_start_ns);
	OFF(se_task, cgroup_id);
	OFF(se_task, pid);
	OFF(se_task, tid);
	OFF(se_task, ppid);
	OFF(se_task, uid);
	OFF(se_task, gid);
	OFF(se_task, euid);
	OFF(se_task, egid);
	OFF(se_task, suid);
	OFF(se_task, sgid);
	OFF(se_task, fsuid);
	OFF(se_task, fsgid);
	OFF(se_task, loginuid);
	OFF(se_task, sessionid);
	OFF(se_task, mntns);
	OFF(se_task, pidns);
	OFF(se_task, tty);
	OFF(se_task, comm);
	OFF(se_event, hdr);
	OFF(se_event, ret);
	OFF(se_event, args);
	OFF(se_event, str);
	OFF(se_str, off);
	OFF(se_str, len);
	OFF(se_str, flags);
	OFF(se_sockaddr, family);
	OFF(se_sockaddr, port);
	OFF(se_sockaddr, addr);
	OFF(se_utimes, atime_sec);
	OFF(se_utimes, atime_nsec);
	OFF(se_utimes, mtime_sec);
	OFF(se_utimes, mtime_nsec);
	OFF(se_filter_cfg, kinds);
	OFF(se_filter_cfg, kinds_hi);
	OFF(se_filter_cfg, flags);
	OFF(se_filter_cfg, wakeup_bytes);
	OFF(se_prefix_key, prefixlen);
	OFF(se_prefix_key, data);
	OFF(se_kill_key, prefixlen);
	OFF(se_kill_key, data);
	OFF(se_exec_ext, prov_write_ns);
	OFF(se_exec_ext, prov_start_ns);
	OFF(se_exec_ext, prov_pid);
	OFF(se_exec_ext, prov_uid);
	OFF(se_exec_ext, prov_flags);
	OFF(se_exec_ext, prov_comm);
	OFF(se_exec_ext, prov_exe);
	OFF(se_exec_ext, env);
	OFF(se_exec_ext, env_count);
	C(SE_ABI_VERSION);
	C(SE_PATH_MAX);
	C(SE_ARGV_MAX);
	C(SE_RECORD_MAX);
	C(SE_STR_SLOTS);
	C(SE_ARGS);
	C(SE_CNT_MAX);
#undef SZ
#undef OFF
#undef C
	return abi;
}

