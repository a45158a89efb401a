// SPDX-License-Identifier: Apache-2.0
/*
 * trigger: makes exactly the syscalls a live kernel test asks for, with raw
 * syscall(2) where libc would rewrite them, and prints one JSON line with
 * what it did (pid, fds, ports) so the test can match the sensor's events.
 *
 *   trigger <op> [args...]
 *
 * Built by the kernel test harness with the system C compiler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <linux/userfaultfd.h>
#include <linux/io_uring.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <utime.h>
#include <unistd.h>
#include <arpa/inet.h>

static void out(const char *op, long ret, const char *extra)
{
	printf("{\"op\":\"%s\",\"pid\":%d,\"tid\":%ld,\"ret\":%ld,\"errno\":%d%s%s}\n", op, getpid(), syscall(SYS_gettid), ret,
	       ret < 0 ? errno : 0, extra && *extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

static int need(int argc, int n)
{
	if (argc < n) {
		fprintf(stderr, "trigger: missing arguments\n");
		exit(2);
	}
	return 0;
}

/* Hex string → bytes (the xattr values tests set); returns the length. */
static size_t unhex(const char *h, unsigned char *out, size_t max)
{
	size_t n = 0;
	while (h[0] && h[1] && n < max) {
		unsigned int b;
		sscanf(h, "%2x", &b);
		out[n++] = (unsigned char)b;
		h += 2;
	}
	return n;
}

/* ---- the argument-rewriting race (Phantom-attack style) ---- */
static volatile int race_stop;
static char race_buf[256];
static char race_a[256], race_b[256];

/* Alternate the shared buffer between the two strings, holding each for
 * about a syscall's duration so that flips land inside syscalls. */
static void *race_flipper(void *arg)
{
	(void)arg;
	while (!race_stop) {
		memcpy(race_buf, race_a, sizeof(race_buf));
		for (volatile int i = 0; i < 300; i++)
			;
		memcpy(race_buf, race_b, sizeof(race_buf));
		for (volatile int i = 0; i < 300; i++)
			;
	}
	return NULL;
}

/* ---- deterministic argument tampering with userfaultfd ----
 * rename(OLD, NEW): NEW sits on a page that is not there yet, so the kernel
 * blocks in the middle of the syscall copying it; while it waits, the fault
 * handler rewrites OLD (already copied at sys_enter by the sensor, and maybe
 * by the kernel) and only then supplies NEW's page. */
struct uffd_job {
	int uffd;
	char *old_buf;
	const char *old_after;
	char *new_page;
	const char *new_name;
	long pagesz;
};

