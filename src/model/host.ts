/**
 * What the normalizers say about the machine and the sensor itself.
 *
 * Takes: nothing (types only). Gives: HostInfo (collected once at start-up,
 * src/pipeline/host-info.ts) and AgentInfo, the ECS host.* and agent.*.
 */

/** Host facts the normalizers need (collected once at start-up). */
export interface HostInfo {
  name: string;
  hostname: string;
  id: string;
  ip: string[];
  mac?: string[];
  architecture: string;
  os: { type: 'linux'; family?: string; name?: string; version?: string; kernel: string; platform?: string };
  boot_id: string;
}

export interface AgentInfo {
  name: string;
  type: 'ebpf-sensor';
  version: string;
  id: string;
}
