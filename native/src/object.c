// SPDX-License-Identifier: Apache-2.0
/*
 * A BPF object as JavaScript sees it (class BpfObject): open, set globals and
 * autoload before load, load (signals blocked: the verifier gives up on a
 * pending one), attach every program and detach them (from several threads:
 * a tracepoint detach waits for RCU), describe the programs, close. Objects
 * still open when the environment goes away (process exit) are closed by a
 * cleanup hook, so no program stays attached.
 */
#include "addon.h"

#include <bpf/btf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Destroy every link. Detaching a syscall tracepoint's perf event waits for
 * RCU grace periods (tracepoint_synchronize_unregister, under the kernel's
 * event_mutex): 5.1 s for the sensor's 52 programs one after another here.
 * From 16 threads the parts outside that mutex overlap: 2.5 s (more threads
 * gain nothing).
 */
#define DETACH_THREADS 16

struct detach_job {
	struct bpf_link **links;
	int n, start, step;
};

static void *detach_worker(void *arg)
{
	struct detach_job *j = arg;

	for (int i = j->start; i < j->n; i += j->step)
		bpf_link__destroy(j->links[i]);
	return NULL;
}

static void destroy_links(struct sensor_obj *so)
{
	int n = so->nlinks, nt = n < DETACH_THREADS ? n : DETACH_THREADS, started = 0;
	pthread_t tid[DETACH_THREADS];
	struct detach_job jobs[DETACH_THREADS];

	for (int t = 0; t < nt; t++) {
		jobs[t] = (struct detach_job){ .links = so->links, .n = n, .start = t, .step = nt };
		if (pthread_create(&tid[t], NULL, detach_worker, &jobs[t]) != 0)
			break;
		started++;
	}
	/* Slices whose thread could not start are destroyed here. */
	for (int t = started; t < nt; t++)
		detach_worker(&jobs[t]);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	for (int i = 0; i < n; i++)
		so->links[i] = NULL;
	so->nlinks = 0;
}

static void close_obj(napi_env env, struct sensor_obj *so)
{
	if (so->closed)
		return;
	so->closed = true;
	stop_reader(env, so);
	destroy_links(so);
	if (so->obj)
		bpf_object__close(so->obj);
	so->obj = NULL;
}

static void finalize_obj(napi_env env, void *data, void *hint)
{
	(void)hint;
	close_obj(env, data);
	/* Reader structs are leaked on purpose (see stop_reader); the object is not. */
	free(data);
}

/* All live objects, closed at environment teardown (process exit). */
static struct sensor_obj *live_objs[MAX_OBJS];

void cleanup_hook(void *arg)
{
	(void)arg;
	for (int i = 0; i < MAX_OBJS; i++)
		if (live_objs[i]) {
			close_obj(NULL, live_objs[i]);
			live_objs[i] = NULL;
		}
}

struct sensor_obj *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	napi_value self;
	void *p = NULL;

	if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &p) != napi_ok ||
	    !p) {
		throw_sensor_error(env, "ESENSOR_NATIVE", EINVAL, NULL, NULL, "not a BpfObject");
		return NULL;
	}
	struct sensor_obj *so = p;
	if (so->closed) {
		throw_sensor_error(env, "ESENSOR_BPF_CLOSED", EBADF, NULL, NULL, "BPF object is closed");
		return NULL;
	}
	return so;
}

/* `this` of a method that lists what the object holds, and the new array to
 * list it in: NULL after throwing. */
struct sensor_obj *unwrap_list(napi_env env, napi_callback_info info, napi_value *arr)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);

	if (so && napi_create_array(env, arr) != napi_ok) {
		throw_sensor_error(env, "ESENSOR_NATIVE", 0, "napi_create_array", NULL, "N-API call failed");
		return NULL;
	}
	return so;
}