static void *uffd_handler(void *arg)
{
	struct uffd_job *j = arg;
	struct pollfd p = {.fd = j->uffd, .events = POLLIN};
	struct uffd_msg msg;

	if (poll(&p, 1, 5000) <= 0 || read(j->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return NULL;
	strcpy(j->old_buf, j->old_after);
	char *page = aligned_alloc(j->pagesz, j->pagesz);
	memset(page, 0, j->pagesz);
	strcpy(page, j->new_name);
	struct uffdio_copy c = {.dst = (unsigned long)j->new_page, .src = (unsigned long)page, .len = j->pagesz};
	ioctl(j->uffd, UFFDIO_COPY, &c);
	return NULL;
}

/* ---- io_uring with raw syscalls: one request, its result ----
 * iou_run() sets up a ring (SQPOLL when asked), submits *proto, waits for
 * its completion and returns cqe->res (or -1 with errno for setup errors).
 * *ring_fd gets the ring's fd. */
static long iou_run_n(const struct io_uring_sqe *proto, int n, int sqpoll, int *ring_fd);

static long iou_run(const struct io_uring_sqe *proto, int sqpoll, int *ring_fd)
{
	return iou_run_n(proto, 1, sqpoll, ring_fd);
}

/* The same request n times on one ring, one after the other (a write storm);
 * IORING_OP_WRITE_FIXED registers proto's buffer first. Returns the last result. */
static long iou_run_n(const struct io_uring_sqe *proto, int n, int sqpoll, int *ring_fd)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	if (sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 2000;
	}
	int fd = syscall(__NR_io_uring_setup, 4, &p);
	*ring_fd = fd;
	if (fd < 0)
		return -1;
	size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return -1;
	if (proto->opcode == IORING_OP_WRITE_FIXED) {
		struct iovec reg = {.iov_base = (void *)(unsigned long)proto->addr, .iov_len = proto->len};
		if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &reg, 1) < 0)
			return -1;
	}
	long res = 0;
	for (int i = 0; i < n; i++) {
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *mask = (unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array), *flags = (unsigned *)(sq + p.sq_off.flags);
	unsigned t = *tail, idx = t & *mask;
	sqes[idx] = *proto;
	array[idx] = idx;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	unsigned enter = IORING_ENTER_GETEVENTS;
	if (sqpoll && (__atomic_load_n(flags, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP))
		enter |= IORING_ENTER_SQ_WAKEUP;
	if (syscall(__NR_io_uring_enter, fd, sqpoll ? 0 : 1, 1, enter, NULL, 0) < 0)
		return -1;
	unsigned *chead = (unsigned *)(cq + p.cq_off.head), *ctail = (unsigned *)(cq + p.cq_off.tail);
	unsigned *cmask = (unsigned *)(cq + p.cq_off.ring_mask);
	while (__atomic_load_n(ctail, __ATOMIC_ACQUIRE) == *chead)
		syscall(__NR_io_uring_enter, fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	res = cqes[*chead & *cmask].res;
	__atomic_store_n(chead, *chead + 1, __ATOMIC_RELEASE);
	}
	return res;
}

int main(int argc, char **argv)
{
	char extra[512] = "";
	long r;

	if (argc < 2) {
		fprintf(stderr, "usage: trigger <op> [args]\n");
		return 2;
	}
	const char *op = argv[1];

	if (!strcmp(op, "open")) { /* open PATH FLAGS(octal) */
		need(argc, 4);
		r = syscall(SYS_open, argv[2], (int)strtol(argv[3], NULL, 8), 0644);
	} else if (!strcmp(op, "openat")) { /* openat DIR NAME FLAGS */
		need(argc, 5);
		int d = open(argv[2], O_RDONLY | O_DIRECTORY);
		r = syscall(SYS_openat, d, argv[3], (int)strtol(argv[4], NULL, 8), 0644);
		snprintf(extra, sizeof(extra), "\"dirfd\":%d", d);
	} else if (!strcmp(op, "openat-cwd")) { /* openat-cwd DIR REL FLAGS: chdir then openat(AT_FDCWD, REL) */
		need(argc, 5);
		if (chdir(argv[2]))
			return 3;
		r = syscall(SYS_openat, AT_FDCWD, argv[3], (int)strtol(argv[4], NULL, 8), 0644);
	} else if (!strcmp(op, "openat2")) { /* openat2 PATH FLAGS */
		need(argc, 4);
		struct open_how how = {.flags = (unsigned long long)strtol(argv[3], NULL, 8)};
		if (how.flags & O_CREAT)
			how.mode = 0600; /* openat2 refuses a mode without O_CREAT */
		r = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
	} else if (!strcmp(op, "creat")) {
		need(argc, 3);
		r = syscall(SYS_creat, argv[2], 0640);
	} else if (!strcmp(op, "open-deep")) { /* open-deep BASE DEPTH: a path longer than PATH_MAX via relative steps */
		need(argc, 4);
		int depth = atoi(argv[3]);
		char name[256];
		memset(name, 'd', 200);
		name[200] = 0;
		if (chdir(argv[2]))
			return 3;
		for (int i = 0; i < depth; i++) {
			mkdir(name, 0755);
			if (chdir(name))
				return 3;
		}
		r = syscall(SYS_openat, AT_FDCWD, "leaf.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	} else if (!strcmp(op, "open-race")) { /* open-race REAL DECOY COUNT: a thread rewrites the path while opens run */
		need(argc, 5);
		snprintf(race_a, sizeof(race_a), "%s", argv[2]);
		snprintf(race_b, sizeof(race_b), "%s", argv[3]);
		memcpy(race_buf, race_a, sizeof(race_buf));
		pthread_t t;
		pthread_create(&t, NULL, race_flipper, NULL);
		int n = atoi(argv[4]), real = 0, decoy = 0;
		for (int i = 0; i < n; i++) {
			int fd = syscall(SYS_openat, AT_FDCWD, race_buf, O_RDONLY);
			if (fd >= 0) {
				char p[64], target[512];
				snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
				ssize_t l = readlink(p, target, sizeof(target) - 1);
				if (l > 0) {
					target[l] = 0;
					if (!strcmp(target, race_a))
						real++;
					else
						decoy++;
				}
				close(fd);
			}
		}
		race_stop = 1;
		pthread_join(t, NULL);
		snprintf(extra, sizeof(extra), "\"opened_a\":%d,\"opened_b\":%d", real, decoy);
		r = 0;
	} else if (!strcmp(op, "unlink-race")) { /* unlink-race A B COUNT: rewrite an unlink argument mid-call */
		need(argc, 5);
		snprintf(race_a, sizeof(race_a), "%s", argv[2]);
		snprintf(race_b, sizeof(race_b), "%s", argv[3]);
		memcpy(race_buf, race_a, sizeof(race_buf));
		pthread_t t;
		pthread_create(&t, NULL, race_flipper, NULL);
		int n = atoi(argv[4]);
		for (int i = 0; i < n; i++)
			syscall(SYS_unlink, race_buf);
		race_stop = 1;
		pthread_join(t, NULL);
		r = 0;
	} else if (!strcmp(op, "tamper-uffd")) { /* tamper-uffd OLD_BEFORE OLD_AFTER NEW */
		need(argc, 5);
		long pg = sysconf(_SC_PAGESIZE);
		char *old_buf = aligned_alloc(pg, pg);
		snprintf(old_buf, pg, "%s", argv[2]);
		char *area = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
		if (uffd < 0)
			return 4;
		struct uffdio_api api = {.api = UFFD_API};
		struct uffdio_register reg = {.range = {.start = (unsigned long)area, .len = pg}, .mode = UFFDIO_REGISTER_MODE_MISSING};
		if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg))
			return 4;
		struct uffd_job job = {.uffd = uffd, .old_buf = old_buf, .old_after = argv[3], .new_page = area, .new_name = argv[4], .pagesz = pg};
		pthread_t t;
		pthread_create(&t, NULL, uffd_handler, &job);
		r = syscall(SYS_rename, old_buf, area);
		pthread_join(t, NULL);
	} else if (!strcmp(op, "unlink")) {
		need(argc, 3);
		r = syscall(SYS_unlink, argv[2]);
	} else if (!strcmp(op, "unlinkat")) { /* unlinkat DIR NAME [rmdir] */
		need(argc, 4);
		int d = open(argv[2], O_RDONLY | O_DIRECTORY);
		r = syscall(SYS_unlinkat, d, argv[3], argc > 4 ? AT_REMOVEDIR : 0);
	} else if (!strcmp(op, "rmdir")) {
		need(argc, 3);
		r = syscall(SYS_rmdir, argv[2]);
	} else if (!strcmp(op, "rename")) {
		need(argc, 4);
		r = syscall(SYS_rename, argv[2], argv[3]);
	} else if (!strcmp(op, "renameat2")) { /* renameat2 DIR OLD NEW */
		need(argc, 5);
		int d = open(argv[2], O_RDONLY | O_DIRECTORY);
		r = syscall(SYS_renameat2, d, argv[3], d, argv[4], 0);
	} else if (!strcmp(op, "chmod")) { /* chmod PATH MODE(octal) */
		need(argc, 4);
		r = syscall(SYS_chmod, argv[2], (mode_t)strtol(argv[3], NULL, 8));
	} else if (!strcmp(op, "fchmod")) {
		need(argc, 4);
		int fd = open(argv[2], O_RDONLY);
		r = syscall(SYS_fchmod, fd, (mode_t)strtol(argv[3], NULL, 8));
	} else if (!strcmp(op, "fchmodat")) { /* fchmodat DIR NAME MODE */
		need(argc, 5);
		int d = open(argv[2], O_RDONLY | O_DIRECTORY);
		r = syscall(SYS_fchmodat, d, argv[3], (mode_t)strtol(argv[4], NULL, 8));
	} else if (!strcmp(op, "chown")) { /* chown PATH UID GID */
		need(argc, 5);
		r = syscall(SYS_chown, argv[2], atoi(argv[3]), atoi(argv[4]));
	} else if (!strcmp(op, "fchown")) {
		need(argc, 5);
		int fd = open(argv[2], O_RDONLY);
		r = syscall(SYS_fchown, fd, atoi(argv[3]), atoi(argv[4]));
	} else if (!strcmp(op, "link")) {
		need(argc, 4);
		r = syscall(SYS_link, argv[2], argv[3]);
	} else if (!strcmp(op, "symlink")) {
		need(argc, 4);
		r = syscall(SYS_symlink, argv[2], argv[3]);
	} else if (!strcmp(op, "truncate")) {
		need(argc, 4);
		r = syscall(SYS_truncate, argv[2], atol(argv[3]));
	} else if (!strcmp(op, "ftruncate")) {
		need(argc, 4);
		int fd = open(argv[2], O_WRONLY);
		r = syscall(SYS_ftruncate, fd, atol(argv[3]));
	} else if (!strcmp(op, "mkdir")) {
		need(argc, 3);
		r = syscall(SYS_mkdir, argv[2], 0750);
	} else if (!strcmp(op, "setuid")) {
		need(argc, 3);
		r = syscall(SYS_setuid, atoi(argv[2]));
	} else if (!strcmp(op, "setresuid")) {
		need(argc, 5);
		r = syscall(SYS_setresuid, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	} else if (!strcmp(op, "setgid")) {
		need(argc, 3);
		r = syscall(SYS_setgid, atoi(argv[2]));
	} else if (!strcmp(op, "drop-open")) { /* drop-open UID PATH: become UID, then open PATH (EACCES) */
		need(argc, 4);
		if (syscall(SYS_setresgid, 65534, 65534, 65534) || syscall(SYS_setresuid, atoi(argv[2]), atoi(argv[2]), atoi(argv[2])))
			return 3;
		r = syscall(SYS_openat, AT_FDCWD, argv[3], O_RDONLY);
	} else if (!strcmp(op, "ptrace")) { /* attach to a child we fork */
		pid_t c = fork();
		if (c == 0) {
			pause();
			_exit(0);
		}
		r = ptrace(PTRACE_ATTACH, c, 0, 0);
		int st;
		waitpid(c, &st, 0);
		ptrace(PTRACE_DETACH, c, 0, 0);
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
		snprintf(extra, sizeof(extra), "\"target\":%d", c);
	} else if (!strcmp(op, "bpf-prog")) { /* load a 2-instruction socket filter */
		struct bpf_insn insns[2] = {
			{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
			{.code = BPF_JMP | BPF_EXIT},
		};
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
		attr.insn_cnt = 2;
		attr.insns = (unsigned long)insns;
		attr.license = (unsigned long)"GPL";
		snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", argc > 2 ? argv[2] : "trigger_prog");
		r = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	} else if (!strcmp(op, "bpf-map")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 8;
		attr.max_entries = 7;
		snprintf(attr.map_name, sizeof(attr.map_name), "trigger_map");
		r = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	} else if (!strcmp(op, "xattr-set")) { /* xattr-set set|lset|fset PATH NAME HEX */
		unsigned char v[512];
		need(argc, 6);
		size_t n = unhex(argv[5], v, sizeof(v));
		if (!strcmp(argv[2], "fset")) {
			int fd = open(argv[3], O_RDONLY);
			r = syscall(SYS_fsetxattr, fd, argv[4], v, n, 0);
		} else {
			r = syscall(!strcmp(argv[2], "lset") ? SYS_lsetxattr : SYS_setxattr, argv[3], argv[4], v, n, 0);
		}
	} else if (!strcmp(op, "xattr-remove")) { /* xattr-remove PATH NAME */
		need(argc, 4);
		r = syscall(SYS_removexattr, argv[2], argv[3]);
	} else if (!strcmp(op, "utimes")) { /* utimes utimensat|now|futimens|utimes|utime PATH SEC */
		need(argc, 5);
		long sec = atol(argv[4]);
		struct timespec ts[2] = {{.tv_sec = sec, .tv_nsec = 5}, {.tv_sec = sec, .tv_nsec = 7}};
		struct timeval tv[2] = {{.tv_sec = sec, .tv_usec = 3}, {.tv_sec = sec, .tv_usec = 4}};
		struct utimbuf ub = {.actime = sec, .modtime = sec};
		if (!strcmp(argv[2], "utimensat")) {
			r = syscall(SYS_utimensat, AT_FDCWD, argv[3], ts, AT_SYMLINK_NOFOLLOW);
		} else if (!strcmp(argv[2], "now")) {
			r = syscall(SYS_utimensat, AT_FDCWD, argv[3], NULL, 0);
		} else if (!strcmp(argv[2], "futimens")) {
			int fd = open(argv[3], O_RDONLY);
			r = syscall(SYS_utimensat, fd, NULL, ts, 0);
		} else if (!strcmp(argv[2], "utimes")) {
			r = syscall(SYS_utimes, argv[3], tv);
		} else {
			r = syscall(SYS_utime, argv[3], &ub);
		}
	} else if (!strcmp(op, "pvm")) { /* pvm write|read: copy 16 bytes into/out of a child's buffer */
		static char buf[64] = "child-buffer";
		int p[2];
		need(argc, 3);
		if (pipe(p))
			return 3;
		pid_t c = fork();
		if (c == 0) {
			char x;
			close(p[1]);
			read(p[0], &x, 1);   /* until the parent is done */
			_exit(0);
		}
		char mine[16] = "injected-bytes!";
		struct iovec l = {.iov_base = mine, .iov_len = 16}, rv = {.iov_base = buf, .iov_len = 16};
		r = syscall(!strcmp(argv[2], "read") ? SYS_process_vm_readv : SYS_process_vm_writev, c, &l, 1, &rv, 1, 0);
		int e = errno;
		close(p[1]);
		waitpid(c, NULL, 0);
		errno = e;
		snprintf(extra, sizeof(extra), "\"target\":%d,\"addr\":\"%p\"", c, (void *)buf);
	} else if (!strcmp(op, "prctl-name")) { /* prctl-name NAME */
		need(argc, 3);
		r = prctl(PR_SET_NAME, argv[2], 0, 0, 0);
	} else if (!strcmp(op, "setsid")) { /* setsid MARKER: a new session, then a file created in it */
		need(argc, 3);
		r = syscall(SYS_setsid);
		close(open(argv[2], O_CREAT | O_WRONLY, 0600));
	} else if (!strcmp(op, "setpgid")) { /* setpgid MARKER: a new process group, then a file created in it */
		need(argc, 3);
		r = syscall(SYS_setpgid, 0, 0);
		close(open(argv[2], O_CREAT | O_WRONLY, 0600));
	} else if (!strcmp(op, "delete-module")) { /* delete-module NAME */
		need(argc, 3);
		r = syscall(SYS_delete_module, argv[2], O_NONBLOCK);
	} else if (!strcmp(op, "init-module")) {
		r = syscall(SYS_init_module, NULL, 0, "param=1");
	} else if (!strcmp(op, "mount")) { /* mount TARGET: tmpfs in a private mount namespace, then umount */
		need(argc, 3);
		if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL))
			return 3;
		r = syscall(SYS_mount, "trigger-src", argv[2], "tmpfs", MS_NOSUID, "size=1m");
		long u = syscall(SYS_umount2, argv[2], 0);
		snprintf(extra, sizeof(extra), "\"umount\":%ld", u);
	} else if (!strcmp(op, "memfd")) {
		need(argc, 3);
		r = syscall(SYS_memfd_create, argv[2], MFD_CLOEXEC);
	} else if (!strcmp(op, "unshare")) {
		r = syscall(SYS_unshare, CLONE_NEWUTS | CLONE_NEWNS);
	} else if (!strcmp(op, "setns")) { /* setns to our own mount namespace */
		int fd = open("/proc/self/ns/mnt", O_RDONLY);
		r = syscall(SYS_setns, fd, CLONE_NEWNS);
	} else if (!strcmp(op, "capset")) { /* drop CAP_SYS_MODULE from all sets */
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[0].effective &= ~(1u << CAP_SYS_MODULE);
		d[0].permitted &= ~(1u << CAP_SYS_MODULE);
		d[0].inheritable = 0;
		d[1].inheritable = 0;
		r = syscall(SYS_capset, &h, d);
	} else if (!strcmp(op, "tcp4") || !strcmp(op, "tcp6")) { /* listen, connect, accept on loopback */
		int v6 = op[3] == '6';
		int ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		struct sockaddr_storage ss;
		socklen_t sl;
		memset(&ss, 0, sizeof(ss));
		if (v6) {
			struct sockaddr_in6 *a = (void *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_addr = in6addr_loopback;
			sl = sizeof(*a);
		} else {
			struct sockaddr_in *a = (void *)&ss;
			a->sin_family = AF_INET;
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sl = sizeof(*a);
		}
		syscall(SYS_bind, ls, &ss, sl);
		syscall(SYS_listen, ls, 5);
		getsockname(ls, (void *)&ss, &sl);
		int port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
		int cs = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		r = syscall(SYS_connect, cs, &ss, sl);
		struct sockaddr_storage cl;
		socklen_t cll = sizeof(cl);
		getsockname(cs, (void *)&cl, &cll);
		int cport = ntohs(v6 ? ((struct sockaddr_in6 *)&cl)->sin6_port : ((struct sockaddr_in *)&cl)->sin_port);
		int as = syscall(SYS_accept4, ls, NULL, NULL, SOCK_CLOEXEC);
		snprintf(extra, sizeof(extra), "\"port\":%d,\"client_port\":%d,\"accepted\":%d,\"listen_fd\":%d,\"client_fd\":%d", port, cport,
			 as, ls, cs);
	} else if (!strcmp(op, "unix")) { /* unix PATH: bind+listen, connect, accept */
		need(argc, 3);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		unlink(argv[2]);
		int ls = socket(AF_UNIX, SOCK_STREAM, 0);
		syscall(SYS_bind, ls, &a, sizeof(a));
		syscall(SYS_listen, ls, 5);
		int cs = socket(AF_UNIX, SOCK_STREAM, 0);
		r = syscall(SYS_connect, cs, &a, sizeof(a));
		int as = syscall(SYS_accept, ls, NULL, NULL);
		snprintf(extra, sizeof(extra), "\"accepted\":%d", as);
		unlink(argv[2]);
	} else if (!strcmp(op, "drop-exec")) {
		/* drop-exec PATH [noconnect]: connect to a loopback listener (unless noconnect), then write a copy of
		 * /bin/true to PATH, chmod it 0755 and run it in a child: the dropper pattern. */
		need(argc, 3);
		int connected = -1;
		if (argc < 4 || strcmp(argv[3], "noconnect")) {
			int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			socklen_t al = sizeof(a);
			bind(l, (struct sockaddr *)&a, sizeof(a));
			listen(l, 4);
			getsockname(l, (struct sockaddr *)&a, &al);
			connected = connect(c, (struct sockaddr *)&a, sizeof(a));
			close(c);
			close(l);
		}
		char buf[65536];
		int in = open("/bin/true", O_RDONLY), o = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(o, buf, n) != n)
				break;
		close(in);
		close(o);
		chmod(argv[2], 0755);
		pid_t c = fork();
		if (c == 0) {
			execl(argv[2], argv[2], (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(c, &st, 0);
		r = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		snprintf(extra, sizeof(extra), "\"child\":%d,\"connected\":%d", c, connected);
	} else if (!strcmp(op, "connect-refused")) { /* connect to a closed loopback port */
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int cs = socket(AF_INET, SOCK_STREAM, 0);
		r = syscall(SYS_connect, cs, &a, sizeof(a));
	} else if (!strcmp(op, "execve-fail")) { /* execve a missing file */
		need(argc, 3);
		char *args[] = {argv[2], "--marker", NULL};
		r = syscall(SYS_execve, argv[2], args, environ);
	} else if (!strcmp(op, "fork-exit")) { /* fork a child that exits with CODE */
		need(argc, 3);
		pid_t c = fork();
		if (c == 0)
			_exit(atoi(argv[2]));
		int st;
		waitpid(c, &st, 0);
		snprintf(extra, sizeof(extra), "\"child\":%d", c);
		r = 0;
	} else if (!strncmp(op, "iou-", 4)) {
		/* iou-<op> ARGS... [sqpoll]: the operation submitted through an io_uring ring.
		 *   iou-openat PATH FLAGS | iou-openat-dir DIR NAME FLAGS | iou-openat2 PATH FLAGS | iou-unlinkat PATH
		 *   iou-renameat OLD NEW | iou-mkdirat PATH | iou-symlinkat TARGET LINK | iou-linkat OLD NEW | iou-nop */
		struct io_uring_sqe sqe;
		struct open_how how;
		int sqpoll = !strcmp(argv[argc - 1], "sqpoll"), ring = -1, dirfd = AT_FDCWD;
		memset(&sqe, 0, sizeof(sqe));
		memset(&how, 0, sizeof(how));
		sqe.fd = AT_FDCWD;
		if (!strcmp(op, "iou-openat")) {
			need(argc, 4);
			sqe.opcode = IORING_OP_OPENAT;
			sqe.addr = (unsigned long)argv[2];
			sqe.open_flags = (int)strtol(argv[3], NULL, 8);
			sqe.len = 0644;
		} else if (!strcmp(op, "iou-openat-dir")) {
			need(argc, 5);
			dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
			sqe.opcode = IORING_OP_OPENAT;
			sqe.fd = dirfd;
			sqe.addr = (unsigned long)argv[3];
			sqe.open_flags = (int)strtol(argv[4], NULL, 8);
			sqe.len = 0644;
		} else if (!strcmp(op, "iou-openat2")) {
			need(argc, 4);
			how.flags = (unsigned long long)strtol(argv[3], NULL, 8);
			if (how.flags & O_CREAT)
				how.mode = 0600;
			sqe.opcode = IORING_OP_OPENAT2;
			sqe.addr = (unsigned long)argv[2];
			sqe.addr2 = (unsigned long)&how;
			sqe.len = sizeof(how);
		} else if (!strcmp(op, "iou-unlinkat")) {
			need(argc, 3);
			sqe.opcode = IORING_OP_UNLINKAT;
			sqe.addr = (unsigned long)argv[2];
		} else if (!strcmp(op, "iou-renameat")) {
			need(argc, 4);
			sqe.opcode = IORING_OP_RENAMEAT;
			sqe.addr = (unsigned long)argv[2];
			sqe.len = AT_FDCWD;
			sqe.addr2 = (unsigned long)argv[3];
		} else if (!strcmp(op, "iou-mkdirat")) {
			need(argc, 3);
			sqe.opcode = IORING_OP_MKDIRAT;
			sqe.addr = (unsigned long)argv[2];
			sqe.len = 0755;
		} else if (!strcmp(op, "iou-symlinkat")) {
			need(argc, 4);
			sqe.opcode = IORING_OP_SYMLINKAT;
			sqe.addr = (unsigned long)argv[2];
			sqe.addr2 = (unsigned long)argv[3];
		} else if (!strcmp(op, "iou-linkat")) {
			need(argc, 4);
			sqe.opcode = IORING_OP_LINKAT;
			sqe.addr = (unsigned long)argv[2];
			sqe.len = AT_FDCWD;
			sqe.addr2 = (unsigned long)argv[3];
		} else if (!strcmp(op, "iou-write")) {
			/* iou-write PATH COUNT write|writev|fixed [wait] [sqpoll]: open PATH for writing (O_CREAT|O_TRUNC, 0755),
			 * then COUNT writes of one line through one ring */
			need(argc, 5);
			static char line[] = "written through a ring\n";
			static struct iovec iov = {.iov_base = line, .iov_len = sizeof(line) - 1};
			int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0755), n = atoi(argv[3]);
			if (!strcmp(argv[argc - 1], "wait") || (argc > 6 && !strcmp(argv[argc - 2], "wait"))) {
				/* ... wait: say "opened", then write only once a byte arrives on stdin */
				char go;
				printf("opened\n");
				fflush(stdout);
				if (read(0, &go, 1) != 1)
					return 3;
			}
			sqe.fd = fd;
			sqe.off = (__u64)-1;
			if (!strcmp(argv[4], "writev")) {
				sqe.opcode = IORING_OP_WRITEV;
				sqe.addr = (unsigned long)&iov;
				sqe.len = 1;
			} else {
				sqe.opcode = !strcmp(argv[4], "fixed") ? IORING_OP_WRITE_FIXED : IORING_OP_WRITE;
				sqe.addr = (unsigned long)line;
				sqe.len = sizeof(line) - 1;
			}
			r = iou_run_n(&sqe, n, sqpoll, &ring);
			snprintf(extra, sizeof(extra), "\"ring\":%d,\"fd\":%d,\"sqpoll\":%d", ring, fd, sqpoll);
			out(op, r, extra);
			return 0;
		} else if (!strcmp(op, "iou-setxattr") || !strcmp(op, "iou-fsetxattr")) {
			/* iou-setxattr PATH NAME HEX | iou-fsetxattr PATH NAME HEX */
			static unsigned char v[512];
			need(argc, 5);
			sqe.len = unhex(argv[4], v, sizeof(v));
			sqe.addr = (unsigned long)argv[3];
			sqe.addr2 = (unsigned long)v;
			if (!strcmp(op, "iou-setxattr")) {
				sqe.opcode = IORING_OP_SETXATTR;
				sqe.addr3 = (unsigned long)argv[2];
			} else {
				sqe.opcode = IORING_OP_FSETXATTR;
				dirfd = open(argv[2], O_RDONLY);
				sqe.fd = dirfd;
			}
		} else if (!strcmp(op, "iou-tcp")) {
			/* iou-tcp [sqpoll]: connect to a loopback listener through a ring, then accept through another */
			int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			socklen_t al = sizeof(a);
			bind(l, (struct sockaddr *)&a, sizeof(a));
			listen(l, 4);
			getsockname(l, (struct sockaddr *)&a, &al);
			sqe.opcode = IORING_OP_CONNECT;
			sqe.fd = c;
			sqe.addr = (unsigned long)&a;
			sqe.off = sizeof(a);
			long cr = iou_run(&sqe, sqpoll, &ring);
			struct sockaddr_in me;
			socklen_t ml = sizeof(me);
			getsockname(c, (struct sockaddr *)&me, &ml);
			memset(&sqe, 0, sizeof(sqe));
			sqe.opcode = IORING_OP_ACCEPT;
			sqe.fd = l;
			int ring2 = -1;
			r = iou_run(&sqe, sqpoll, &ring2);
			snprintf(extra, sizeof(extra), "\"connect_ret\":%ld,\"listen_fd\":%d,\"client_fd\":%d,\"port\":%d,\"client_port\":%d,\"sqpoll\":%d", cr, l, c,
				 ntohs(a.sin_port), ntohs(me.sin_port), sqpoll);
			out(op, r, extra);
			return 0;
		} else {
			sqe.opcode = IORING_OP_NOP;
		}
		r = iou_run(&sqe, sqpoll, &ring);
		if (r < 0) {
			errno = (int)-r;
			if (ring < 0)
				r = -1;
		}
		snprintf(extra, sizeof(extra), "\"ring\":%d,\"dirfd\":%d,\"sqpoll\":%d", ring, dirfd, sqpoll);
	} else if (!strcmp(op, "sleep")) {
		need(argc, 3);
		usleep(atoi(argv[2]) * 1000);
		r = 0;
	} else {
		fprintf(stderr, "trigger: unknown op %s\n", op);
		return 2;
	}
	out(op, r, extra);
	return 0;
}
