// Syscalls without a tracepoint (issue 17 point 2): which the generic sys_exit
// program reports instead, by syscall number per architecture.
import test from 'node:test';
import assert from 'node:assert/strict';
import { rawSyscallFallback } from '../../src/sources/kernel/raw-syscalls.js';
import { Syscall } from '../../src/decode/abi.generated.js';

test('issue-17: missing module-load tracepoints fall back to raw sys_exit with their x86_64 and arm64 numbers; others do not', () => {
  const missing = [{ program: 'se_sys_exit_init_module' }, { program: 'se_sys_exit_finit_module' }, { program: 'se_sys_exit_fchmodat2' }];
  assert.deepEqual(rawSyscallFallback(missing, 'x64'), [
    { program: 'se_sys_exit_init_module', nr: 175, sc: Syscall.SE_SC_INIT_MODULE },
    { program: 'se_sys_exit_finit_module', nr: 313, sc: Syscall.SE_SC_FINIT_MODULE },
  ]);
  assert.deepEqual(
    rawSyscallFallback(missing, 'arm64').map((x) => x.nr),
    [105, 273],
  );
  assert.deepEqual(rawSyscallFallback([], 'x64'), [], 'nothing missing: the raw program is not loaded');
  assert.deepEqual(rawSyscallFallback(missing, 'riscv64'), [], 'an architecture without known numbers gets no fallback');
});
