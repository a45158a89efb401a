/**
 * Provenance of an executed file, from an exec record's struct se_exec_ext
 * (right after struct se_event; bpf/lib/provenance.bpf.h fills it).
 *
 * Takes: the record, where it starts, its length, and a boot-ns → ISO
 * converter. Gives: `ebpf.provenance` (the writer's pid, comm, executable,
 * start, uid, whether it had connected out, when it wrote), or undefined when
 * the kernel knew no writer. The writer's entity id is left empty here:
 * enrich makes it from pid + start like every other entity id.
 */
import type { ProvenanceFacts } from '../model/event.js';
import { decodeRaw } from '../model/raw-text.js';
import { OFFSETOF, SIZEOF, StrFlags, ProvFlags } from './abi.generated.js';

const X = OFFSETOF.se_exec_ext;
const S = OFFSETOF.se_str;
const AT = SIZEOF.se_event;

function u64String(rec: Buffer, o: number): string {
  return rec.readBigUInt64LE(o).toString();
}

/** The writer of the file an exec record ran, or undefined. */
export function decodeProvenance(rec: Buffer, base: number, recLen: number, iso: (hi: number, lo: number) => string): ProvenanceFacts | undefined {
  if (recLen < AT + SIZEOF.se_exec_ext) return undefined;
  const x = base + AT;
  const flags = rec.readUInt32LE(x + X.prov_flags);
  if (!(flags & ProvFlags.SE_PROV_KNOWN)) return undefined;
  let end = x + X.prov_comm;
  const commEnd = x + X.prov_comm + 16;
  while (end < commEnd && rec[end] !== 0) end++;
  const writer: ProvenanceFacts['writer'] = {
    pid: rec.readUInt32LE(x + X.prov_pid),
    name: decodeRaw(rec, x + X.prov_comm, end),
    entity_id: '',
    start_boot_ns: u64String(rec, x + X.prov_start_ns),
    user: { id: String(rec.readUInt32LE(x + X.prov_uid)) },
    connected_out: (flags & ProvFlags.SE_PROV_CONNECTED) !== 0,
    parent_connected_out: (flags & ProvFlags.SE_PROV_CONNECTED_PARENT) !== 0,
  };
  const so = x + X.prov_exe;
  if (rec.readUInt16LE(so + S.flags) & StrFlags.SE_STR_PRESENT) {
    const off = rec.readUInt16LE(so + S.off);
    const len = rec.readUInt16LE(so + S.len);
    if (off + len <= recLen && len > 0) writer.executable = decodeRaw(rec, base + off, base + off + len);
  }
  return {
    writer,
    written: iso(rec.readUInt32LE(x + X.prov_write_ns + 4), rec.readUInt32LE(x + X.prov_write_ns)),
    created: (flags & ProvFlags.SE_PROV_CREATE) !== 0,
    io_uring: (flags & ProvFlags.SE_PROV_IO_URING) !== 0,
  };
}
