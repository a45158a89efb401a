/**
 * Builds kernel record frames the way the BPF side lays them out (offsets
 * from the generated ABI), so decode can be tested without a kernel.
 */
import { OFFSETOF, SIZEOF, AbiConsts, StrFlags, EventType, ProvFlags } from '../../src/decode/abi.generated.js';

/** An exec record's provenance (struct se_exec_ext). */
export interface ProvenanceSpec {
  writeNs: bigint;
  startNs: bigint;
  pid: number;
  uid: number;
  /** enum se_prov_flags; SE_PROV_KNOWN is added. */
  flags: number;
  comm: string;
  exe?: string;
}

export interface RecordSpec {
  type: number;
  tsNs?: bigint;
  cpu?: number;
  flags?: number;
  pid?: number;
  tid?: number;
  ppid?: number;
  uid?: number;
  euid?: number;
  gid?: number;
  egid?: number;
  startNs?: bigint;
  parentStartNs?: bigint;
  comm?: string;
  loginuid?: number;
  tty?: number;
  ret?: number | bigint;
  args?: Array<number | bigint>;
  /** Up to four strings (Buffer for raw bytes); null leaves the slot absent. */
  strs?: Array<string | Buffer | null | { data: string | Buffer; flags: number }>;
  abi?: number;
  /** Exec records: the writer of the executed file (struct se_exec_ext, zero when absent). */
  provenance?: ProvenanceSpec;
  /** Exec records: the captured environment (struct se_exec_ext), NAME=value strings; absent when undefined. */
  env?: { vars: string[]; count?: number; flags?: number };
}

