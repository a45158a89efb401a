// issue 13, native/src/object.c: setGlobal with a value N-API cannot read as
// a number used an uninitialised int64 (whatever was on the stack went into
// the program's config); now it is ESENSOR_NATIVE_ARG naming the global.
// Opening the object and setting globals needs no root (nothing is loaded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { SensorError } from '../../src/errors.js';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { BPF_OBJECT_PATH } from '../../src/sources/kernel/paths.js';

const skip = existsSync(BPF_OBJECT_PATH) ? false : 'the BPF object is not built';

test('issue-13-addon: setGlobal with a value that is not a number is ESENSOR_NATIVE_ARG, not garbage', { skip }, () => {
  const o = new (loadBinding().BpfObject)(BPF_OBJECT_PATH);
  try {
    for (const bad of ['7', {}, null]) {
      assert.throws(
        () => o.setGlobal('se_sensor_tgid', bad as unknown as number),
        (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_NATIVE_ARG' && e.object === 'se_sensor_tgid',
      );
    }
    o.setGlobal('se_sensor_tgid', 1234);
  } finally {
    o.close();
  }
});