/* new BpfObject(path) — opens (does not load). */
napi_value obj_ctor(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], self;
	char path[4096];
	struct sensor_obj *so;
	struct bpf_object *obj;

	CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc < 1 || !get_string(env, argv[0], path, sizeof(path), "object path"))
		return NULL;
	last_msg[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		int err = errno;
		throw_sensor_error(env, "ESENSOR_BPF_OPEN", err, "bpf_object__open_file", path, "cannot open BPF object %s",
				   path);
		return NULL;
	}
	so = calloc(1, sizeof(*so));
	if (!so) {
		bpf_object__close(obj);
		throw_sensor_error(env, "ESENSOR_NATIVE", ENOMEM, "calloc", path, "out of memory");
		return NULL;
	}
	so->obj = obj;
	for (int i = 0; i < MAX_OBJS; i++)
		if (!live_objs[i]) {
			live_objs[i] = so;
			break;
		}
	CHECK_NAPI(napi_wrap(env, self, so, finalize_obj, NULL, NULL));
	return self;
}

/* setGlobal(name, value:number|bigint): a `const volatile` in .rodata, before load. */
napi_value obj_set_global(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char name[128];
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;
	const struct btf *btf;
	size_t sz;
	void *data;

	if (!so)
		return NULL;
	if (argc < 2 || !get_string(env, argv[0], name, sizeof(name), "global name"))
		return NULL;
	if (so->loaded) {
		throw_sensor_error(env, "ESENSOR_BPF_STATE", EBUSY, NULL, name, "globals must be set before load");
		return NULL;
	}
	btf = bpf_object__btf(so->obj);
	bpf_object__for_each_map(map, so->obj)
	{
		const char *mname = bpf_map__name(map);
		if (!strstr(mname, ".rodata") && !strstr(mname, ".data") && !strstr(mname, ".bss"))
			continue;
		int sec_id = btf__find_by_name_kind(btf, strchr(mname, '.') ? strchr(mname, '.') : mname, BTF_KIND_DATASEC);
		if (sec_id < 0)
			continue;
		const struct btf_type *sec = btf__type_by_id(btf, sec_id);
		const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
		for (int i = 0; i < btf_vlen(sec); i++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);
			if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
				continue;
			const void *init = bpf_map__initial_value(map, &sz);
			if (!init || vs->offset + vs->size > sz) {
				throw_sensor_error(env, "ESENSOR_BPF_STATE", EINVAL, "bpf_map__initial_value", name,
						   "no initial value for %s", name);
				return NULL;
			}
			data = malloc(sz);
			if (!data) {
				throw_sensor_error(env, "ESENSOR_NATIVE", ENOMEM, NULL, name, "out of memory");
				return NULL;
			}
			memcpy(data, init, sz);
			uint64_t v64 = 0;
			bool lossless = true;
			napi_valuetype t;
			napi_typeof(env, argv[1], &t);
			if (t == napi_bigint)
				napi_get_value_bigint_uint64(env, argv[1], &v64, &lossless);
			else {
				int64_t i64 = 0;
				if (napi_get_value_int64(env, argv[1], &i64) != napi_ok) {
					free(data);
					throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, name,
							   "the value for %s is not a number or bigint", name);
					return NULL;
				}
				v64 = (uint64_t)i64;
			}
			if (vs->size == 1)
				*(uint8_t *)((char *)data + vs->offset) = (uint8_t)v64;
			else if (vs->size == 2)
				*(uint16_t *)((char *)data + vs->offset) = (uint16_t)v64;
			else if (vs->size == 4)
				*(uint32_t *)((char *)data + vs->offset) = (uint32_t)v64;
			else if (vs->size == 8)
				*(uint64_t *)((char *)data + vs->offset) = v64;
			else {
				free(data);
				throw_sensor_error(env, "ESENSOR_BPF_STATE", EINVAL, NULL, name, "%s is not a scalar", name);
				return NULL;
			}
			int err = bpf_map__set_initial_value(map, data, sz);
			free(data);
			if (err)
				throw_sensor_error(env, "ESENSOR_BPF_STATE", -err, "bpf_map__set_initial_value", name,
						   "cannot set %s", name);
			return NULL;
		}
	}
	throw_sensor_error(env, "ESENSOR_BPF_STATE", ENOENT, NULL, name, "no global named %s", name);
	return NULL;
}

