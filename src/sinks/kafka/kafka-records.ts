/**
 * sinks/kafka records: a one-pass encoder of Kafka record batches (magic 2)
 * put in place of kafkajs 2.2.4's own, byte for byte the same.
 *
 * Takes: what kafkajs' produce request (v3 and later, which reuse v3) hands
 * its `Record` and `RecordBatch` encoders. Gives: the same bytes, written
 * once into a buffer sized up front. kafkajs encodes each record into an
 * `Encoder` of its own (a zero-filled 512-byte buffer, grown by copying to
 * the value's size, a `Buffer.from` of an array per varint), then copies
 * every record into the batch, the batch into the partition's part and so
 * on; with one request of ≈ 1 MB of documents that was most of its CPU per
 * message (docs/benchmarks.md, "Kafka: where kafkajs spends its CPU").
 *
 * kafkajs is CommonJS and loads its produce request module on first use,
 * binding `Record` and `RecordBatch` then: `installRecordEncoder()` must run
 * before the first produce request of the process (the Kafka sink calls it
 * when its module loads). Records with headers, and anything else this
 * encoder does not write, go to kafkajs' own encoders. The batch's CRC-32C
 * is crc32c.ts's (the same value, 16 bytes per step where kafkajs' goes byte
 * by byte); the codec table and the rest of the protocol stay kafkajs'.
 */
import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';

const require = createRequire(import.meta.url);

/** kafkajs' Encoder, as much of it as this file uses. */
interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
}
type EncoderClass = new (initialSize?: number) => KafkajsEncoder;

interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
}

/** A record not yet written: what the batch encoder needs of it, its size worked out once. */
export class PendingRecord {
  constructor(
    readonly offsetDelta: number,
    readonly timestampDelta: number,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    /** Bytes of the body (after the length varint). */
    readonly bodySize: number,
  ) {}
  get size(): number {
    return varIntSize(this.bodySize) + this.bodySize;
  }
}

