/**
 * Kubernetes pods of containers, from the node's own files: no API server,
 * no kubelet API, no service-account token.
 *
 * Takes: a container's cgroup path and id (containers.ts). Gives: the pod's
 * uid (from the cgroup path: the kubelet names every pod's cgroup after its
 * uid, `kubepods-<qos>-pod<uid>.slice` with the systemd cgroup driver,
 * `/kubepods/<qos>/pod<uid>/` with cgroupfs), and, where the node's log
 * directories are readable (the host root, container mode), the pod's name
 * and namespace and the container's name: the kubelet creates
 * `/var/log/pods/<namespace>_<pod>_<uid>/` for every pod and the symlink
 * `/var/log/containers/<pod>_<namespace>_<container>-<container id>.log` for
 * every container (the CRI log layout every runtime writes to). Pod labels are
 * not in those files: they come from the API server when configured (pod-api.ts).
 * Directory listings are re-read only when an unknown uid or id is asked for,
 * and misses are remembered (bounded), so the cost is per new pod, not per event.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The pod a container belongs to, as far as the node's files tell. */
export interface PodRef {
  uid: string;
  name?: string;
  namespace?: string;
  /** The container's name in the pod spec. */
  container?: string;
}

// pod<uid>: the uid's dashes are underscores in systemd slice names. "kubepods" is not required:
// seen from a pod's own cgroup namespace (the sensor's, in a DaemonSet) another pod's path is
// relative, e.g. /../../burstable/pod<uid>/<id> with the cgroupfs driver.
const POD_UID = /(?:^|[/-])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?(?:\/|$)/;

/** The pod uid in a kubelet-made cgroup path, if any. */
export function podUidFromCgroupPath(path: string): string | undefined {
  const m = POD_UID.exec(path);
  return m ? m[1]!.replace(/_/g, '-') : undefined;
}

// <namespace>_<pod>_<uid>: namespaces and pod names are DNS labels/subdomains (no '_').
const POD_DIR = /^([a-z0-9-]+)_([a-z0-9.-]+)_([0-9a-f-]{36})$/;
// <pod>_<namespace>_<container>-<64 hex>.log
const CONTAINER_LINK = /^([a-z0-9.-]+)_([a-z0-9-]+)_([a-z0-9-]+)-([0-9a-f]{64})\.log$/;

export class PodResolver {
  private pods = new Map<string, { name: string; namespace: string }>();
  private containers = new Map<string, string>();
  private readonly misses = new Set<string>();

  /** `logRoot`: the node's /var/log (under the host root in container mode). */
  constructor(
    private readonly logRoot = '/var/log',
    private readonly maxMisses = 4096,
  ) {}

  /** The pod of the container whose cgroup path and id are given, when the path is a pod's. */
  lookup(cgroupPath: string, containerId: string | undefined): PodRef | undefined {
    const uid = podUidFromCgroupPath(cgroupPath);
    if (!uid) return undefined;
    let pod = this.pods.get(uid);
    if (!pod && this.firstMiss(`pod:${uid}`)) {
      this.pods = this.listPods();
      pod = this.pods.get(uid);
    }
    const ref: PodRef = { uid };
    if (pod) {
      ref.name = pod.name;
      ref.namespace = pod.namespace;
    }
    if (containerId) {
      let name = this.containers.get(containerId);
      if (name === undefined && this.firstMiss(`ctr:${containerId}`)) {
        this.containers = this.listContainers();
        name = this.containers.get(containerId);
      }
      if (name !== undefined) ref.container = name;
    }
    return ref;
  }

  private firstMiss(key: string): boolean {
    if (this.misses.has(key)) return false;
    if (this.misses.size >= this.maxMisses) this.misses.clear();
    this.misses.add(key);
    return true;
  }

  private listPods(): Map<string, { name: string; namespace: string }> {
    const out = new Map<string, { name: string; namespace: string }>();
    for (const e of list(join(this.logRoot, 'pods'))) {
      const m = POD_DIR.exec(e);
      if (m) out.set(m[3]!, { namespace: m[1]!, name: m[2]! });
    }
    return out;
  }

  private listContainers(): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of list(join(this.logRoot, 'containers'))) {
      const m = CONTAINER_LINK.exec(e);
      if (m) out.set(m[4]!, m[3]!);
    }
    return out;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // not a Kubernetes node, or the host root is not mounted: only the uid is known
  }
}
