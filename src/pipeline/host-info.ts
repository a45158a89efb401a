/**
 * Host and agent facts for the normalizers, collected once at start-up.
 *
 * Takes: the machine (or a host root mounted into a container: host-root.ts),
 * an optional host name override. Gives: HostInfo (ECS host.*: names, id,
 * addresses, OS, boot id) and AgentInfo (agent.*: the sensor and its version).
 */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces, release, arch } from 'node:os';
import { createHash } from 'node:crypto';
import type { AgentInfo, HostInfo } from '../model/event.js';
import { SENSOR_VERSION } from './version.js';
import { hostPath } from './host-root.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function osRelease(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const text = read(hostPath(root, '/etc/os-release')) ?? read(hostPath(root, '/usr/lib/os-release')) ?? '';
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l' };

/**
 * `hostRoot`: where the host's files are (container mode, host-root.ts):
 * os-release, machine-id and the host name come from there; the kernel
 * release and boot id are the same inside and outside a container.
 */
export function collectHostInfo(nameOverride?: string, hostRoot = '/'): HostInfo {
  const osr = osRelease(hostRoot);
  const ips: string[] = [];
  const macs: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      ips.push(a.address);
      if (a.mac && a.mac !== '00:00:00:00:00:00') macs.push(a.mac.toUpperCase().replace(/:/g, '-'));
    }
  }
  const hostName = (hostRoot !== '/' ? read(hostPath(hostRoot, '/etc/hostname')) : undefined) || hostname();
  const name = nameOverride ?? hostName;
  const os: HostInfo['os'] = { type: 'linux', kernel: release() };
  if (osr.ID_LIKE ?? osr.ID) os.family = (osr.ID_LIKE ?? osr.ID)!.split(' ')[0]!;
  if (osr.NAME) os.name = osr.NAME;
  if (osr.VERSION_ID) os.version = osr.VERSION_ID;
  if (osr.ID) os.platform = osr.ID;
  return {
    name,
    hostname: hostName,
    id: read(hostPath(hostRoot, '/etc/machine-id')) ?? read(hostPath(hostRoot, '/var/lib/dbus/machine-id')) ?? createHash('sha256').update(name).digest('hex').slice(0, 32),
    ip: [...new Set(ips)].sort(),
    mac: [...new Set(macs)].sort(),
    architecture: ARCH[arch()] ?? arch(),
    os,
    boot_id: read('/proc/sys/kernel/random/boot_id') ?? '00000000-0000-0000-0000-000000000000',
  };
}

export function agentInfo(host: HostInfo): AgentInfo {
  return {
    name: host.name,
    type: 'ebpf-sensor',
    version: SENSOR_VERSION,
    id: createHash('sha256').update(`ebpf-sensor:${host.id}`).digest('hex').slice(0, 32),
  };
}
