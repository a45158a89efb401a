/**
 * Container ids from cgroup paths. The kernel gives each event a cgroup v2 id;
 * the first time an id is seen, the acting process's /proc/<pid>/cgroup names
 * the path, and the container runtimes write the container id into it
 * (docker-<id>.scope, /docker/<id>, cri-containerd-<id>.scope, crio-<id>,
 * libpod-<id>, /kubepods/.../<id>). Cached per cgroup id, bounded; with a
 * PodResolver, a Kubernetes pod's cgroup also gives the pod (pods.ts), once per cgroup.
 */
import { readFileSync } from 'node:fs';
import type { PodRef, PodResolver } from './pods.js';

const ID_PATTERNS: Array<[RegExp, string]> = [
  [/docker-([0-9a-f]{64})\.scope/, 'docker'],
  [/\/docker\/([0-9a-f]{64})/, 'docker'],
  [/cri-containerd-([0-9a-f]{64})\.scope/, 'containerd'],
  [/crio-(?:conmon-)?([0-9a-f]{64})/, 'cri-o'],
  [/libpod-(?:conmon-)?([0-9a-f]{64})/, 'podman'],
  [/\/kubepods[^\s]*\/([0-9a-f]{64})$/, 'containerd'],
  // cgroupfs driver seen from another pod's cgroup namespace: /../../burstable/pod<uid>/<id>
  [/\/pod[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/([0-9a-f]{64})$/, 'containerd'],
  [/\/lxc(?:\.payload)?[./]([^/\s]+)/, 'lxc'],
];

export interface ContainerRef {
  id: string;
  runtime: string;
}

/** The container named by a cgroup path, if any. */
export function containerFromCgroupPath(path: string): ContainerRef | undefined {
  for (const [re, runtime] of ID_PATTERNS) {
    const m = re.exec(path);
    if (m) return { id: m[1]!, runtime };
  }
  return undefined;
}

export interface CgroupEntry {
  path: string;
  container: ContainerRef | undefined;
  pod?: PodRef;
}

export class ContainerResolver {
  private readonly cache = new Map<string, CgroupEntry>();

  constructor(
    private readonly procRoot = '/proc',
    private readonly max = 16384,
    private readonly pods?: PodResolver,
  ) {}

  /** Resolve by cgroup id, reading /proc/<pid>/cgroup on the first sight of the id. */
  lookup(cgroupId: string, pid: number): CgroupEntry | undefined {
    const hit = this.cache.get(cgroupId);
    if (hit) return hit;
    let path = '';
    try {
      const text = readFileSync(`${this.procRoot}/${pid}/cgroup`, 'utf8');
      // Prefer the unified (v2) hierarchy line "0::/path"; fall back to any line.
      const lines = text.split('\n').filter(Boolean);
      const v2 = lines.find((l) => l.startsWith('0::'));
      path = (v2 ?? lines[0] ?? '').split(':').slice(2).join(':');
    } catch {
      return undefined; // process gone: try again with the next event of this cgroup
    }
    const entry: CgroupEntry = { path, container: containerFromCgroupPath(path) };
    const pod = this.pods?.lookup(path, entry.container?.id);
    if (pod) entry.pod = pod;
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(cgroupId, entry);
    return entry;
  }
}
