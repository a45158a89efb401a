// The TypeScript decoder's layout (generated from the BPF object's BTF) must
// equal what the C compiler makes of bpf/abi/sensor_abi.h in the addon.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SIZEOF, OFFSETOF, AbiConsts, Counter } from '../../src/decode/abi.generated.js';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

test('generated layout equals the addon-compiled layout of sensor_abi.h', () => {
  const abi = loadBinding().abi;
  let checked = 0;
  for (const [struct, size] of Object.entries(SIZEOF)) {
    assert.equal(size, abi[`sizeof_${struct}`], `sizeof(struct ${struct})`);
    checked++;
  }
  for (const [key, value] of Object.entries(abi)) {
    const m = /^offsetof_(se_[a-z_]+?)_([a-z_]+)$/.exec(key);
    if (!m) continue;
    // struct names may contain underscores: find the split that names a generated struct.
    let found = false;
    for (const [struct, members] of Object.entries(OFFSETOF)) {
      if (!key.startsWith(`offsetof_${struct}_`)) continue;
      const member = key.slice(`offsetof_${struct}_`.length);
      if (member in members) {
        assert.equal((members as Record<string, number>)[member], value, `offsetof(${struct}, ${member})`);
        found = true;
        checked++;
      }
    }
    assert.ok(found, `addon exports ${key} but the generated layout has no such member`);
  }
  assert.equal(abi.SE_ABI_VERSION, AbiConsts.SE_ABI_VERSION);
  assert.equal(abi.SE_PATH_MAX, AbiConsts.SE_PATH_MAX);
  assert.equal(abi.SE_RECORD_MAX, AbiConsts.SE_RECORD_MAX);
  assert.equal(abi.SE_CNT_MAX, Counter.SE_CNT_MAX);
  assert.ok(checked > 40, `only ${checked} layout facts compared`);
});

test('abi.generated.ts is current with the compiled BPF object', () => {
  // Exits 1 with a message when bpf/abi/sensor_abi.h changed without regenerating.
  execFileSync(process.execPath, ['scripts/gen-abi.mjs', '--check'], { cwd: packageRoot, stdio: 'pipe' });
});

test('config.generated.ts is current with schemas/config.schema.json', () => {
  execFileSync(process.execPath, ['scripts/gen-config-types.mjs', '--check'], { cwd: packageRoot, stdio: 'pipe' });
});