interface BatchArgs {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: number;
  maxTimestamp?: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: unknown[];
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
/** Header of a batch before its records: firstOffset, length, leader epoch, magic, CRC, attributes … record count. */
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

/** ZigZag of a 32-bit integer, as kafkajs' Encoder.encodeZigZag (then read as unsigned). */
function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

/** ZigZag of an integer up to 2^52 in magnitude, as a non-negative number. */
function zigzag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function uvarSize(u: number): number {
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

function varIntSize(v: number): number {
  return uvarSize(zigzag32(v));
}

function writeUVar(b: Buffer, off: number, u: number): number {
  while (u >= 128) {
    b[off++] = (u & 0x7f) | 0x80;
    u = Math.floor(u / 128);
  }
  b[off++] = u;
  return off;
}

function bytesOf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

function bytesSize(b: Buffer | null): number {
  return b === null ? varIntSize(-1) : varIntSize(b.length) + b.length;
}

function writeRecords(records: readonly PendingRecord[], out: Buffer, off: number): number {
  for (const r of records) {
    off = writeUVar(out, off, zigzag32(r.bodySize));
    out[off++] = 0; // attributes
    off = writeUVar(out, off, zigzag64(r.timestampDelta));
    off = writeUVar(out, off, zigzag32(r.offsetDelta));
    for (const part of [r.key, r.value]) {
      if (part === null) off = writeUVar(out, off, zigzag32(-1));
      else {
        off = writeUVar(out, off, zigzag32(part.length));
        out.set(part, off);
        off += part.length;
      }
    }
    out[off++] = 0; // no headers: a varint 0
  }
  return off;
}

type LongClass = { fromValue(v: unknown): { getHighBits(): number; getLowBits(): number } };

/** A 64-bit value as kafkajs' Encoder.writeInt64 takes it (number, string, Long …): its high and low 32 bits. */
function int64Parts(Long: LongClass, v: unknown): [number, number] {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return [Math.floor(v / 2 ** 32) | 0, v >>> 0];
  const l = Long.fromValue(v);
  return [l.getHighBits(), l.getLowBits()];
}

let installed: boolean | undefined;

/**
 * Put the one-pass encoder in place of kafkajs' `Record` and `RecordBatch`
 * (see the file comment). True once it is in place; false when kafkajs'
 * produce request was loaded before (its encoders stay; nothing breaks).
 */
export function installRecordEncoder(): boolean {
  if (installed !== undefined) return installed;
  const base = require.resolve('kafkajs').replace(/index\.js$/, '');
  const requestPath = require.resolve(`${base}src/protocol/requests/produce/v3/request.js`);
  if (require.cache[requestPath]) return (installed = false);
  const recordPath = require.resolve(`${base}src/protocol/recordBatch/record/v0/index.js`);
  const batchPath = require.resolve(`${base}src/protocol/recordBatch/v0/index.js`);
  const Encoder = require(`${base}src/protocol/encoder.js`) as EncoderClass;
  const Long = require(`${base}src/utils/long.js`) as LongClass;
  const compressionModule = require(`${base}src/protocol/message/compression/index.js`) as { lookupCodec(c: number): { compress(e: { buffer: Buffer }): Promise<Buffer> }; COMPRESSION_CODEC_MASK: number };
  const kafkajsRecord = require(recordPath) as (a: RecordArgs) => KafkajsEncoder;
  const batchModule = require(batchPath) as { RecordBatch: (a: BatchArgs) => Promise<KafkajsEncoder> };
  const kafkajsBatch = batchModule.RecordBatch;

  const record = (a: RecordArgs): PendingRecord | KafkajsEncoder => {
    if (a.headers && Object.keys(a.headers).length) return kafkajsRecord(a);
    const key = bytesOf(a.key);
    const value = bytesOf(a.value);
    const offsetDelta = a.offsetDelta ?? 0;
    const timestampDelta = a.timestampDelta ?? 0;
    if (!Number.isSafeInteger(timestampDelta) || !Number.isInteger(offsetDelta)) return kafkajsRecord(a);
    const bodySize = 1 + uvarSize(zigzag64(timestampDelta)) + varIntSize(offsetDelta) + bytesSize(key) + bytesSize(value) + 1;
    return new PendingRecord(offsetDelta, timestampDelta, key, value, bodySize);
  };

  const recordBatch = async (a: BatchArgs): Promise<KafkajsEncoder> => {
    const records = a.records ?? [];
    if (!records.every((r) => r instanceof PendingRecord)) {
      // Some were written by kafkajs (headers): let it write the batch, with ours as Encoders.
      return kafkajsBatch({ ...a, records: records.map((r) => (r instanceof PendingRecord ? encoderOf(Encoder, r) : r)) });
    }
    const pending = records as PendingRecord[];
    const compression = a.compression ?? 0;
    let recordBytes = 0;
    for (const r of pending) recordBytes += r.size;
    let body: Buffer;
    if (compression === 0) {
      body = Buffer.allocUnsafe(recordBytes);
      writeRecords(pending, body, 0);
    } else {
      const plain = Buffer.allocUnsafe(recordBytes);
      writeRecords(pending, plain, 0);
      body = await compressionModule.lookupCodec(compression).compress({ buffer: plain });
    }
    const out = Buffer.allocUnsafe(BATCH_HEAD + body.length);
    const [foHi, foLo] = int64Parts(Long, a.firstOffset ?? 0);
    out.writeInt32BE(foHi, 0);
    out.writeInt32BE(foLo | 0, 4);
    out.writeInt32BE(out.length - 12, 8); // the bytes after this length field
    out.writeInt32BE(a.partitionLeaderEpoch ?? 0, 12);
    out.writeInt8(MAGIC_BYTE, 16);
    // CRC at 17, over everything after it.
    const attributes = (compression & compressionModule.COMPRESSION_CODEC_MASK) | (a.transactional ? TRANSACTIONAL_MASK : 0);
    out.writeInt16BE(attributes, 21);
    out.writeInt32BE(a.lastOffsetDelta ?? 0, 23);
    const now = Date.now();
    const [ftHi, ftLo] = int64Parts(Long, a.firstTimestamp ?? now);
    out.writeInt32BE(ftHi, 27);
    out.writeInt32BE(ftLo | 0, 31);
    const [mtHi, mtLo] = int64Parts(Long, a.maxTimestamp ?? now);
    out.writeInt32BE(mtHi, 35);
    out.writeInt32BE(mtLo | 0, 39);
    const [piHi, piLo] = int64Parts(Long, a.producerId ?? -1);
    out.writeInt32BE(piHi, 43);
    out.writeInt32BE(piLo | 0, 47);
    out.writeInt16BE(a.producerEpoch ?? 0, 51);
    out.writeInt32BE(a.firstSequence ?? 0, 53);
    out.writeInt32BE(pending.length, 57);
    out.set(body, 61);
    out.writeUInt32BE(crc32c(out.subarray(21)), 17);
    // kafkajs reads the result as an Encoder: `size()` and `buf`/`buffer`.
    const e = new Encoder(0);
    e.buf = out;
    e.offset = out.length;
    return e;
  };

  const cached = require.cache[recordPath];
  if (!cached) return (installed = false);
  cached.exports = record;
  batchModule.RecordBatch = recordBatch;
  return (installed = true);
}

/** A pending record as the kafkajs Encoder its own encoder would have made. */
function encoderOf(Encoder: EncoderClass, r: PendingRecord): KafkajsEncoder {
  const b = Buffer.allocUnsafe(r.size);
  writeRecords([r], b, 0);
  const e = new Encoder(0);
  e.buf = b;
  e.offset = b.length;
  return e;
}
