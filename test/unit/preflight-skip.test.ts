// issue-12: the kernel suite skips only when BPF truly cannot run (not root,
// no BTF, a kernel too old); any other preflight failure fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SensorError } from '../../src/errors.js';
import { bpfUnavailableReason } from '../../src/sources/kernel/preflight.js';

const throwing = (code: ConstructorParameters<typeof SensorError>[0], msg: string) => (): never => {
  throw new SensorError(code, msg);
};

test('issue-12: not root and no BTF are reasons to skip, with the message', () => {
  assert.equal(bpfUnavailableReason(throwing('ESENSOR_PRIVILEGE', 'not running as root')), 'not running as root');
  assert.equal(bpfUnavailableReason(throwing('ESENSOR_KERNEL_UNSUPPORTED', 'kernel BTF is missing')), 'kernel BTF is missing');
  assert.equal(bpfUnavailableReason(() => ({})), undefined);
});

test('issue-12: any other preflight failure is thrown, not turned into a skip', () => {
  assert.throws(() => bpfUnavailableReason(throwing('ESENSOR_FS_MISSING', 'tracefs is not mounted')), /tracefs is not mounted/);
  assert.throws(
    () =>
      bpfUnavailableReason(() => {
        throw new TypeError('a bug in preflight');
      }),
    TypeError,
  );
});
