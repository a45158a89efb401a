// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Puts every ABI type into the object's BTF (types only used in casts, and
 * enums, would otherwise not be emitted), so that scripts/gen-abi.mjs can
 * generate the TypeScript layout from the compiled object. Costs a few
 * hundred bytes of .rodata; no program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sensor_abi.h"

struct se_abi_anchor {
	struct se_event event;
	struct se_sockaddr sockaddr;
	struct se_utimes utimes;
	struct se_filter_cfg filter_cfg;
	struct se_prefix_key prefix_key;
	struct se_name_key name_key;
	struct se_kill_key kill_key;
	struct se_exec_ext exec_ext;
	enum se_prov_flags prov_flags;
	struct se_env_key env_key;
	enum se_fd_kind fd_kind;
	enum se_kill_kind kill_kind;
	enum se_abi_consts consts;
	enum se_event_type type;
	enum se_syscall syscall;
	enum se_record_flags record_flags;
	enum se_str_flags str_flags;
	enum se_counter counter;
	enum se_filter_flags filter_flags;
	enum se_interest interest;
	enum se_arg_slot arg_slot;
	enum se_str_slot str_slot;
};

const volatile struct se_abi_anchor se_abi_anchor __attribute__((weak)) = {};
