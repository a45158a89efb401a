// SPDX-License-Identifier: Apache-2.0
/*
 * ebpf-sensor native addon: the thin layer over libbpf that JavaScript cannot
 * do itself. It opens/loads/attaches a BPF object, reads and writes maps,
 * drains ring buffers on a native thread into JS-owned chunks (one JS call per
 * chunk, never per record), keeps counters, and detaches on close and at exit.
 * No decoding, no policy: options arrive validated from TypeScript as
 * primitives.
 *
 * Chunk protocol: JS gives N Buffers at ring start. A chunk is owned by the
 * reader thread while free/filling, handed to JS through a threadsafe
 * function, and returns to the reader when the JS callback returns (JS
 * decodes synchronously and keeps no reference). Frames in a chunk are:
 * u32 length (LE) | record bytes | zero padding to 8.
 *
 * libbpf (1.1) marks a record consumed before the sample callback runs, so a
 * callback that cannot place a record keeps it in `spill` before stopping
 * the batch; it is placed first on the next round.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../../bpf/abi/sensor_abi.h"

#define MAX_LINKS 512
#define MAX_RINGS 8
#define MAX_CHUNKS 256
#define SPILL_MAX 65536

/* ---------- libbpf message capture (for error texts) ---------- */

/* The most recent libbpf warnings (they name the failing program and carry
 * the verifier's last lines); they travel in errors rather than to stderr. */
static __thread char last_msg[2048];

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	if (getenv("EBPF_SENSOR_LIBBPF_LOG")) {
		va_list copy;
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	size_t have = strlen(last_msg);
	if (have + n + 3 >= sizeof(last_msg)) {
		/* Keep the tail: the reason is at the end of a verifier log. */
		const char *tail = line + (n > (int)sizeof(last_msg) / 2 ? n - sizeof(last_msg) / 2 : 0);
		snprintf(last_msg, sizeof(last_msg), "%s", tail);
	} else {
		snprintf(last_msg + have, sizeof(last_msg) - have, "%s%s", have ? " | " : "", line);
	}
	return 0;
}

/* ---------- error helpers ---------- */

static napi_ref error_class_ref = NULL;

static void throw_sensor_error(napi_env env, const char *code, int err, const char *call, const char *object,
			       const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	napi_value ctor = NULL, argv[2], props, v, instance;
	bool pending = false;

	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s (errno %d)", strerror(err), err);
	}
	if (last_msg[0] && err) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, "; libbpf: %s", last_msg);
	}
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[0]);
	napi_create_object(env, &props);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, props, "code", v);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, props, "errno", v);
	if (call) {
		napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "call", v);
	}
	if (object) {
		napi_create_string_utf8(env, object, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "object", v);
	}
	if (last_msg[0]) {
		napi_create_string_utf8(env, last_msg, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, props, "libbpfMessage", v);
	}
	argv[1] = props;
	if (error_class_ref)
		napi_get_reference_value(env, error_class_ref, &ctor);
	if (ctor && napi_new_instance(env, ctor, 2, argv, &instance) == napi_ok) {
		napi_throw(env, instance);
		return;
	}
	napi_value errv, codev;
	napi_create_error(env, NULL, argv[0], &errv);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &codev);
	napi_set_named_property(env, errv, "code", codev);
	napi_throw(env, errv);
}

#define CHECK_NAPI(call)                                                                     \
	do {                                                                                 \
		if ((call) != napi_ok) {                                                     \
			throw_sensor_error(env, "ESENSOR_NATIVE", 0, #call, NULL, "N-API call failed"); \
			return NULL;                                                         \
		}                                                                            \
	} while (0)

static bool get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, what, "%s must be a string", what);
		return false;
	}
	if (len >= cap - 1) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", ENAMETOOLONG, NULL, what, "%s too long", what);
		return false;
	}
	return true;
}

/* ---------- object state ---------- */

struct chunk {
	uint8_t *data;
	size_t cap;
	size_t used;
	uint32_t records;
	napi_ref ref;
};

struct reader;

struct sensor_obj {
	struct bpf_object *obj;
	bool loaded;
	struct bpf_link *links[MAX_LINKS];
	char link_names[MAX_LINKS][64];
	int nlinks;
	struct reader *reader;
	bool closed;
};

