// SPDX-License-Identifier: Apache-2.0
/*
 * What the running kernel and libbpf offer, asked before an object is
 * chosen or loaded: libbpf's version and the possible CPUs (info()), the boot
 * and wall clocks read back to back (clocks()), whether a program type loads
 * (probeProgType()), which kfuncs the kernel's BTF has (kernelFuncs()).
 */
#include "addon.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

napi_value get_info(napi_env env, napi_callback_info info)
{
	napi_value o, v;
	(void)info;
	napi_create_object(env, &o);
	char ver[32];
	snprintf(ver, sizeof(ver), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	napi_create_string_utf8(env, ver, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, o, "libbpfVersion", v);
	set_num(env, o, "possibleCpus", libbpf_num_possible_cpus());
	return o;
}

/* clocks() → {boottime, realtime} in ns as BigInt, read back to back: the
 * offset that turns bpf_ktime_get_boot_ns() stamps into wall-clock time. */
napi_value get_clocks(napi_env env, napi_callback_info info)
{
	struct timespec b1, rt, b2;
	napi_value o, v;
	(void)info;
	clock_gettime(CLOCK_BOOTTIME, &b1);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &b2);
	uint64_t boot = ((uint64_t)b1.tv_sec * 1000000000ull + b1.tv_nsec + (uint64_t)b2.tv_sec * 1000000000ull +
			 b2.tv_nsec) / 2;
	napi_create_object(env, &o);
	napi_create_bigint_uint64(env, boot, &v);
	napi_set_named_property(env, o, "boottime", v);
	napi_create_bigint_uint64(env, (uint64_t)rt.tv_sec * 1000000000ull + rt.tv_nsec, &v);
	napi_set_named_property(env, o, "realtime", v);
	return o;
}

/* probeProgType(type) → bool: can the kernel load this program type at all? */
napi_value probe_prog_type(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], out;
	uint32_t t;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	napi_get_value_uint32(env, argv[0], &t);
	int r = libbpf_probe_bpf_prog_type((enum bpf_prog_type)t, NULL);
	napi_get_boolean(env, r == 1, &out);
	return out;
}

/* kernelFuncs(names[]) → the subset of names that the running kernel's BTF
 * has as functions (kfuncs such as bpf_rdonly_cast): the load-time probe that
 * picks which shipped object to load. Throws when the kernel has no BTF. */
napi_value kernel_funcs(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], out;
	uint32_t n = 0, k = 0;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	napi_get_array_length(env, argv[0], &n);
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf) {
		throw_sensor_error(env, "ESENSOR_BPF_LOAD", errno, "btf__load_vmlinux_btf", "vmlinux",
				   "cannot read the kernel's BTF");
		return NULL;
	}
	napi_create_array(env, &out);
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		char name[128];
		size_t len = 0;
		napi_get_element(env, argv[0], i, &e);
		if (napi_get_value_string_utf8(env, e, name, sizeof(name), &len) != napi_ok)
			continue;
		if (btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0)
			napi_set_element(env, out, k++, e);
	}
	btf__free(btf);
	return out;
}

