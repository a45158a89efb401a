/**
 * This process as the kernel's records describe it, for the benchmarks that
 * build fork-storm records of their own children (pipeline-storm.ts,
 * front.ts). Takes: /proc/self/stat and /proc/uptime. Gives: pid, parent,
 * session, process group, start and the boot clock now, in nanoseconds.
 */
import { readFileSync } from 'node:fs';

export interface SelfTask {
  pid: number;
  ppid: number;
  sid: number;
  pgid: number;
  /** Start time on the boot clock (from the stat's clock ticks). */
  startNs: bigint;
  /** The boot clock now. */
  uptimeNs: bigint;
}

export function selfTask(): SelfTask {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    pid: process.pid,
    ppid: Number(f[1]),
    sid: Number(f[3]),
    pgid: Number(f[2]),
    startNs: BigInt(f[19]!) * 10_000_000n,
    uptimeNs: BigInt(Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e9)),
  };
}