struct reader {
	struct sensor_obj *owner;
	struct ring_buffer *rb;
	int wake_fd;
	int poll_ms;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	napi_threadsafe_function tsfn;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int free_list[MAX_CHUNKS];
	int nfree;
	struct chunk chunks[MAX_CHUNKS];
	int nchunks;
	int cur; /* chunk being filled, -1 none */

	uint8_t spill[SPILL_MAX];
	size_t spill_len;
	bool spill_full;

	/* counters (reader thread writes, JS reads) */
	atomic_uint_fast64_t records;
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t batches;
	atomic_uint_fast64_t stalls;       /* no free chunk: reader paused, kernel ring fills */
	atomic_uint_fast64_t wakeups;
	atomic_uint_fast64_t oversize;     /* record larger than a chunk (dropped, counted) */
};

struct batch_msg {
	int chunk;
	size_t used;
	uint32_t records;
};

static int take_free_chunk(struct reader *r, bool wait)
{
	int idx = -1;

	pthread_mutex_lock(&r->mu);
	while (r->nfree == 0 && wait && !atomic_load(&r->stop)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	if (r->nfree > 0)
		idx = r->free_list[--r->nfree];
	pthread_mutex_unlock(&r->mu);
	return idx;
}

static void give_back_chunk(struct reader *r, int idx)
{
	pthread_mutex_lock(&r->mu);
	r->chunks[idx].used = 0;
	r->chunks[idx].records = 0;
	r->free_list[r->nfree++] = idx;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void flush_current(struct reader *r)
{
	struct chunk *c;
	struct batch_msg *m;

	if (r->cur < 0)
		return;
	c = &r->chunks[r->cur];
	if (c->used == 0)
		return;
	m = malloc(sizeof(*m));
	if (!m)
		return; /* keep filling the same chunk; retried next flush */
	m->chunk = r->cur;
	m->used = c->used;
	m->records = c->records;
	r->cur = -1;
	atomic_fetch_add(&r->batches, 1);
	if (napi_call_threadsafe_function(r->tsfn, m, napi_tsfn_nonblocking) != napi_ok) {
		/* Closing: the chunk is simply returned. */
		give_back_chunk(r, m->chunk);
		free(m);
	}
}

static bool place_frame(struct reader *r, const void *data, size_t len, bool wait)
{
	size_t need = (4 + len + 7) & ~(size_t)7;
	struct chunk *c;

	if (r->cur >= 0 && r->chunks[r->cur].used + need > r->chunks[r->cur].cap) {
		flush_current(r);
		/*
		 * A flush that could not allocate its message keeps the chunk: the
		 * frame does not fit in it, and writing it would run past its end.
		 * Report no room; the caller keeps the record and retries.
		 */
		if (r->cur >= 0 && need <= r->chunks[r->cur].cap)
			return false;
	}
	if (r->cur < 0) {
		r->cur = take_free_chunk(r, wait);
		if (r->cur < 0)
			return false;
	}
	c = &r->chunks[r->cur];
	if (need > c->cap) {
		atomic_fetch_add(&r->oversize, 1);
		return true;
	}
	uint32_t l32 = (uint32_t)len;
	memcpy(c->data + c->used, &l32, 4);
	memcpy(c->data + c->used + 4, data, len);
	memset(c->data + c->used + 4 + len, 0, need - 4 - len);
	c->used += need;
	c->records++;
	atomic_fetch_add(&r->records, 1);
	atomic_fetch_add(&r->bytes, len);
	return true;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct reader *r = ctx;

	if (place_frame(r, data, len, false))
		return 0;
	/* No free chunk: keep this (already consumed) record and stop the batch. */
	if (len <= SPILL_MAX) {
		memcpy(r->spill, data, len);
		r->spill_len = len;
		r->spill_full = true;
	} else {
		atomic_fetch_add(&r->oversize, 1);
	}
	atomic_fetch_add(&r->stalls, 1);
	return -EAGAIN;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int epfd = ring_buffer__epoll_fd(r->rb);
	struct epoll_event evs[MAX_RINGS + 1];

	while (!atomic_load(&r->stop)) {
		if (r->spill_full) {
			if (!place_frame(r, r->spill, r->spill_len, true))
				continue; /* stop requested or still no chunk */
			r->spill_full = false;
		}
		int n = epoll_wait(epfd, evs, MAX_RINGS + 1, r->poll_ms);
		if (n > 0)
			atomic_fetch_add(&r->wakeups, 1);
		if (atomic_load(&r->stop))
			break;
		ring_buffer__consume(r->rb);
		flush_current(r);
	}
	return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct reader *r = context;
	struct batch_msg *m = data;
	napi_value argv[3], global, result;

	if (env && js_cb && !r->owner->closed) {
		napi_create_int32(env, m->chunk, &argv[0]);
		napi_create_int64(env, (int64_t)m->used, &argv[1]);
		napi_create_uint32(env, m->records, &argv[2]);
		napi_get_global(env, &global);
		napi_call_function(env, global, js_cb, 3, argv, &result);
	}
	give_back_chunk(r, m->chunk);
	free(m);
}

static void stop_reader(napi_env env, struct sensor_obj *so)
{
	struct reader *r = so->reader;

	if (!r)
		return;
	atomic_store(&r->stop, true);
	if (r->wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(r->wake_fd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->thread_started)
		pthread_join(r->thread, NULL);
	if (r->tsfn)
		napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
	if (r->rb)
		ring_buffer__free(r->rb);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	for (int i = 0; i < r->nchunks; i++)
		if (env && r->chunks[i].ref)
			napi_delete_reference(env, r->chunks[i].ref);
	/* The tsfn may still hold queued messages; they are freed by call_js with
	 * env == NULL after abort. The reader struct outlives them: leak it
	 * deliberately (one per ring start, a few KiB). */
	so->reader = NULL;
}

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
static struct sensor_obj *live_objs[64];

static void cleanup_hook(void *arg)
{
	(void)arg;
	for (int i = 0; i < 64; i++)
		if (live_objs[i]) {
			close_obj(NULL, live_objs[i]);
			live_objs[i] = NULL;
		}
}

static struct sensor_obj *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
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

/* new BpfObject(path) — opens (does not load). */
static napi_value obj_ctor(napi_env env, napi_callback_info info)
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
	for (int i = 0; i < 64; i++)
		if (!live_objs[i]) {
			live_objs[i] = so;
			break;
		}
	CHECK_NAPI(napi_wrap(env, self, so, finalize_obj, NULL, NULL));
	return self;
}

/* setGlobal(name, value:number|bigint): a `const volatile` in .rodata, before load. */
static napi_value obj_set_global(napi_env env, napi_callback_info info)
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

static struct bpf_map *find_map(napi_env env, struct sensor_obj *so, napi_value v, char *name, size_t cap)
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

/* setMapSize(name, maxEntries) — before load. */
static napi_value obj_set_map_size(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	char name[128];
	uint32_t n;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;

	if (!so)
		return NULL;
	if (!(map = find_map(env, so, argv[0], name, sizeof(name))))
		return NULL;
	napi_get_value_uint32(env, argv[1], &n);
	int err = bpf_map__set_max_entries(map, n);
	if (err)
		throw_sensor_error(env, "ESENSOR_BPF_MAP", -err, "bpf_map__set_max_entries", name, "cannot size map %s",
				   name);
	return NULL;
}

/* setAutoload(progName, bool) — before load. */
static napi_value obj_set_autoload(napi_env env, napi_callback_info info)
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

static napi_value obj_load(napi_env env, napi_callback_info info)
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

/* attach() → [{name, section, attached, error?}] for every loaded program. */
static napi_value obj_attach(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	struct bpf_program *p;
	napi_value arr, item, v;
	uint32_t i = 0;

	if (!so)
		return NULL;
	CHECK_NAPI(napi_create_array(env, &arr));
	bpf_object__for_each_program(p, so->obj)
	{
		if (!bpf_program__autoload(p))
			continue;
		const char *name = bpf_program__name(p);
		napi_create_object(env, &item);
		napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, item, "name", v);
		napi_create_string_utf8(env, bpf_program__section_name(p), NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, item, "section", v);
		last_msg[0] = 0;
		struct bpf_link *link = so->nlinks < MAX_LINKS ? bpf_program__attach(p) : NULL;
		int err = link ? 0 : (so->nlinks < MAX_LINKS ? errno : ENOSPC);
		if (link) {
			so->links[so->nlinks] = link;
			snprintf(so->link_names[so->nlinks], 64, "%s", name);
			so->nlinks++;
		}
		napi_get_boolean(env, link != NULL, &v);
		napi_set_named_property(env, item, "attached", v);
		if (!link) {
			char msg[1200];
			snprintf(msg, sizeof(msg), "%s (errno %d)%s%s", strerror(err), err, last_msg[0] ? "; libbpf: " : "",
				 last_msg);
			napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &v);
			napi_set_named_property(env, item, "error", v);
			napi_create_int32(env, err, &v);
			napi_set_named_property(env, item, "errno", v);
		}
		napi_set_element(env, arr, i++, item);
	}
	return arr;
}

