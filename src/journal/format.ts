/**
 * The journal's on-disk format, version 1 (docs/journal.md draws it).
 *
 * A segment file is a 64-byte header followed by records. Every record is a
 * 32-byte header and a payload: one ClassifiedEvent as JSON, then (version 2)
 * sections, each a LF, a one-letter tag and the section's bytes — the facts
 * sinks route by ('M') and the lines they ship per output format ('E' ECS,
 * 'C' CEF) — so delivery neither parses nor normalizes (payload.ts). The record header
 * starts with a magic whose first byte (0xF7) never occurs in UTF-8 text, so
 * it cannot appear inside a payload: after damage a reader finds the next
 * record by searching for the magic and checking the header's own CRC. The
 * header carries the record's position, so a reader that resynchronizes knows
 * exactly how many records the damage cost.
 *
 * Checksums are CRC-32 (ISO-HDLC, as in gzip and zip: the value of node's
 * zlib.crc32) over the bytes actually written, computed by crc32.ts (native,
 * PCLMULQDQ where the CPU has it; zlib.crc32 without the addon).
 */
import { crc32Range } from './crc32.js';

/**
 * Format version written in every new segment header: 4, whose compact
 * records leave to the ECS line more than the process (journal/head-elision.ts).
 * Versions 1 (payload: the JSON only), 2 (sections) and 3 (compact records
 * without the process only) are still read; newer ones are refused.
 */
export const FORMAT_VERSION = 4;
/** Oldest segment format version this build reads. */
export const OLDEST_FORMAT_VERSION = 1;

/** Segment header magic, 8 bytes. */
export const SEGMENT_MAGIC = Buffer.from('ESJRNLSG', 'latin1');
export const SEGMENT_HEADER_BYTES = 64;

/** Segment header field offsets. */
export const SH = {
  magic: 0,
  version: 8,
  headerBytes: 10,
  flags: 12,
  base: 16,
  created: 24,
  crc: 60,
} as const;

/** Record header magic: 0xF7 'J' 'R' 'N' (0xF7 is never part of UTF-8). */
export const RECORD_MAGIC = Buffer.from([0xf7, 0x4a, 0x52, 0x4e]);
export const RECORD_MAGIC_U32 = RECORD_MAGIC.readUInt32LE(0);
export const RECORD_HEADER_BYTES = 32;

/** Record header field offsets. */
export const RH = {
  magic: 0,
  length: 4,
  position: 8,
  time: 16,
  payloadCrc: 24,
  headerCrc: 28,
} as const;

/** Largest payload a record may hold; a header claiming more is damage. */
export const MAX_PAYLOAD_BYTES = 16 << 20;

/** Segment files are named after their base position, zero-padded to 20 digits so names sort. */
export const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.seg`;
}

/** CRC-32 of buf[start, end) (the value zlib.crc32 gives for those bytes). */
export function crcOf(buf: Buffer, start: number, end: number): number {
  return crc32Range(buf, start, end);
}

/** Write a segment header into `buf` at 0 (buf must hold SEGMENT_HEADER_BYTES). */
export function writeSegmentHeader(buf: Buffer, base: number, createdMs: number): void {
  buf.fill(0, 0, SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(buf, SH.magic);
  buf.writeUInt16LE(FORMAT_VERSION, SH.version);
  buf.writeUInt16LE(SEGMENT_HEADER_BYTES, SH.headerBytes);
  buf.writeUInt32LE(0, SH.flags);
  buf.writeBigUInt64LE(BigInt(base), SH.base);
  buf.writeBigUInt64LE(BigInt(createdMs), SH.created);
  buf.writeUInt32LE(crcOf(buf, 0, SH.crc), SH.crc);
}

export type SegmentHeaderCheck =
  | { ok: true; base: number; created: number; version: number }
  | { ok: false; reason: 'short' | 'magic' | 'crc' | 'range' }
  | { ok: false; reason: 'version'; version: number };

/** Parse a segment header; a valid header with an unknown version is reported as such, not as damage. */
export function readSegmentHeader(buf: Buffer, len: number): SegmentHeaderCheck {
  if (len < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'short' };
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return { ok: false, reason: 'magic' };
  if (buf.readUInt32LE(SH.crc) !== crcOf(buf, 0, SH.crc)) return { ok: false, reason: 'crc' };
  const version = buf.readUInt16LE(SH.version);
  if (version < OLDEST_FORMAT_VERSION || version > FORMAT_VERSION) return { ok: false, reason: 'version', version };
  const base = buf.readBigUInt64LE(SH.base);
  const created = buf.readBigUInt64LE(SH.created);
  if (base > BigInt(Number.MAX_SAFE_INTEGER) || created > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'range' };
  return { ok: true, base: Number(base), created: Number(created), version };
}

/**
 * Check the record header at `off` (the caller guarantees RECORD_HEADER_BYTES
 * are in `buf`). Returns the payload length, or -1 when this is not a valid
 * header (wrong magic, bad header CRC, impossible length or position).
 */
export function checkRecordHeader(buf: Buffer, off: number): number {
  if (buf.readUInt32LE(off + RH.magic) !== RECORD_MAGIC_U32) return -1;
  if (buf.readUInt32LE(off + RH.headerCrc) !== crcOf(buf, off, off + RH.headerCrc)) return -1;
  const len = buf.readUInt32LE(off + RH.length);
  if (len > MAX_PAYLOAD_BYTES) return -1;
  if (buf.readUInt32LE(off + RH.position + 4) > 0x1fffff) return -1; // above 2^53
  return len;
}

export function recordPosition(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + RH.position) + buf.readUInt32LE(off + RH.position + 4) * 0x100000000;
}

export function recordTime(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + RH.time) + buf.readUInt32LE(off + RH.time + 4) * 0x100000000;
}

/**
 * Fill in the record header at `off` for a payload already written at
 * off + RECORD_HEADER_BYTES with `len` bytes.
 */
export function sealRecord(buf: Buffer, off: number, len: number, position: number, timeMs: number): void {
  buf.writeUInt32LE(RECORD_MAGIC_U32, off + RH.magic);
  buf.writeUInt32LE(len, off + RH.length);
  // Two u32 halves: BigInt conversions per record cost more than the rest of the header.
  buf.writeUInt32LE(position % 0x100000000, off + RH.position);
  buf.writeUInt32LE(Math.floor(position / 0x100000000), off + RH.position + 4);
  buf.writeUInt32LE(timeMs % 0x100000000, off + RH.time);
  buf.writeUInt32LE(Math.floor(timeMs / 0x100000000), off + RH.time + 4);
  const start = off + RECORD_HEADER_BYTES;
  buf.writeUInt32LE(crcOf(buf, start, start + len), off + RH.payloadCrc);
  buf.writeUInt32LE(crcOf(buf, off, off + RH.headerCrc), off + RH.headerCrc);
}

/** True when the payload CRC of the (valid-header) record at `off` matches. */
export function payloadIntact(buf: Buffer, off: number, len: number): boolean {
  const start = off + RECORD_HEADER_BYTES;
  return buf.readUInt32LE(off + RH.payloadCrc) === crcOf(buf, start, start + len);
}
