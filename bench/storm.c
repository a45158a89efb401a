// SPDX-License-Identifier: Apache-2.0
/*
 * storm: a syscall storm that times itself.
 *   storm open PATH N     N x (openat(PATH, O_RDONLY) + close)
 *   storm exec N          N x (posix_spawn /bin/true + waitpid)
 *   storm fork N          N x (fork + _exit(0) in the child + waitpid)
 *   storm write DIR N     N x (open(DIR/f<i%64>, O_WRONLY|O_CREAT) + write 64 bytes + close)
 *   storm iou-open PATH N N x (IORING_OP_OPENAT of PATH read-only through one ring, wait, close)
 *   storm iou-write PATH N open PATH for writing once, then N x (IORING_OP_WRITE of 64 bytes at offset 0
 *                         through one ring, wait)
 * Prints one JSON line: {"op":..., "n":N, "ns_per_op":...}
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One ring, one request at a time: submit an OPENAT, wait for its CQE. */
struct ring {
	int fd;
	unsigned *tail, *mask, *array, *chead, *ctail, *cmask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	r->fd = syscall(__NR_io_uring_setup, 8, &p);
	if (r->fd < 0)
		return -1;
	char *sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			r->fd, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->tail = (unsigned *)(sq + p.sq_off.tail);
	r->mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->array = (unsigned *)(sq + p.sq_off.array);
	r->chead = (unsigned *)(cq + p.cq_off.head);
	r->ctail = (unsigned *)(cq + p.cq_off.tail);
	r->cmask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one request and wait for its CQE: its result. */
static int ring_wait(struct ring *r, unsigned t, unsigned idx)
{
	r->array[idx] = idx;
	__atomic_store_n(r->tail, t + 1, __ATOMIC_RELEASE);
	syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	unsigned h = *r->chead;
	while (__atomic_load_n(r->ctail, __ATOMIC_ACQUIRE) == h)
		syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	int res = r->cqes[h & *r->cmask].res;
	__atomic_store_n(r->chead, h + 1, __ATOMIC_RELEASE);
	return res;
}

static int ring_write(struct ring *r, int fd, const void *buf, unsigned len)
{
	unsigned t = *r->tail, idx = t & *r->mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_WRITE;
	sqe->fd = fd;
	sqe->addr = (unsigned long)buf;
	sqe->len = len;
	sqe->off = 0;
	return ring_wait(r, t, idx);
}

static int ring_openat(struct ring *r, const char *path)
{
	unsigned t = *r->tail, idx = t & *r->mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_OPENAT;
	sqe->fd = AT_FDCWD;
	sqe->addr = (unsigned long)path;
	r->array[idx] = idx;
	__atomic_store_n(r->tail, t + 1, __ATOMIC_RELEASE);
	syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	unsigned h = *r->chead;
	while (__atomic_load_n(r->ctail, __ATOMIC_ACQUIRE) == h)
		syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	int res = r->cqes[h & *r->cmask].res;
	__atomic_store_n(r->chead, h + 1, __ATOMIC_RELEASE);
	return res;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	double t0, t1;
	long n;
	if (!strcmp(argv[1], "open") && argc >= 4) {
		n = atol(argv[3]);
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int fd = syscall(SYS_openat, AT_FDCWD, argv[2], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		t1 = now_ns();
	} else if (!strcmp(argv[1], "iou-open") && argc >= 4) {
		struct ring r;
		n = atol(argv[3]);
		if (ring_init(&r))
			return 3;
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int fd = ring_openat(&r, argv[2]);
			if (fd >= 0)
				close(fd);
		}
		t1 = now_ns();
	} else if (!strcmp(argv[1], "iou-write") && argc >= 4) {
		struct ring r;
		char buf[64];
		memset(buf, 'x', sizeof(buf));
		n = atol(argv[3]);
		int fd = open(argv[2], O_WRONLY | O_CREAT, 0600);
		if (fd < 0 || ring_init(&r))
			return 3;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (ring_write(&r, fd, buf, sizeof(buf)) != sizeof(buf))
				return 4;
		t1 = now_ns();
		close(fd);
	} else if (!strcmp(argv[1], "exec")) {
		n = atol(argv[2]);
		char *args[] = {"/bin/true", NULL};
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t p;
			int st;
			if (posix_spawn(&p, "/bin/true", NULL, NULL, args, environ) == 0)
				waitpid(p, &st, 0);
		}
		t1 = now_ns();
	} else if (!strcmp(argv[1], "fork")) {
		n = atol(argv[2]);
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0)
				_exit(0);
			if (p > 0) {
				int st;
				waitpid(p, &st, 0);
			}
		}
		t1 = now_ns();
	} else if (!strcmp(argv[1], "write") && argc >= 4) {
		n = atol(argv[3]);
		char path[4096], buf[64];
		memset(buf, 'x', sizeof(buf));
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/f%ld", argv[2], i % 64);
			int fd = open(path, O_WRONLY | O_CREAT, 0600);
			if (fd >= 0) {
				if (write(fd, buf, sizeof(buf)) < 0)
					perror("write");
				close(fd);
			}
		}
		t1 = now_ns();
	} else {
		return 2;
	}
	printf("{\"op\":\"%s\",\"n\":%ld,\"ns_per_op\":%.1f}\n", argv[1], n, (t1 - t0) / n);
	return 0;
}