/* detach(): destroy every link (programs stay loaded until close). */
static napi_value obj_detach(napi_env env, napi_callback_info info)
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

static bool get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what)
{
	bool is;
	napi_is_buffer(env, v, &is);
	if (!is) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, what, "%s must be a Buffer", what);
		return false;
	}
	napi_get_buffer_info(env, v, data, len);
	return true;
}

/* mapUpdate(name, key, value, flags=0) */
static napi_value obj_map_update(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	char name[128];
	void *k, *val;
	size_t kl, vl;
	uint32_t flags = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;

	if (!so)
		return NULL;
	if (!(map = find_map(env, so, argv[0], name, sizeof(name))))
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
static napi_value obj_map_lookup(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	char name[128];
	void *k, *buf;
	size_t kl;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;

	if (!so)
		return NULL;
	if (!(map = find_map(env, so, argv[0], name, sizeof(name))))
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
static napi_value obj_map_delete(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], out;
	char name[128];
	void *k;
	size_t kl;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;

	if (!so)
		return NULL;
	if (!(map = find_map(env, so, argv[0], name, sizeof(name))))
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
static napi_value obj_map_keys(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], arr, kb;
	char name[128];
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	struct bpf_map *map;
	uint8_t cur[512], next[512];
	void *dst;
	uint32_t i = 0;

	if (!so)
		return NULL;
	if (!(map = find_map(env, so, argv[0], name, sizeof(name))))
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
static napi_value obj_maps(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	struct bpf_map *map;
	napi_value arr, item, v;
	uint32_t i = 0;

	if (!so)
		return NULL;
	CHECK_NAPI(napi_create_array(env, &arr));
	bpf_object__for_each_map(map, so->obj)
	{
		napi_create_object(env, &item);
		napi_create_string_utf8(env, bpf_map__name(map), NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, item, "name", v);
		napi_create_uint32(env, bpf_map__type(map), &v);
		napi_set_named_property(env, item, "type", v);
		napi_create_uint32(env, bpf_map__key_size(map), &v);
		napi_set_named_property(env, item, "keySize", v);
		napi_create_uint32(env, bpf_map__value_size(map), &v);
		napi_set_named_property(env, item, "valueSize", v);
		napi_create_uint32(env, bpf_map__max_entries(map), &v);
		napi_set_named_property(env, item, "maxEntries", v);
		napi_set_element(env, arr, i++, item);
	}
	return arr;
}

/* programs() → [{name, section, autoload, fd}] */
static napi_value obj_programs(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	struct bpf_program *p;
	napi_value arr, item, v;
	uint32_t i = 0;

	if (!so)
		return NULL;
	CHECK_NAPI(napi_create_array(env, &arr));
	bpf_object__for_each_program(p, so->obj)
	{
		napi_create_object(env, &item);
		napi_create_string_utf8(env, bpf_program__name(p), NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, item, "name", v);
		napi_create_string_utf8(env, bpf_program__section_name(p), NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, item, "section", v);
		napi_get_boolean(env, bpf_program__autoload(p), &v);
		napi_set_named_property(env, item, "autoload", v);
		napi_create_int32(env, so->loaded ? bpf_program__fd(p) : -1, &v);
		napi_set_named_property(env, item, "fd", v);
		napi_set_element(env, arr, i++, item);
	}
	return arr;
}

/*
 * startRing(mapNames: string[], chunks: Buffer[], pollMs: number, onBatch(chunkIndex, bytes, records))
 */
static napi_value obj_start_ring(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], name_v;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);
	uint32_t nmaps, nchunks;
	int32_t poll_ms;
	struct reader *r;
	char name[128];

	if (!so)
		return NULL;
	if (!so->loaded) {
		throw_sensor_error(env, "ESENSOR_BPF_STATE", EINVAL, NULL, NULL, "load the object before reading rings");
		return NULL;
	}
	if (so->reader) {
		throw_sensor_error(env, "ESENSOR_BPF_STATE", EBUSY, NULL, NULL, "ring reader already running");
		return NULL;
	}
	napi_get_array_length(env, argv[0], &nmaps);
	napi_get_array_length(env, argv[1], &nchunks);
	napi_get_value_int32(env, argv[2], &poll_ms);
	if (nmaps < 1 || nmaps > MAX_RINGS || nchunks < 2 || nchunks > MAX_CHUNKS || poll_ms < 1) {
		throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, "startRing", NULL,
				   "need 1..%d rings, 2..%d chunks, pollMs >= 1", MAX_RINGS, MAX_CHUNKS);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		throw_sensor_error(env, "ESENSOR_NATIVE", ENOMEM, "calloc", NULL, "out of memory");
		return NULL;
	}
	r->owner = so;
	r->poll_ms = poll_ms;
	r->cur = -1;
	r->wake_fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (uint32_t i = 0; i < nchunks; i++) {
		napi_value b;
		void *d;
		size_t l;
		napi_get_element(env, argv[1], i, &b);
		if (!get_buffer(env, b, &d, &l, "chunk"))
			goto fail;
		if (l < 64 * 1024) {
			throw_sensor_error(env, "ESENSOR_NATIVE_ARG", EINVAL, NULL, "chunk", "chunks must be >= 64 KiB");
			goto fail;
		}
		r->chunks[i].data = d;
		r->chunks[i].cap = l;
		napi_create_reference(env, b, 1, &r->chunks[i].ref);
		r->free_list[r->nfree++] = (int)i;
	}
	r->nchunks = (int)nchunks;
	for (uint32_t i = 0; i < nmaps; i++) {
		napi_get_element(env, argv[0], i, &name_v);
		struct bpf_map *map = find_map(env, so, name_v, name, sizeof(name));
		if (!map)
			goto fail;
		int fd = bpf_map__fd(map);
		if (!r->rb) {
			r->rb = ring_buffer__new(fd, on_sample, r, NULL);
			if (!r->rb) {
				throw_sensor_error(env, "ESENSOR_BPF_RING", errno, "ring_buffer__new", name,
						   "cannot open ring buffer %s", name);
				goto fail;
			}
		} else if (ring_buffer__add(r->rb, fd, on_sample, r)) {
			throw_sensor_error(env, "ESENSOR_BPF_RING", errno, "ring_buffer__add", name,
					   "cannot add ring buffer %s", name);
			goto fail;
		}
	}
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
		epoll_ctl(ring_buffer__epoll_fd(r->rb), EPOLL_CTL_ADD, r->wake_fd, &ev);
	}
	napi_value res_name;
	napi_create_string_utf8(env, "ebpf-sensor-ring", NAPI_AUTO_LENGTH, &res_name);
	if (napi_create_threadsafe_function(env, argv[3], NULL, res_name, 0, 1, NULL, NULL, r, call_js, &r->tsfn) !=
	    napi_ok) {
		throw_sensor_error(env, "ESENSOR_NATIVE", EINVAL, "napi_create_threadsafe_function", NULL,
				   "cannot create batch callback");
		goto fail;
	}
	so->reader = r;
	/* pthread_create returns the error; it does not set errno. */
	int err = pthread_create(&r->thread, NULL, reader_main, r);
	if (err != 0) {
		stop_reader(env, so);
		throw_sensor_error(env, "ESENSOR_BPF_RING", err, "pthread_create", NULL, "cannot start reader thread");
		return NULL;
	}
	r->thread_started = true;
	return NULL;
