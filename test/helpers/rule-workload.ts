/**
 * A simulated host for rule tests and benchmarks: processes are born by exec
 * records and act through kernel records built as the BPF side lays them out
 * (record-builder), decoded by the real decoder and completed by the real
 * enricher — the events the rule engine sees live.
 */
import { decodeRecord, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { Enricher } from '../../src/enrich/enrich.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord, sockaddrBlob } from './record-builder.js';

export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_CLOEXEC = 0o2000000;

/** A host whose processes are born by exec records, so enrich knows their executables and parents. */
export class Host {
  private readonly ctx: DecodeContext = { bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'feedface', sequence: 0 };
  private readonly enricher = new Enricher({ hostId: 'test-host', seedFromProc: false, resolveContainers: false, resolveNames: false });
  private readonly procs = new Map<number, { ppid: number; start: bigint; comm: string; uid: number }>();
  private clock = 1_000_000_000n;
  readonly events: SensorEvent[] = [];

  /** Any record of this process (the other methods are shorthands). */
  rec(type: number, pid: number, spec: { ret?: number; args?: Array<number | bigint>; strs?: Array<string | Buffer | null>; flags?: number }): SensorEvent {
    const p = this.procs.get(pid)!;
    const parent = this.procs.get(p.ppid);
    this.clock += 1000n;
    const buf = buildRecord({
      type,
      pid,
      ppid: p.ppid,
      startNs: p.start,
      parentStartNs: parent?.start ?? 1n,
      comm: p.comm,
      uid: p.uid,
      // A user's processes belong to their login session; root's here are daemons (no session).
      loginuid: p.uid === 0 ? 4294967295 : p.uid,
      tsNs: this.clock,
      ...spec,
    });
    const ev = decodeRecord(buf, 0, buf.length, this.ctx);
    this.enricher.enrich(ev);
    this.events.push(ev);
    return ev;
  }

  /** fork + exec: pid runs exe with args, child of ppid. */
  exec(pid: number, ppid: number, exe: string, args: string[], cwd = '/root', uid = 0, filename = exe): SensorEvent {
    this.procs.set(pid, { ppid, start: BigInt(pid) * 1_000_000_000n, comm: exe.slice(exe.lastIndexOf('/') + 1).slice(0, 15), uid });
    return this.rec(EventType.SE_EV_EXEC, pid, {
      args: [args.length, pid, 1000 + pid, 0, uid, Syscall.SE_SC_EXECVE],
      strs: [filename, `${args.join('\0')}\0`, cwd, exe],
    });
  }

  open(pid: number, path: string, flags: number, ret = 3): SensorEvent {
    return this.rec(EventType.SE_EV_OPEN, pid, { ret, args: [-100, flags, 0o644, 77, 0, Syscall.SE_SC_OPENAT], strs: [ret >= 0 ? path : null, path, '/'] });
  }

  rename(pid: number, from: string, to: string): SensorEvent {
    return this.rec(EventType.SE_EV_RENAME, pid, { args: [-100, -100, 0, 0, 0, Syscall.SE_SC_RENAMEAT2], strs: [from, to, '/', '/'] });
  }

  symlink(pid: number, target: string, link: string): SensorEvent {
    return this.rec(EventType.SE_EV_SYMLINK, pid, { args: [-100, 0, 0, 0, 0, Syscall.SE_SC_SYMLINKAT], strs: [target, link, null, '/'] });
  }

  chmod(pid: number, path: string, mode: number): SensorEvent {
    return this.rec(EventType.SE_EV_CHMOD, pid, { args: [-100, mode, 0, 0, 0, Syscall.SE_SC_FCHMODAT], strs: [path, '/'], flags: 8 });
  }

  unlink(pid: number, path: string): SensorEvent {
    return this.rec(EventType.SE_EV_UNLINK, pid, { args: [-100, 0, 0, 0, 0, Syscall.SE_SC_UNLINKAT], strs: [path, '/'] });
  }

  connect(pid: number, ip: [number, number, number, number], port: number): SensorEvent {
    return this.rec(EventType.SE_EV_CONNECT, pid, { args: [3, 1, 6], strs: [sockaddrBlob(2, port, ip), sockaddrBlob(2, 40000, [127, 0, 0, 1])] });
  }

  setuid(pid: number, ids: number[]): SensorEvent {
    return this.rec(EventType.SE_EV_SETUID, pid, { args: [...ids, 0, 0, 0, Syscall.SE_SC_SETRESUID].slice(0, 6), strs: [] });
  }

  /** Processes started so far (pid → parent). */
  has(pid: number): boolean {
    return this.procs.has(pid);
  }

  /** A process that existed before the test (init, a login shell). */
  seed(pid: number, ppid: number, exe: string, args: string[]): void {
    this.exec(pid, ppid, exe, args);
    this.events.length = 0;
  }
}

