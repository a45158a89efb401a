// issue-14: decode's number-to-text fast paths write exactly what the exact
// (BigInt) forms write: u64 decimals, ISO fractions, capability sets keyed by
// number.
import test from 'node:test';
import assert from 'node:assert/strict';
import { u64String } from '../../src/decode/record.js';
import { isoFromNs, isoFromSecNs } from '../../src/decode/wall-clock.js';
import { capNames } from '../../src/decode/syscall-tables.js';
import { idSuffix } from '../../src/decode/decode.js';

const EDGES = [0n, 1n, 9n, 10n, 999_999_999n, 1_000_000_000n, 1_000_000_001n, 1_999_999_999n, 32_031_420_050_000n, 32_031_999_999_999n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 10n ** 19n];

test('issue-14: u64String equals the BigInt decimal at every edge and on random values', () => {
  const b = Buffer.alloc(16);
  const check = (v: bigint): void => {
    b.writeBigUInt64LE(v, 3);
    assert.equal(u64String(b, 3), v.toString(), `${v}`);
  };
  for (const v of EDGES) {
    check(v);
    if (v > 0n) check(v - 1n);
    if (v < 2n ** 64n - 1n) check(v + 1n);
  }
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
    check(x >> BigInt(i % 64));
  }
});

test('issue-14: isoFromSecNs writes nine fractional digits for every fraction length', () => {
  const sec = 1_700_000_000;
  for (const nsec of [0, 1, 9, 10, 99, 100, 12_345, 999_999, 1_000_000, 123_456_789, 999_999_999]) {
    assert.equal(isoFromSecNs(sec, nsec), isoFromNs(BigInt(sec) * 1_000_000_000n + BigInt(nsec)));
    assert.equal(isoFromSecNs(sec, nsec), `2023-11-14T22:13:20.${String(nsec).padStart(9, '0')}Z`);
  }
  // the cached seconds prefix follows the seconds
  assert.equal(isoFromSecNs(sec + 1, 5), '2023-11-14T22:13:21.000000005Z');
  assert.equal(isoFromSecNs(sec, 5), '2023-11-14T22:13:20.000000005Z');
});

test('issue-14: capability sets keyed by number: each set (high word too) gets its own names', () => {
  assert.deepEqual(capNames(0, 0), []);
  assert.deepEqual(capNames(1, 0), ['CAP_CHOWN']);
  assert.deepEqual(capNames(0, 1), ['CAP_MAC_OVERRIDE']);
  assert.deepEqual(capNames(1, 1), ['CAP_CHOWN', 'CAP_MAC_OVERRIDE']);
  assert.notDeepEqual(capNames(0, 2), capNames(2, 0));
  // a high word past 2^21 (no such capability yet) takes the string key and still names bit 63
  const hi = capNames(0, 0x80000000);
  assert.deepEqual(hi, ['CAP_63']);
  assert.equal(capNames(0, 0x80000000), hi, 'cached: the same frozen array');
  assert.ok(Object.isFrozen(hi));
  assert.deepEqual(capNames(0xffffffff, 0x1ff).length, 41);
});

test('issue-14: the event id suffix written once per thread and type equals the padded hex of both', () => {
  const ref = (tid: number, type: number): string => `${tid.toString(16).padStart(8, '0')}${type.toString(16).padStart(2, '0')}`;
  const cases: Array<[number, number]> = [[0, 0], [1, 1], [1, 2], [2, 1], [0xffffffff, 0xff], [0xffffffff, 0xffff], [256, 0], [1, 256], [0x12345, 0x1f]];
  for (let i = 0; i < 3; i++) for (const [t, y] of cases) assert.equal(idSuffix(t, y), ref(t, y), `${t} ${y}`);
  for (let i = 0; i < 20_000; i++) {
    const t = (i * 2654435761) >>> 0;
    const y = i % 300;
    assert.equal(idSuffix(t, y), ref(t, y));
  }
});
