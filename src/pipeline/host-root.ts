/**
 * Container mode: where the host's root file system is. Takes the configured
 * value (--host-root / host.root) and what this process can see of its
 * environment; gives the directory under which the host's /etc lives ('/'
 * when the sensor runs on the host itself). Enrichment and host facts read
 * users, groups, os-release, machine-id and hostname under it, so that a
 * sensor in a container reports the host, not its image.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_CONTAINER_HOST_ROOT = '/host';

export interface HostRootProbe {
  exists(path: string): boolean;
  env: NodeJS.ProcessEnv;
}

const realProbe: HostRootProbe = { exists: existsSync, env: process.env };

/** Does this process run in a container (Docker, Podman, Kubernetes, systemd-nspawn…)? */
export function inContainer(probe: HostRootProbe = realProbe): boolean {
  return (
    probe.exists('/.dockerenv') ||
    probe.exists('/run/.containerenv') ||
    probe.env.container !== undefined ||
    probe.env.KUBERNETES_SERVICE_HOST !== undefined
  );
}

/** The host root: the configured one, else /host in a container where it exists, else '/'. */
export function resolveHostRoot(configured: string | undefined, probe: HostRootProbe = realProbe): string {
  if (configured !== undefined) return configured;
  if (inContainer(probe) && probe.exists(join(DEFAULT_CONTAINER_HOST_ROOT, 'etc'))) return DEFAULT_CONTAINER_HOST_ROOT;
  return '/';
}

/** A host path (absolute, e.g. /etc/passwd) under the host root. */
export function hostPath(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}
