/**
 * The BTF tracepoint prototypes of a kernel, read from its raw BTF
 * (/sys/kernel/btf/vmlinux, or any kernel's BTF file): takes the file, gives
 * for each BTF tracepoint (typedef btf_trace_NAME) the kinds of its arguments
 * — 'ptr' or 'scalar' — after the leading `void *` every probe gets.
 *
 * Why: a tp_btf program reads its arguments with the types it was compiled
 * with; a kernel whose tracepoint takes a number where the program expects a
 * pointer (io_uring_complete before its cqe argument) makes the verifier
 * refuse the program, and libbpf then refuses the whole object. Reading the
 * prototype first lets the loader leave such a program out instead.
 * Only what this needs is parsed (type records, names); see
 * Documentation/bpf/btf.rst for the format.
 */
import { readFileSync } from 'node:fs';

export type ArgKind = 'ptr' | 'scalar';

const KIND = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 } as const;

/** Type records as columns (id 0 is void): kind, the size/type field, where a FUNC_PROTO's parameters start, the name's offset. */
interface BtfTypes {
  count: number;
  kind: Uint8Array;
  /** size/type field: the referenced type for PTR, TYPEDEF, modifiers, FUNC. */
  ref: Uint32Array;
  /** FUNC_PROTO: byte offset of its parameters in the buffer; vlen: their number. */
  extra: Uint32Array;
  vlen: Uint16Array;
  nameOff: Uint32Array;
  buf: Buffer;
  name(id: number): string;
}

/** Parse raw BTF (magic 0xeB9F). Throws on anything else. */
export function parseBtf(buf: Buffer): BtfTypes {
  if (buf.length < 24 || buf.readUInt16LE(0) !== 0xeb9f) throw new Error('not raw little-endian BTF');
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  const typeLen = buf.readUInt32LE(12);
  const strOff = hdrLen + buf.readUInt32LE(16);
  const strLen = buf.readUInt32LE(20);
  if (typeOff + typeLen > buf.length || strOff + strLen > buf.length) throw new Error('BTF sections past the end of the file');
  const max = Math.floor(typeLen / 12) + 1;
  const t = {
    count: 1,
    kind: new Uint8Array(max),
    ref: new Uint32Array(max),
    extra: new Uint32Array(max),
    vlen: new Uint16Array(max),
    nameOff: new Uint32Array(max),
    buf,
    name(id: number): string {
      const s = strOff + this.nameOff[id]!;
      const end = buf.indexOf(0, s);
      return buf.toString('latin1', s, end < 0 || end > strOff + strLen ? strOff + strLen : end);
    },
  };
  let p = typeOff;
  const end = typeOff + typeLen;
  for (let id = 1; p < end; id++) {
    const info = buf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    t.nameOff[id] = buf.readUInt32LE(p);
    t.kind[id] = kind;
    t.ref[id] = buf.readUInt32LE(p + 8);
    t.vlen[id] = vlen;
    p += 12;
    t.extra[id] = p;
    switch (kind) {
      case KIND.INT: case KIND.VAR: case KIND.DECL_TAG: p += 4; break;
      case KIND.ARRAY: p += 12; break;
      case KIND.STRUCT: case KIND.UNION: case KIND.DATASEC: p += 12 * vlen; break;
      case KIND.ENUM: p += 8 * vlen; break;
      case KIND.ENUM64: p += 12 * vlen; break;
      case KIND.FUNC_PROTO: p += 8 * vlen; break;
      case KIND.PTR: case KIND.FWD: case KIND.TYPEDEF: case KIND.VOLATILE: case KIND.CONST: case KIND.RESTRICT:
      case KIND.FUNC: case KIND.FLOAT: case KIND.TYPE_TAG:
        break;
      default:
        throw new Error(`unknown BTF kind ${kind}`);
    }
    t.count = id + 1;
  }
  return t;
}

/**
 * BTF tracepoint name → its argument kinds (without the leading context
 * pointer), for every btf_trace_* typedef of the kernel.
 */
export function tracepointPrototypes(path = '/sys/kernel/btf/vmlinux'): Map<string, ArgKind[]> {
  const t = parseBtf(readFileSync(path));
  const MODS: readonly number[] = [KIND.TYPEDEF, KIND.CONST, KIND.VOLATILE, KIND.RESTRICT, KIND.TYPE_TAG];
  const strip = (id: number): number => {
    for (let i = 0; i < 16 && MODS.includes(t.kind[id]!); i++) id = t.ref[id]!;
    return id;
  };
  const prefix = Buffer.from('btf_trace_');
  const out = new Map<string, ArgKind[]>();
  for (let id = 1; id < t.count; id++) {
    if (t.kind[id] !== KIND.TYPEDEF || !t.nameOff[id]) continue;
    const name = t.name(id);
    if (!name.startsWith('btf_trace_')) continue;
    const ptr = t.ref[id]!;
    const proto = t.kind[ptr] === KIND.PTR ? t.ref[ptr]! : 0;
    if (t.kind[proto] !== KIND.FUNC_PROTO) continue;
    const kinds: ArgKind[] = [];
    for (let i = 1; i < t.vlen[proto]!; i++) kinds.push(t.kind[strip(t.buf.readUInt32LE(t.extra[proto]! + 8 * i + 4))] === KIND.PTR ? 'ptr' : 'scalar');
    out.set(name.slice(prefix.length), kinds);
  }
  return out;
}
