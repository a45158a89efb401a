/**
 * The journal's CRC-32 per record, alone: sealing a record (sealRecord: the
 * payload CRC and the header CRC) and checking it on read (checkRecordHeader
 * + payloadIntact), for a payload of --bytes (5,500 by default: a live
 * record's compact head ≈ 0.9 kB, routing section ≈ 0.1 kB, ECS line
 * ≈ 4.5 kB). With --compare ROOT (another checkout, built) its
 * src/journal/format.js runs in the same process, alternating round by round.
 * Also the raw CRC per call of each implementation this build has
 * (src/journal/crc32.ts) against zlib.crc32 on a subarray. Prints ns per
 * record per round (median of rounds last); asserts only that the builds
 * agree on every CRC.
 *
 *   node dist/bench/journal-crc.js [--compare /tmp/base] [--rounds 6] [--bytes 5500]
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { compareArgs } from './compare-builds.js';

const { rounds, opts, roots } = compareArgs(import.meta.url, 6, { bytes: 5500 });
const bytes = opts.bytes;

type Format = typeof import('../src/journal/format.js');
const builds: Array<{ name: string; f: Format }> = [];
for (const [name, root] of roots) builds.push({ name, f: (await import(pathToFileURL(join(root, 'src/journal/format.js')).href)) as Format });
const { crc32Impl, crc32Range } = await import('../src/journal/crc32.js');

// 64 records' worth of buffer, so the payloads are not all in L1 at the same address.
const RECORDS = 64;
const HEADER = 32;
const stride = HEADER + bytes + 8;
const buf = randomBytes(stride * RECORDS);
const N = 20000;

function seal(f: Format): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f.sealRecord(buf, (i % RECORDS) * stride, bytes, i, 1_796_000_000_000 + i);
  return Number(process.hrtime.bigint() - t) / N;
}
function check(f: Format): number {
  let ok = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const off = (i % RECORDS) * stride;
    if (f.checkRecordHeader(buf, off) === bytes && f.payloadIntact(buf, off, bytes)) ok++;
  }
  const ns = Number(process.hrtime.bigint() - t) / N;
  if (ok !== N) throw new Error(`${ok} of ${N} records checked`);
  return ns;
}

// The builds agree: what one seals, the other checks.
for (const a of builds) {
  seal(a.f);
  for (const b of builds) check(b.f);
}

const results = new Map<string, number[]>();
const add = (k: string, v: number): void => void (results.get(k) ?? results.set(k, []).get(k)!).push(v);
for (let r = 0; r < rounds; r++) {
  for (const b of r % 2 ? [...builds].reverse() : builds) {
    add(`${b.name} seal`, seal(b.f));
    add(`${b.name} check`, check(b.f));
  }
  for (const len of [28, bytes]) {
    let x = 0;
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) x ^= zlibCrc32(buf.subarray(i % 16, (i % 16) + len));
    add(`zlib.crc32(subarray) ${len} B`, Number(process.hrtime.bigint() - t) / N);
    t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) x ^= crc32Range(buf, i % 16, (i % 16) + len);
    add(`crc32Range [${crc32Impl}] ${len} B`, Number(process.hrtime.bigint() - t) / N);
    if (x !== 0) throw new Error('the implementations disagree');
  }
}
const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1]!;
console.log(`journal CRC, ns per record (payload ${bytes} B), ${rounds} rounds; median last`);
for (const [k, v] of results) console.log(`${k.padEnd(36)} ${v.map((n) => n.toFixed(0).padStart(6)).join(' ')}   median ${median(v).toFixed(0)}`);
