// SPDX-License-Identifier: Apache-2.0
/*
 * What the addon's units share: the object and ring-reader state, the
 * SensorError thrower, argument readers, property setters, and each unit's
 * entry points (wired into the module by addon.c).
 *
 *   addon.c    the module: the BpfObject class and the free functions
 *   errors.c   libbpf's messages captured for error texts; SensorErrors thrown
 *   object.c   a BPF object: open, globals, autoload, load, attach/detach,
 *              programs(), close (and at process exit)
 *   maps.c     map lookups by name: size, update, lookup, delete, keys, maps()
 *   ring.c     the ring-buffer reader thread and its JS-owned chunks
 *   abi.c      the ABI compiled from sensor_abi.h (sizes, offsets, constants)
 *   probes.c   what the running kernel offers: libbpf/CPUs, clocks, program
 *              types, kfuncs
 *   crc32.c    the journal's CRC-32 over a Buffer range (PCLMULQDQ folding
 *              where the CPU has it, else zlib)
 */
#ifndef EBPF_SENSOR_ADDON_H
#define EBPF_SENSOR_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_LINKS 512
#define MAX_RINGS 8
#define MAX_CHUNKS 256
#define SPILL_MAX 65536
#define MAX_OBJS 64

/* ---------- errors.c ---------- */

/* The most recent libbpf warnings (they name the failing program and carry
 * the verifier's last lines); they travel in errors rather than to stderr. */
extern __thread char last_msg[2048];

int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);
void throw_sensor_error(napi_env env, const char *code, int err, const char *call, const char *object,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
napi_value set_error_class(napi_env env, napi_callback_info info);
bool get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what);
bool get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what);

#define CHECK_NAPI(call)                                                                     \
	do {                                                                                 \
		if ((call) != napi_ok) {                                                     \
			throw_sensor_error(env, "ESENSOR_NATIVE", 0, #call, NULL, "N-API call failed"); \
			return NULL;                                                         \
		}                                                                            \
	} while (0)

/* Properties of the plain objects handed to JavaScript. */
static inline void set_str(napi_env env, napi_value obj, const char *name, const char *s)
{
	napi_value x;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &x);
	napi_set_named_property(env, obj, name, x);
}

static inline void set_u32(napi_env env, napi_value obj, const char *name, uint32_t v)
{
	napi_value x;
	napi_create_uint32(env, v, &x);
	napi_set_named_property(env, obj, name, x);
}

static inline void set_i32(napi_env env, napi_value obj, const char *name, int32_t v)
{
	napi_value x;
	napi_create_int32(env, v, &x);
	napi_set_named_property(env, obj, name, x);
}

static inline void set_bool(napi_env env, napi_value obj, const char *name, bool v)
{
	napi_value x;
	napi_get_boolean(env, v, &x);
	napi_set_named_property(env, obj, name, x);
}

static inline void set_num(napi_env env, napi_value obj, const char *name, double v)
{
	napi_value x;
	napi_create_double(env, v, &x);
	napi_set_named_property(env, obj, name, x);
}

/* A new plain object appended to the array arr at *n (then incremented). */
static inline napi_value push_object(napi_env env, napi_value arr, uint32_t *n)
{
	napi_value item;
	napi_create_object(env, &item);
	napi_set_element(env, arr, (*n)++, item);
	return item;
}

/* ---------- object and ring-reader state ---------- */

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

/*
 * One BPF ring buffer, mapped ONCE (ring.c): the consumer page read-write,
 * the producer page and the data area read-only. libbpf maps the data area
 * twice in a row so a record that wraps reads as one piece; the kernel
 * inserts every page at mmap time, so that costs the ring's size twice in RSS.
 * Here a record that wraps is copied in two pieces instead.
 */
struct ring {
	int map_fd;
	unsigned long *consumer_pos; /* mmap'd page 0 (rw) */
	unsigned long *producer_pos; /* mmap'd page 1 (ro), data follows */
	uint8_t *data;
	size_t size; /* data bytes, a power of two */
	size_t page_size;
};

struct reader {
	struct sensor_obj *owner;
	struct ring rings[MAX_RINGS];
	int nrings;
	int epoll_fd;
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

/* ---------- object.c ---------- */

/* `this` of a BpfObject method, open; throws and returns NULL otherwise. */
struct sensor_obj *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);
/* `this` of a listing method (maps(), programs(), attach()) and a new array for the list. */
struct sensor_obj *unwrap_list(napi_env env, napi_callback_info info, napi_value *arr);
void cleanup_hook(void *arg);

napi_value obj_ctor(napi_env env, napi_callback_info info);
napi_value obj_set_global(napi_env env, napi_callback_info info);
napi_value obj_set_autoload(napi_env env, napi_callback_info info);
napi_value obj_load(napi_env env, napi_callback_info info);
napi_value obj_attach(napi_env env, napi_callback_info info);
napi_value obj_detach(napi_env env, napi_callback_info info);
napi_value obj_programs(napi_env env, napi_callback_info info);
napi_value obj_close(napi_env env, napi_callback_info info);

/* ---------- maps.c ---------- */

/* The map named by the JS string v (copied into name); throws when absent. */
struct bpf_map *find_map(napi_env env, struct sensor_obj *so, napi_value v, char *name, size_t cap);

napi_value obj_set_map_size(napi_env env, napi_callback_info info);
napi_value obj_map_update(napi_env env, napi_callback_info info);
napi_value obj_map_lookup(napi_env env, napi_callback_info info);
napi_value obj_map_delete(napi_env env, napi_callback_info info);
napi_value obj_map_keys(napi_env env, napi_callback_info info);
napi_value obj_maps(napi_env env, napi_callback_info info);

/* ---------- ring.c ---------- */

/* Stops and joins the reader thread of so, if any (env NULL at process exit). */
void stop_reader(napi_env env, struct sensor_obj *so);

napi_value obj_start_ring(napi_env env, napi_callback_info info);
napi_value obj_stop_ring(napi_env env, napi_callback_info info);
napi_value obj_ring_ref(napi_env env, napi_callback_info info);
napi_value obj_ring_stats(napi_env env, napi_callback_info info);

/* ---------- abi.c, probes.c ---------- */

napi_value build_abi(napi_env env);
napi_value get_info(napi_env env, napi_callback_info info);
napi_value get_clocks(napi_env env, napi_callback_info info);
napi_value probe_prog_type(napi_env env, napi_callback_info info);
napi_value kernel_funcs(napi_env env, napi_callback_info info);

/* ---------- crc32.c ---------- */

/* Picks the CRC-32 implementation for this CPU (at module load). */
void crc32_select(void);
/* "pclmul" or "zlib": what crc32_best runs. */
const char *crc32_impl(void);
napi_value crc32_best(napi_env env, napi_callback_info info);
napi_value crc32_portable(napi_env env, napi_callback_info info);

#endif
