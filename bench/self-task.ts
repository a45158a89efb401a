/**
 * This process as the kernel's records describe it, for the benchmarks that
 * build fork-storm records of their own children (pipeline-storm.ts,
 * front.ts). Takes: /proc/self/stat and /proc/uptime. Gives: pid, parent,
 * session, process group, start and the boot clock now, in nanoseconds; and
 * `asRootTask`, which makes a built record's task root with every capability.
 */
import { readFileSync } from 'node:fs';
import { OFFSETOF } from '../src/decode/abi.generated.js';

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

const T = OFFSETOF.se_hdr.task;
const K = OFFSETOF.se_task;
const ALL_CAPS = 0x1ffffffffffn;

/** `rec` (a built record) with a root task's every capability, session `sid`, group `pgid`, no login. */
export function asRootTask(rec: Buffer, sid: number, pgid: number): Buffer {
  rec.writeBigUInt64LE(ALL_CAPS, T + K.cap_effective);
  rec.writeBigUInt64LE(ALL_CAPS, T + K.cap_permitted);
  rec.writeUInt32LE(sid, T + K.sid);
  rec.writeUInt32LE(pgid, T + K.pgid);
  rec.writeUInt32LE(0xffffffff, T + K.loginuid);
  rec.writeUInt32LE(0xffffffff, T + K.sessionid);
  return rec;
}
