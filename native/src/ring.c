// SPDX-License-Identifier: Apache-2.0
/*
 * The ring-buffer reader: a native thread epoll-waits on the object's ring
 * buffers (woken by the kernel on fill level, or every pollMs) and drains
 * them into JS-owned chunks, handing each full or timed-out chunk to
 * JavaScript through one threadsafe-function call (one JS call per chunk,
 * never per record); it counts records, bytes, batches, stalls, wakeups and
 * oversize records.
 *
 * Chunk protocol: JS gives N Buffers at ring start. A chunk is owned by the
 * reader thread while free/filling, handed to JS through a threadsafe
 * function, and returns to the reader when the JS callback returns (JS
 * decodes synchronously and keeps no reference). Frames in a chunk are:
 * u32 length (LE) | record bytes | zero padding to 8.
 *
 * The rings are read without libbpf's ring_buffer: each is mapped once (see
 * struct ring in addon.h: libbpf's double mapping costs the ring's size
 * twice in RSS), and a record that wraps past the end of the data area is
 * copied in two pieces. The loop follows libbpf's ringbuf_process_ring: a
 * record is marked consumed before it is placed, so one that cannot be placed
 * (no free chunk) is kept in `spill` and placed first on the next round.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "addon.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

/*
 * Test hook (issue 13): EBPF_SENSOR_TEST_FAIL_BATCH_ALLOC=N makes every Nth
 * allocation of a batch message fail, so tests reach the path that keeps a
 * full chunk (test/kernel/issue-13-addon-alloc.test.ts). Unset or 0: never.
 */
static unsigned long fail_batch_alloc_every;
static unsigned long batch_allocs;

/*
 * Test hook (issue 13): EBPF_SENSOR_TEST_FAIL=reader-calloc makes ring start's
 * allocation of the reader fail, EBPF_SENSOR_TEST_FAIL=thread its
 * pthread_create (as EAGAIN), so tests reach those failure paths
 * (test/kernel/issue-13-addon-start-fail.test.ts). Unset: never.
 */
static bool test_fail(const char *what)
{
	const char *v = getenv("EBPF_SENSOR_TEST_FAIL");
	return v && strcmp(v, what) == 0;
}