fail:
	if (r->rb)
		ring_buffer__free(r->rb);
	for (int i = 0; i < MAX_CHUNKS; i++)
		if (r->chunks[i].ref)
			napi_delete_reference(env, r->chunks[i].ref);
	free(r);
	return NULL;
}

/* stopRing(): stop the reader thread; records still in the kernel ring stay there. */
static napi_value obj_stop_ring(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);

	if (so)
		stop_reader(env, so);
	return NULL;
}

/* unref()/ref() the batch callback so it does not keep the event loop alive. */
static napi_value obj_ring_ref(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	bool on = true;
	struct sensor_obj *so = unwrap(env, info, &argc, argv);

	if (!so || !so->reader)
		return NULL;
	if (argc > 0)
		napi_get_value_bool(env, argv[0], &on);
	if (on)
		napi_ref_threadsafe_function(env, so->reader->tsfn);
	else
		napi_unref_threadsafe_function(env, so->reader->tsfn);
	return NULL;
}

static void set_u64(napi_env env, napi_value obj, const char *name, uint64_t v)
{
	napi_value x;
	napi_create_double(env, (double)v, &x);
	napi_set_named_property(env, obj, name, x);
}

/* ringStats() → {records, bytes, batches, stalls, wakeups, oversize, freeChunks} */
static napi_value obj_ring_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	napi_value o;

	if (!so)
		return NULL;
	CHECK_NAPI(napi_create_object(env, &o));
	struct reader *r = so->reader;
	set_u64(env, o, "records", r ? atomic_load(&r->records) : 0);
	set_u64(env, o, "bytes", r ? atomic_load(&r->bytes) : 0);
	set_u64(env, o, "batches", r ? atomic_load(&r->batches) : 0);
	set_u64(env, o, "stalls", r ? atomic_load(&r->stalls) : 0);
	set_u64(env, o, "wakeups", r ? atomic_load(&r->wakeups) : 0);
	set_u64(env, o, "oversize", r ? atomic_load(&r->oversize) : 0);
	int nfree = 0;
	if (r) {
		pthread_mutex_lock(&r->mu);
		nfree = r->nfree;
		pthread_mutex_unlock(&r->mu);
	}
	set_u64(env, o, "freeChunks", (uint64_t)nfree);
	return o;
}