export function buildRecord(s: RecordSpec): Buffer {
  const parts: Array<{ slot: number; bytes: Buffer; flags: number }> = [];
  (s.strs ?? []).forEach((v, slot) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'object' && !Buffer.isBuffer(v)) {
      parts.push({ slot, bytes: Buffer.isBuffer(v.data) ? v.data : Buffer.from(v.data, 'utf8'), flags: v.flags });
    } else {
      parts.push({ slot, bytes: Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'), flags: 0 });
    }
  });
  // Exec records carry struct se_exec_ext before their strings; the writer's executable and the environment are the last strings.
  const ext = s.type === EventType.SE_EV_EXEC ? SIZEOF.se_exec_ext : 0;
  const exe = s.provenance?.exe !== undefined ? Buffer.from(s.provenance.exe, 'utf8') : undefined;
  const env = s.env ? Buffer.concat(s.env.vars.map((v) => Buffer.from(`${v}\0`, 'utf8'))) : undefined;
  const size = SIZEOF.se_event + ext + parts.reduce((a, p) => a + p.bytes.length, 0) + (exe?.length ?? 0) + (env?.length ?? 0);
  const b = Buffer.alloc(size);
  const H = OFFSETOF.se_hdr;
  const T = H.task;
  const K = OFFSETOF.se_task;
  b.writeUInt16LE(s.type, H.type);
  b.writeUInt16LE(s.abi ?? AbiConsts.SE_ABI_VERSION, H.abi);
  b.writeUInt32LE(size, H.size);
  b.writeBigUInt64LE(s.tsNs ?? 1_000_000_000n, H.ts_ns);
  b.writeUInt32LE(s.cpu ?? 0, H.cpu);
  b.writeUInt32LE(s.flags ?? 0, H.flags);
  b.writeBigUInt64LE(s.startNs ?? 500_000_000n, T + K.start_ns);
  b.writeBigUInt64LE(s.parentStartNs ?? 100_000_000n, T + K.parent_start_ns);
  b.writeUInt32LE(s.pid ?? 100, T + K.pid);
  b.writeUInt32LE(s.tid ?? s.pid ?? 100, T + K.tid);
  b.writeUInt32LE(s.ppid ?? 1, T + K.ppid);
  b.writeUInt32LE(s.uid ?? 1000, T + K.uid);
  b.writeUInt32LE(s.gid ?? 1000, T + K.gid);
  b.writeUInt32LE(s.euid ?? s.uid ?? 1000, T + K.euid);
  b.writeUInt32LE(s.egid ?? s.gid ?? 1000, T + K.egid);
  b.writeUInt32LE(s.uid ?? 1000, T + K.suid);
  b.writeUInt32LE(s.gid ?? 1000, T + K.sgid);
  b.writeUInt32LE(s.uid ?? 1000, T + K.fsuid);
  b.writeUInt32LE(s.gid ?? 1000, T + K.fsgid);
  b.writeUInt32LE(s.loginuid ?? 4294967295, T + K.loginuid);
  b.writeUInt32LE(s.tty ?? 0, T + K.tty);
  b.write((s.comm ?? 'test').slice(0, 15), T + K.comm, 'latin1');
  b.writeBigInt64LE(BigInt(s.ret ?? 0), OFFSETOF.se_event.ret);
  (s.args ?? []).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), OFFSETOF.se_event.args + i * 8));
  let pos = SIZEOF.se_event + ext;
  for (const p of parts) {
    const o = OFFSETOF.se_event.str + p.slot * SIZEOF.se_str;
    b.writeUInt16LE(pos, o + OFFSETOF.se_str.off);
    b.writeUInt16LE(p.bytes.length, o + OFFSETOF.se_str.len);
    b.writeUInt16LE(p.flags | StrFlags.SE_STR_PRESENT, o + OFFSETOF.se_str.flags);
    p.bytes.copy(b, pos);
    pos += p.bytes.length;
  }
  if (ext && s.provenance) {
    const X = SIZEOF.se_event;
    const XO = OFFSETOF.se_exec_ext;
    const pv = s.provenance;
    b.writeBigUInt64LE(pv.writeNs, X + XO.prov_write_ns);
    b.writeBigUInt64LE(pv.startNs, X + XO.prov_start_ns);
    b.writeUInt32LE(pv.pid, X + XO.prov_pid);
    b.writeUInt32LE(pv.uid, X + XO.prov_uid);
    b.writeUInt32LE(pv.flags | ProvFlags.SE_PROV_KNOWN, X + XO.prov_flags);
    b.write(pv.comm.slice(0, 15), X + XO.prov_comm, 'latin1');
    if (exe) {
      const o = X + XO.prov_exe;
      b.writeUInt16LE(pos, o + OFFSETOF.se_str.off);
      b.writeUInt16LE(exe.length, o + OFFSETOF.se_str.len);
      b.writeUInt16LE(StrFlags.SE_STR_PRESENT, o + OFFSETOF.se_str.flags);
      exe.copy(b, pos);
      pos += exe.length;
    }
  }
  if (env && s.env) {
    const o = SIZEOF.se_event + OFFSETOF.se_exec_ext.env;
    b.writeUInt16LE(pos, o + OFFSETOF.se_str.off);
    b.writeUInt16LE(env.length, o + OFFSETOF.se_str.len);
    b.writeUInt16LE((s.env.flags ?? 0) | StrFlags.SE_STR_PRESENT, o + OFFSETOF.se_str.flags);
    b.writeUInt32LE(s.env.count ?? s.env.vars.length, SIZEOF.se_event + OFFSETOF.se_exec_ext.env_count);
    env.copy(b, pos);
  }
  return b;
}

/** Frames as the addon writes them into a chunk: u32 length | record | pad to 8. */
export function frames(records: Buffer[]): { chunk: Buffer; used: number } {
  const total = records.reduce((a, r) => a + ((4 + r.length + 7) & ~7), 0);
  const chunk = Buffer.alloc(total);
  let off = 0;
  for (const r of records) {
    chunk.writeUInt32LE(r.length, off);
    r.copy(chunk, off + 4);
    off += (4 + r.length + 7) & ~7;
  }
  return { chunk, used: total };
}

export function sockaddrBlob(family: number, port: number, addr: number[], unixPath?: Buffer): Buffer {
  const b = Buffer.alloc(SIZEOF.se_sockaddr + (unixPath?.length ?? 0));
  b.writeUInt16LE(family, OFFSETOF.se_sockaddr.family);
  b.writeUInt16LE(port, OFFSETOF.se_sockaddr.port);
  Buffer.from(addr).copy(b, OFFSETOF.se_sockaddr.addr);
  unixPath?.copy(b, SIZEOF.se_sockaddr);
  return b;
}
