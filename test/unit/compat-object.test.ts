// The compat BPF object (kernels before 6.2) must not use the kfunc the full
// object uses: a kernel without bpf_rdonly_cast refuses a whole object that
// names it. Regression (issue 15): a features.h left in bpf/vmlinux/ by an
// older Makefile came first on the include path and made the compat object a
// copy of the full one; the variant's own directory now comes first.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => existsSync(p)) ?? 'bpftool';

/** Names of the functions an object declares extern in its BTF (kfuncs it calls). */
function externFuncs(object: string): string[] {
  const btf = JSON.parse(execFileSync(bpftool, ['-j', 'btf', 'dump', 'file', object], { maxBuffer: 256 << 20 }).toString()) as {
    types: Array<{ kind: string; name?: string; linkage?: string }>;
  };
  return btf.types.filter((t) => t.kind === 'FUNC' && t.linkage === 'extern').map((t) => t.name ?? '');
}

test('issue-15: the compat object calls no kfunc; the full object calls bpf_rdonly_cast', () => {
  const out = join(packageRoot, 'bpf/.output');
  assert.deepEqual(externFuncs(join(out, 'sensor-compat.bpf.o')), []);
  assert.ok(externFuncs(join(out, 'sensor.bpf.o')).includes('bpf_rdonly_cast'));
});