static napi_value obj_close(napi_env env, napi_callback_info info)
{
	napi_value self;
	void *p = NULL;
	size_t argc = 0;

	napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
	if (napi_unwrap(env, self, &p) == napi_ok && p) {
		close_obj(env, p);
		for (int i = 0; i < 64; i++)
			if (live_objs[i] == p)
				live_objs[i] = NULL;
	}
	return NULL;
}

/* setErrorClass(ctor): errors are thrown as `new ctor(message, props)`. */
static napi_value set_error_class(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (error_class_ref)
		napi_delete_reference(env, error_class_ref);
	napi_create_reference(env, argv[0], 1, &error_class_ref);
	return NULL;
}

static void set_num(napi_env env, napi_value obj, const char *name, double v)
{
	napi_value x;
	napi_create_double(env, v, &x);
	napi_set_named_property(env, obj, name, x);
}

/* The ABI as compiled from sensor_abi.h: sizes, offsets and constants. */
static napi_value build_abi(napi_env env)
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
	OFF(se_filter_cfg, kinds);
	OFF(se_filter_cfg, kinds_hi);
	OFF(se_filter_cfg, flags);
	OFF(se_filter_cfg, wakeup_bytes);
	OFF(se_prefix_key, prefixlen);
	OFF(se_prefix_key, data);
	OFF(se_kill_key, prefixlen);
	OFF(se_kill_key, data);
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

static napi_value get_info(napi_env env, napi_callback_info info)
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
static napi_value get_clocks(napi_env env, napi_callback_info info)
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
static napi_value probe_prog_type(napi_env env, napi_callback_info info)
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
static napi_value kernel_funcs(napi_env env, napi_callback_info info)
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
	napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