static struct batch_msg *alloc_batch_msg(void)
{
	if (fail_batch_alloc_every && ++batch_allocs % fail_batch_alloc_every == 0)
		return NULL;
	return malloc(sizeof(struct batch_msg));
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
	m = alloc_batch_msg();
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

/* Place a record given in one or two pieces (a record that wraps around the ring's end). */
static bool place_frame(struct reader *r, const void *data, size_t len, const void *data2, size_t len2, bool wait)
{
	size_t total = len + len2;
	size_t need = (4 + total + 7) & ~(size_t)7;
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
	uint32_t l32 = (uint32_t)total;
	memcpy(c->data + c->used, &l32, 4);
	memcpy(c->data + c->used + 4, data, len);
	if (len2)
		memcpy(c->data + c->used + 4 + len, data2, len2);
	memset(c->data + c->used + 4 + total, 0, need - 4 - total);
	c->used += need;
	c->records++;
	atomic_fetch_add(&r->records, 1);
	atomic_fetch_add(&r->bytes, total);
	return true;
}

static int on_sample(struct reader *r, const void *data, size_t len, const void *data2, size_t len2)
{
	if (place_frame(r, data, len, data2, len2, false))
		return 0;
	/* No free chunk: keep this (already consumed) record and stop the batch. */
	if (len + len2 <= SPILL_MAX) {
		memcpy(r->spill, data, len);
		if (len2)
			memcpy(r->spill + len, data2, len2);
		r->spill_len = len + len2;
		r->spill_full = true;
	} else {
		atomic_fetch_add(&r->oversize, 1);
	}
	atomic_fetch_add(&r->stalls, 1);
	return -EAGAIN;
}

/*
 * Drain one ring (libbpf 1.1's ringbuf_process_ring, on a single mapping):
 * records up to the producer position, stopping at one still being written
 * (busy bit) or when a record could not be placed (it is in spill).
 */
static int consume_ring(struct reader *r, struct ring *rg)
{
	unsigned long cons_pos = __atomic_load_n(rg->consumer_pos, __ATOMIC_ACQUIRE);
	size_t mask = rg->size - 1;
	bool got_new_data;

	do {
		got_new_data = false;
		unsigned long prod_pos = __atomic_load_n(rg->producer_pos, __ATOMIC_ACQUIRE);
		while (cons_pos < prod_pos) {
			/* Headers are 8-byte aligned in an area of whole pages: a header never wraps. */
			size_t off = cons_pos & mask;
			uint32_t len = __atomic_load_n((uint32_t *)(rg->data + off), __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT)
				return 0;
			got_new_data = true;
			uint32_t n = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			cons_pos += (n + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				size_t start = off + BPF_RINGBUF_HDR_SZ; /* <= size */
				size_t first = n <= rg->size - start ? n : rg->size - start;
				int err = on_sample(r, rg->data + start, first, rg->data, n - first);
				if (err < 0) {
					__atomic_store_n(rg->consumer_pos, cons_pos, __ATOMIC_RELEASE);
					return err;
				}
			}
			__atomic_store_n(rg->consumer_pos, cons_pos, __ATOMIC_RELEASE);
		}
	} while (got_new_data);
	return 0;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int epfd = r->epoll_fd;
	struct epoll_event evs[MAX_RINGS + 1];

	/* Named, so top -H and /proc/PID/task/TID/comm tell it from Node's threads (bench/live.ts). */
	pthread_setname_np(pthread_self(), "se-ring-reader");

	while (!atomic_load(&r->stop)) {
		if (r->spill_full) {
			if (!place_frame(r, r->spill, r->spill_len, NULL, 0, true))
				continue; /* stop requested or still no chunk */
			r->spill_full = false;
		}
		int n = epoll_wait(epfd, evs, MAX_RINGS + 1, r->poll_ms);
		if (n > 0)
			atomic_fetch_add(&r->wakeups, 1);
		if (atomic_load(&r->stop))
			break;
		for (int i = 0; i < r->nrings; i++)
			if (consume_ring(r, &r->rings[i]) < 0)
				break; /* no free chunk: the spilled record waits for one */
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

static void unmap_rings(struct reader *r)
{
	for (int i = 0; i < r->nrings; i++) {
		struct ring *rg = &r->rings[i];
		if (rg->consumer_pos)
			munmap(rg->consumer_pos, rg->page_size);
		if (rg->producer_pos)
			munmap(rg->producer_pos, rg->page_size + rg->size);
	}
	r->nrings = 0;
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	r->epoll_fd = -1;
}

/* Map a ring buffer map once and watch its fd; false (errno set) on failure. */
static bool map_ring(struct reader *r, int fd, size_t size)
{
	struct ring *rg = &r->rings[r->nrings];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	memset(rg, 0, sizeof(*rg));
	rg->map_fd = fd;
	rg->size = size;
	rg->page_size = page;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	rg->consumer_pos = p;
	r->nrings++; /* from here unmap_rings() undoes it */
	/* The producer page and the data area once (libbpf: twice, 2 * size). */
	p = mmap(NULL, page + size, PROT_READ, MAP_SHARED, fd, (off_t)page);
	if (p == MAP_FAILED)
		return false;
	rg->producer_pos = p;
	rg->data = (uint8_t *)p + page;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(r->nrings - 1)};
	return epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void stop_reader(napi_env env, struct sensor_obj *so)
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
	unmap_rings(r);
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
 * startRing(mapNames: string[], chunks: Buffer[], pollMs: number, onBatch(chunkIndex, bytes, records))
 */
napi_value obj_start_ring(napi_env env, napi_callback_info info)
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
	{
		const char *every = getenv("EBPF_SENSOR_TEST_FAIL_BATCH_ALLOC");
		fail_batch_alloc_every = every ? strtoul(every, NULL, 10) : 0;
	}
	r = test_fail("reader-calloc") ? NULL : calloc(1, sizeof(*r));
	if (!r) {
		throw_sensor_error(env, "ESENSOR_NATIVE", ENOMEM, "calloc", NULL, "out of memory");
		return NULL;
	}
	r->owner = so;
	r->poll_ms = poll_ms;
	r->cur = -1;
	r->wake_fd = -1;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0) {
		throw_sensor_error(env, "ESENSOR_BPF_RING", errno, "epoll_create1", NULL, "cannot create the reader's epoll");
		free(r);
		return NULL;
	}
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
		if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) {
			throw_sensor_error(env, "ESENSOR_BPF_RING", EINVAL, NULL, name, "map %s is not a ring buffer", name);
			goto fail;
		}
		uint32_t size = bpf_map__max_entries(map);
		if (size == 0 || (size & (size - 1)) != 0) {
			throw_sensor_error(env, "ESENSOR_BPF_RING", EINVAL, NULL, name, "ring buffer %s: size %u is not a power of two", name, size);
			goto fail;
		}
		if (!map_ring(r, bpf_map__fd(map), size)) {
			throw_sensor_error(env, "ESENSOR_BPF_RING", errno, "mmap", name, "cannot map ring buffer %s", name);
			goto fail;
		}
	}
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
		epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->wake_fd, &ev);
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
	int err = test_fail("thread") ? EAGAIN : pthread_create(&r->thread, NULL, reader_main, r);
	if (err != 0) {
		stop_reader(env, so);
		throw_sensor_error(env, "ESENSOR_BPF_RING", err, "pthread_create", NULL, "cannot start reader thread");
		return NULL;
	}
	r->thread_started = true;
	return NULL;
fail:
	unmap_rings(r);
	for (int i = 0; i < MAX_CHUNKS; i++)
		if (r->chunks[i].ref)
			napi_delete_reference(env, r->chunks[i].ref);
	free(r);
	return NULL;
}

/* stopRing(): stop the reader thread; records still in the kernel ring stay there. */
napi_value obj_stop_ring(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);

	if (so)
		stop_reader(env, so);
	return NULL;
}

/* unref()/ref() the batch callback so it does not keep the event loop alive. */
napi_value obj_ring_ref(napi_env env, napi_callback_info info)
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

/* ringStats() → {records, bytes, batches, stalls, wakeups, oversize, freeChunks} */
napi_value obj_ring_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	struct sensor_obj *so = unwrap(env, info, &argc, NULL);
	napi_value o;

	if (!so)
		return NULL;
	CHECK_NAPI(napi_create_object(env, &o));
	struct reader *r = so->reader;
	set_num(env, o, "records", r ? atomic_load(&r->records) : 0);
	set_num(env, o, "bytes", r ? atomic_load(&r->bytes) : 0);
	set_num(env, o, "batches", r ? atomic_load(&r->batches) : 0);
	set_num(env, o, "stalls", r ? atomic_load(&r->stalls) : 0);
	set_num(env, o, "wakeups", r ? atomic_load(&r->wakeups) : 0);
	set_num(env, o, "oversize", r ? atomic_load(&r->oversize) : 0);
	int nfree = 0;
	if (r) {
		pthread_mutex_lock(&r->mu);
		nfree = r->nfree;
		pthread_mutex_unlock(&r->mu);
	}
	set_num(env, o, "freeChunks", nfree);
	return o;
}

