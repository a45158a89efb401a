/**
 * cgroup v2 ids for the kernel's ignore_cgroup map.
 *
 * Takes: a cgroup path as /proc/PID/cgroup's 0:: line writes it. Gives: the
 * id bpf_get_current_cgroup_id() returns for its processes (the cgroup
 * directory's inode number), found under the cgroup2 mount.
 */
import { readFileSync, statSync } from 'node:fs';

/** Where cgroup v2 is mounted (the unified hierarchy), from /proc/self/mountinfo. */
export function cgroup2Root(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0 || !line.slice(sep + 3).startsWith('cgroup2 ')) continue;
      return line.split(' ')[4]!.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    }
  } catch {
    /* no /proc */
  }
  return undefined;
}

/** The cgroup v2 id of a cgroup path (its directory's inode number), undefined when it does not exist. */
export function cgroupId(path: string, root = cgroup2Root()): bigint | undefined {
  if (root === undefined) return undefined;
  try {
    const st = statSync(`${root.replace(/\/$/, '')}${path === '/' ? '' : path}`, { bigint: true });
    return st.isDirectory() ? st.ino : undefined;
  } catch {
    return undefined;
  }
}
