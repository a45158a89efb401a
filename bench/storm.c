// SPDX-License-Identifier: Apache-2.0
/*
 * storm: a syscall storm that times itself.
 *   storm open PATH N     N x (openat(PATH, O_RDONLY) + close)
 *   storm exec N          N x (posix_spawn /bin/true + waitpid)
 *   storm fork N          N x (fork + _exit(0) in the child + waitpid)
 *   storm write DIR N     N x (open(DIR/f<i%64>, O_WRONLY|O_CREAT) + write 64 bytes + close)
 * Prints one JSON line: {"op":..., "n":N, "ns_per_op":...}
 */
#define _GNU_SOURCE
#include <fcntl.h>
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
