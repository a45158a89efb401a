// SPDX-License-Identifier: Apache-2.0
/*
 * The maps of a BPF object, named from JavaScript: size one before load;
 * update, look up (per-CPU values: one slot per possible CPU), delete and list
 * the keys of one after; describe them all (maps()). Keys and values are
 * Buffers laid out by the caller from the exported ABI.
 */
#include "addon.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

struct bpf_map *find_map(napi_env env, struct sensor_obj *so, napi_value v, char *name, size_t cap)
{
	struct bpf_map *map;

	if (!get_string(env, v, name, cap, "map name"))
		return NULL;
	map = bpf_object__find_map_by_name(so->obj, name);
	if (!map)
		throw_sensor_error(env, "ESENSOR_BPF_MAP", ENOENT, "bpf_object__find_map_by_name", name, "no map named %s",
				   name);
	return map;
}

/* The map that a map method names in its first argument (copied into name),
 * `this` checked: NULL after throwing. */
static struct bpf_map *named_map(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, char *name,
				 size_t cap)
{
	struct sensor_obj *so = unwrap(env, info, argc, argv);

	return so ? find_map(env, so, argv[0], name, cap) : NULL;
}

/* setMapSize(name, maxEntries) — before load. */
napi_value obj_set_map_size(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char name[128];
	uint32_t n;
	struct bpf_map *map = named_map(env, info, &argc, argv, name, sizeof(name));

	if (!map)
		return NULL;
	napi_get_value_uint32(env, argv[1], &n);
	int err = bpf_map__set_max_entries(map, n);
	if (err)
		throw_sensor_error(env, "ESENSOR_BPF_MAP", -err, "bpf_map__set_max_entries", name, "cannot size map %s",
				   name);
	return NULL;
}

/* mapUpdate(name, key, value, flags=0) */
napi_value obj_map_update(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	char name[128];
	void *k, *val;
	size_t kl, vl;
	uint32_t flags = 0;
	struct bpf_map *map = named_map(env, info, &argc, argv, name, sizeof(name));

	if (!map)
		return NULL;
	if (!get_buffer(env, argv[1], &k, &kl, "key") || !get_buffer(env, argv[2], &val, &vl, "value"))
		return NULL;
	if (argc > 3)
		napi_get_value_uint32(env, argv[3], &flags);
	int err = bpf_map__update_elem(map, k, kl, val, vl, flags);
	if (err)
		throw_sensor_error(env, "ESENSOR_BPF_MAP", -err, "bpf_map__update_elem", name, "cannot update map %s",
				   name);
	return NULL;
}

/* mapLookup(name, key) → Buffer | null (per-CPU maps: value size × possible CPUs) */
napi_value obj_map_lookup(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	char name[128];
	void *k, *buf;
	size_t kl;
	struct bpf_map *map = named_map(env, info, &argc, argv, name, sizeof(name));

	if (!map)
		return NULL;
	if (!get_buffer(env, argv[1], &k, &kl, "key"))
		return NULL;
	enum bpf_map_type t = bpf_map__type(map);
	size_t vs = bpf_map__value_size(map);
	if (t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vs = ((vs + 7) & ~(size_t)7) * libbpf_num_possible_cpus();
	CHECK_NAPI(napi_create_buffer(env, vs, &buf, &out));
	int err = bpf_map__lookup_elem(map, k, kl, buf, vs, 0);
	if (err == -ENOENT) {
		napi_get_null(env, &out);
		return out;
	}
	if (err) {
		throw_sensor_error(env, "ESENSOR_BPF_MAP", -err, "bpf_map__lookup_elem", name, "cannot read map %s", name);
		return NULL;
	}
	return out;
}

/* mapDelete(name, key) → bool (false when absent) */
napi_value obj_map_delete(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	char name[128];
	void *k;
	size_t kl;
	struct bpf_map *map = named_map(env, info, &argc, argv, name, sizeof(name));

	if (!map)
		return NULL;
	if (!get_buffer(env, argv[1], &k, &kl, "key"))
		return NULL;
	int err = bpf_map__delete_elem(map, k, kl, 0);
	if (err && err != -ENOENT) {
		throw_sensor_error(env, "ESENSOR_BPF_MAP", -err, "bpf_map__delete_elem", name, "cannot delete from map %s",
				   name);
		return NULL;
	}
	napi_get_boolean(env, err == 0, &out);
	return out;
}

/* mapKeys(name) → Buffer[] */
napi_value obj_map_keys(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], arr, kb;
	char name[128];
	struct bpf_map *map = named_map(env, info, &argc, argv, name, sizeof(name));
	uint8_t cur[512], next[512];
	void *dst;
	uint32_t i = 0;

	if (!map)
		return NULL;
	size_t ks = bpf_map__key_size(map);
	if (ks > sizeof(cur)) {
		throw_sensor_error(env, "ESENSOR_BPF_MAP", E2BIG, NULL, name, "key too large");
		return NULL;
	}
	CHECK_NAPI(napi_create_array(env, &arr));
	int err = bpf_map__get_next_key(map, NULL, next, ks);
	while (!err && i < 1000000) {
		napi_create_buffer_copy(env, ks, next, &dst, &kb);
		napi_set_element(env, arr, i++, kb);
		memcpy(cur, next, ks);
		err = bpf_map__get_next_key(map, cur, next, ks);
	}
	return arr;
}

/* maps() → [{name, type, keySize, valueSize, maxEntries}] */
napi_value obj_maps(napi_env env, napi_callback_info info)
{
	napi_value arr;
	struct sensor_obj *so = unwrap_list(env, info, &arr);
	struct bpf_map *map;
	uint32_t i = 0;

	if (!so)
		return NULL;
	bpf_object__for_each_map(map, so->obj)
	{
		napi_value item = push_object(env, arr, &i);
		set_str(env, item, "name", bpf_map__name(map));
		set_u32(env, item, "type", bpf_map__type(map));
		set_u32(env, item, "keySize", bpf_map__key_size(map));
		set_u32(env, item, "valueSize", bpf_map__value_size(map));
		set_u32(env, item, "maxEntries", bpf_map__max_entries(map));
	}
	return arr;
}
