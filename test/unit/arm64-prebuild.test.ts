// Issue #20 point 2 (arm64): the N-API addon cross-built for linux-arm64 by
// scripts/prebuild-arm64.sh (what npm pack ships in native/prebuilds/linux-arm64)
// is an aarch64 shared object that links only glibc, libelf and zlib (libbpf
// linked in), and it loads in an arm64 Node.js under qemu-user with every
// symbol resolved at dlopen (RTLD_NOW), runs, and exports the same functions
// and the same ABI layout as this machine's x64 build. The toolchain, qemu and
// the arm64 Node.js come from `sh scripts/setup.sh --with-arm64` (part of
// --with-test-deps); the cross-build takes a few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const SETUP_HINT = 'run sh scripts/setup.sh --with-arm64 (or --with-test-deps)';
const arm64Node = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ebpf-sensor/arm64-node/root');
// What the addon may need on the machine that runs it: glibc and the two libraries the packages depend on.
const ALLOWED_NEEDED = ['ld-linux-aarch64.so.1', 'libc.so.6', 'libelf.so.1', 'libz.so.1'];

let work: string;
let addon: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ebpf-sensor-arm64-'));
  addon = join(work, 'node.glibc.node');
  const r = spawnSync('sh', [join(packageRoot, 'scripts/prebuild-arm64.sh'), addon], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cross-build failed (${SETUP_HINT}):\n${r.stderr}`);
});
after(() => rmSync(work, { recursive: true, force: true }));

function readelf(...args: string[]): string {
  return execFileSync('readelf', ['-W', ...args, addon], { encoding: 'utf8' });
}

test('the arm64 addon is an aarch64 shared object that needs only glibc, libelf and zlib', () => {
  const header = readelf('-h');
  assert.match(header, /Class:\s+ELF64/);
  assert.match(header, /Type:\s+DYN/);
  assert.match(header, /Machine:\s+AArch64/);
  const needed = [...readelf('-d').matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!).sort();
  assert.deepEqual(needed, ALLOWED_NEEDED, `NEEDED entries: ${needed.join(', ')}`);
});

test('libbpf is linked in; the addon exports only its N-API entry points and leaves napi_* to node', () => {
  const syms = readelf('--dyn-syms')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => /^\d+:$/.test(f[0] ?? '') && f[7] && f[4] !== 'LOCAL');
  const undefinedSyms = syms.filter((f) => f[6] === 'UND').map((f) => f[7]!.replace(/@.*/, ''));
  const exported = syms.filter((f) => f[6] !== 'UND').map((f) => f[7]!).sort();
  const libbpf = undefinedSyms.filter((s) => /^(bpf_|btf_|btf__|libbpf_|ring_buffer__|perf_buffer__)/.test(s));
  assert.deepEqual(libbpf, [], 'no libbpf symbol is left for the loader');
  assert.deepEqual(exported, ['napi_register_module_v1', 'node_api_module_get_api_version_v1'], 'libbpf hidden (--exclude-libs)');
  assert.ok(undefinedSyms.filter((s) => s.startsWith('napi_')).length > 20, 'the N-API calls are resolved against the node binary at load');
});

test('the arm64 addon loads in an arm64 Node.js under qemu (RTLD_NOW) and matches the x64 build', { timeout: 180000 }, () => {
  const node = join(arm64Node, 'usr/bin/node');
  assert.ok(existsSync(node), `no arm64 Node.js at ${node}: ${SETUP_HINT}`);
  const script = `
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(addon)}, require('os').constants.dlopen.RTLD_NOW);
    const b = m.exports;
    const funcs = b.kernelFuncs(['bpf_rdonly_cast', 'no_such_kfunc_ebpf_sensor']);
    const data = Buffer.alloc(5600, 0).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
    const crcs = [[0, 28], [3, 5503], [0, 5600]].map(([s, e]) => [b.crc32(data, s, e, 0), b.crc32Portable(data, s, e, 7)]);
    console.log(JSON.stringify({ arch: process.arch, keys: Object.keys(b).sort(), info: b.info(),
      boottime: typeof b.clocks().boottime, abi: b.abi, funcs, crc32Impl: b.crc32Impl, crcs }));`;
  // -L: the loader finds the arm64 libraries of the unpacked Debian packages first, then the
  // machine's multiarch ones (libelf1:arm64, zlib1g:arm64, libc6:arm64).
  const r = spawnSync('qemu-aarch64-static', ['-L', arm64Node, '-E', `LD_LIBRARY_PATH=${join(arm64Node, 'usr/lib/aarch64-linux-gnu')}`, node, '-e', script], {
    encoding: 'utf8',
    timeout: 170000,
  });
  assert.equal(r.status, 0, `arm64 node under qemu failed (${SETUP_HINT}):\n${r.error ?? ''}${r.stderr}`);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    arch: string; keys: string[]; info: { libbpfVersion: string; possibleCpus: number }; boottime: string;
    abi: Record<string, number>; funcs: string[]; crc32Impl: string; crcs: number[][];
  };
  assert.equal(got.arch, 'arm64');
  const x64 = loadBinding();
  assert.deepEqual(got.keys, Object.keys(x64).sort(), 'the same exports as the x64 addon');
  assert.equal(got.info.libbpfVersion, x64.info().libbpfVersion, 'the same libbpf linked in');
  assert.ok(got.info.possibleCpus >= 1);
  assert.equal(got.boottime, 'bigint');
  // The record layout is the ABI between the BPF programs and the decoder: fixed-width types and
  // explicit padding make it the same on both architectures; a difference would misdecode on arm64.
  assert.deepEqual(got.abi, x64.abi, 'the same sensor_abi.h layout on arm64 as on x64');
  // The kfunc probe reads this kernel's BTF through the linked-in libbpf: the same answer as x64's.
  assert.deepEqual(got.funcs, x64.kernelFuncs(['bpf_rdonly_cast', 'no_such_kfunc_ebpf_sensor']));
  // The journal's CRC-32 (native/src/crc32.c): zlib's crc32_z on arm64, the same values as zlib.crc32 here.
  assert.equal(got.crc32Impl, 'zlib');
  const data = Buffer.alloc(5600, 0).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
  const want = [[0, 28], [3, 5503], [0, 5600]].map(([s, e]) => [crc32(data.subarray(s, e)), crc32(data.subarray(s, e), 7)]);
  assert.deepEqual(got.crcs, want, 'the journal CRC-32 on arm64');
});