/* setAutoload(progName, bool) — before load. */
napi_value obj_set_autoload(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char name[128];
	bool on;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_program *p;

	if (!so)
		return NULL;
	if (!get_string(env, argv[0], name, sizeof(name), "program name"))
		return NULL;
	napi_get_value_bool(env, argv[1], &on);
	p = bpf_object__find_program_by_name(so->obj, name);
	if (!p) {
		throw_sensor_error(env, "ESENSOR_BPF_PROG", ENOENT, "bpf_object__find_program_by_name", name,
				   "no program named %s", name);
		return NULL;
	}
	bpf_program__set_autoload(p, on);
	return NULL;
}

napi_value obj_load(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	int err;

	if (!so)
		return NULL;
	last_msg[0] = 0;
	/*
	 * The verifier gives up with EAGAIN when a signal is pending for the
	 * loading thread, and libbpf retries a few times only: a steady stream of
	 * signals (a profiler's SIGPROF, SIGCHLD, SIGHUP for a rule reload) could
	 * make the load fail. Block them on this thread while loading: the kernel
	 * hands process-wide signals to another thread meanwhile, and the rest
	 * are delivered when the mask is restored.
	 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = bpf_object__load(so->obj);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		/* Name the program the verifier refused, when libbpf said which. */
		throw_sensor_error(env, "ESENSOR_BPF_LOAD", -err, "bpf_object__load", bpf_object__name(so->obj),
				   "cannot load BPF object");
		return NULL;
	}
	so->loaded = true;
	return NULL;
}

/* Appends {name, section} of program p to arr; the caller adds the rest. */
static napi_value push_program(napi_env env, napi_value arr, uint32_t *n, const struct bpf_program *p)
{
	napi_value item = push_object(env, arr, n);

	set_str(env, item, "name", bpf_program__name(p));
	set_str(env, item, "section", bpf_program__section_name(p));
	return item;
}

/* attach() → [{name, section, attached, error?, errno?}] for every loaded program. */
napi_value obj_attach(napi_env env, napi_callback_info info)
{
	napi_value arr;
	struct sensor_obj *so = unwrap_list(env, info, &arr);
	struct bpf_program *p;
	uint32_t i = 0;

	if (!so)
		return NULL;
	bpf_object__for_each_program(p, so->obj)
	{
		if (!bpf_program__autoload(p))
			continue;
		const char *name = bpf_program__name(p);
		napi_value item = push_program(env, arr, &i, p);
		last_msg[0] = 0;
		struct bpf_link *link = so->nlinks < MAX_LINKS ? bpf_program__attach(p) : NULL;
		int err = link ? 0 : (so->nlinks < MAX_LINKS ? errno : ENOSPC);
		if (link) {
			so->links[so->nlinks] = link;
			snprintf(so->link_names[so->nlinks], 64, "%s", name);
			so->nlinks++;
		}
		set_bool(env, item, "attached", link != NULL);
		if (!link) {
			char msg[1200];
			snprintf(msg, sizeof(msg), "%s (errno %d)%s%s", strerror(err), err, last_msg[0] ? "; libbpf: " : "",
				 last_msg);
			set_str(env, item, "error", msg);
			set_i32(env, item, "errno", err);
		}
	}
	return arr;
}

/* detach(): destroy every link (programs stay loaded until close). */
napi_value obj_detach(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	napi_value n;

	if (!so)
		return NULL;
	int count = so->nlinks;
	destroy_links(so);
	napi_create_int32(env, count, &n);
	return n;
}

/* programs() → [{name, section, autoload, fd}] */
napi_value obj_programs(napi_env env, napi_callback_info info)
{
	napi_value arr;
	struct sensor_obj *so = unwrap_list(env, info, &arr);
	struct bpf_program *p;
	uint32_t i = 0;

	if (!so)
		return NULL;
	bpf_object__for_each_program(p, so->obj)
	{
		napi_value item = push_program(env, arr, &i, p);
		set_bool(env, item, "autoload", bpf_program__autoload(p));
		set_i32(env, item, "fd", so->loaded ? bpf_program__fd(p) : -1);
	}
	return arr;
}

napi_value obj_close(napi_env env, napi_callback_info info)
{
	napi_value self;
	void *p = NULL;
	size_t argc = 0;

	napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
	if (napi_unwrap(env, self, &p) == napi_ok && p) {
		close_obj(env, p);
		for (int i = 0; i < MAX_OBJS; i++)
			if (live_objs[i] == p)
				live_objs[i] = NULL;
	}
	return NULL;
}

