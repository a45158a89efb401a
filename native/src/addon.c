// SPDX-License-Identifier: Apache-2.0
/*
 * ebpf-sensor native addon: the thin layer over libbpf that JavaScript cannot
 * do itself. It opens/loads/attaches a BPF object, reads and writes maps,
 * drains ring buffers on a native thread into JS-owned chunks (one JS call per
 * chunk, never per record), keeps counters, and detaches on close and at exit.
 * No decoding, no policy: options arrive validated from TypeScript as
 * primitives.
 * One exception to "only what libbpf needs": the journal's CRC-32 (crc32.c),
 * because node's zlib.crc32 costs several µs per record (docs/journal.md).
 *
 * This file is the module: the class BpfObject (object.c, maps.c, ring.c)
 * and the free functions (errors.c, probes.c, crc32.c) with the compiled ABI
 * (abi.c); addon.h says which unit does what.
 */
#include "addon.h"

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor methods[] = {
		{"setGlobal", NULL, obj_set_global, NULL, NULL, NULL, napi_default, NULL},
		{"setMapSize", NULL, obj_set_map_size, NULL, NULL, NULL, napi_default, NULL},
		{"setAutoload", NULL, obj_set_autoload, NULL, NULL, NULL, napi_default, NULL},
		{"load", NULL, obj_load, NULL, NULL, NULL, napi_default, NULL},
		{"attach", NULL, obj_attach, NULL, NULL, NULL, napi_default, NULL},
		{"detach", NULL, obj_detach, NULL, NULL, NULL, napi_default, NULL},
		{"mapUpdate", NULL, obj_map_update, NULL, NULL, NULL, napi_default, NULL},
		{"mapLookup", NULL, obj_map_lookup, NULL, NULL, NULL, napi_default, NULL},
		{"mapDelete", NULL, obj_map_delete, NULL, NULL, NULL, napi_default, NULL},
		{"mapKeys", NULL, obj_map_keys, NULL, NULL, NULL, napi_default, NULL},
		{"maps", NULL, obj_maps, NULL, NULL, NULL, napi_default, NULL},
		{"programs", NULL, obj_programs, NULL, NULL, NULL, napi_default, NULL},
		{"startRing", NULL, obj_start_ring, NULL, NULL, NULL, napi_default, NULL},
		{"stopRing", NULL, obj_stop_ring, NULL, NULL, NULL, napi_default, NULL},
		{"refRing", NULL, obj_ring_ref, NULL, NULL, NULL, napi_default, NULL},
		{"ringStats", NULL, obj_ring_stats, NULL, NULL, NULL, napi_default, NULL},
		{"close", NULL, obj_close, NULL, NULL, NULL, napi_default, NULL},
	};
	napi_value cls, fn;

	libbpf_set_print(on_libbpf_print);
	napi_define_class(env, "BpfObject", NAPI_AUTO_LENGTH, obj_ctor, NULL, sizeof(methods) / sizeof(methods[0]),
			  methods, &cls);
	napi_set_named_property(env, exports, "BpfObject", cls);
	napi_create_function(env, "setErrorClass", NAPI_AUTO_LENGTH, set_error_class, NULL, &fn);
	napi_set_named_property(env, exports, "setErrorClass", fn);
	napi_create_function(env, "info", NAPI_AUTO_LENGTH, get_info, NULL, &fn);
	napi_set_named_property(env, exports, "info", fn);
	napi_create_function(env, "clocks", NAPI_AUTO_LENGTH, get_clocks, NULL, &fn);
	napi_set_named_property(env, exports, "clocks", fn);
	napi_create_function(env, "probeProgType", NAPI_AUTO_LENGTH, probe_prog_type, NULL, &fn);
	napi_set_named_property(env, exports, "probeProgType", fn);
	napi_create_function(env, "kernelFuncs", NAPI_AUTO_LENGTH, kernel_funcs, NULL, &fn);
	napi_set_named_property(env, exports, "kernelFuncs", fn);
	napi_set_named_property(env, exports, "abi", build_abi(env));
	crc32_select();
	napi_create_function(env, "crc32", NAPI_AUTO_LENGTH, crc32_best, NULL, &fn);
	napi_set_named_property(env, exports, "crc32", fn);
	napi_create_function(env, "crc32Portable", NAPI_AUTO_LENGTH, crc32_portable, NULL, &fn);
	napi_set_named_property(env, exports, "crc32Portable", fn);
	set_str(env, exports, "crc32Impl", crc32_impl());
	napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
