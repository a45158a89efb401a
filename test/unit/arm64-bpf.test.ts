// Issue #20 (arm64 BPF objects): the package ships bpf/.output/arm64/sensor{,-compat}.bpf.o, built on
// this x86-64 machine with -D__TARGET_ARCH_arm64 against the vmlinux.h of an arm64 kernel (Debian 12's
// linux-image-6.1.0-*-arm64, its BTF cut from the Image by scripts/kernel-btf.sh). No arm64 kernel runs
// here, so nothing is loaded; what is checked instead, against that kernel's BTF:
//  - the objects are BPF ELF with .BTF and .BTF.ext, DWARF stripped;
//  - they are the arm64 build: the syscall number comes from pt_regs.syscallno and the arguments from
//    user_pt_regs.regs/orig_x0 (the x64 objects read orig_ax, di, si, ...);
//  - every CO-RE relocation resolves against the arm64 BTF (libbpf's own matcher, run by
//    `bpftool -d gen min_core_btf`), except exactly the ones the programs guard with
//    bpf_core_*_exists for newer kernels — and the x64 object does not resolve there (the check can fail);
//  - every attach point exists on that kernel, or the loader leaves the program out before load
//    (hooks-available.ts): syscall tracepoints from arm64's syscall table (asm/unistd.h of the cross
//    toolchain) and the functions the kernel implements, tp_btf hooks and their prototypes from its BTF;
//  - the load-time choices: process.arch picks the objects; open flags decode with arm64's values;
//  - and the x64 objects against an older x86-64 kernel than this machine's (Debian 12's amd64 6.1):
//    the same guarded relocations only, and the same BTF-tracepoint hooks left out.
// Needs `sh scripts/setup.sh --with-arm64` (dpkg's arm64 architecture, the cross toolchain).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, bpfObjectPaths } from '../../src/sources/kernel/paths.js';
import { chooseObject } from '../../src/sources/kernel/features.js';
import { tracepointPrototypes } from '../../src/sources/kernel/btf.js';
import { TP_BTF_ARGS, unavailableHooks } from '../../src/sources/kernel/hooks-available.js';
import { rawSyscallFallback } from '../../src/sources/kernel/raw-syscalls.js';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { openFlagTable } from '../../src/decode/syscall-tables.js';

const SETUP_HINT = 'run sh scripts/setup.sh --with-arm64 (or --with-test-deps)';
const arm64 = bpfObjectPaths('arm64');
const x64 = bpfObjectPaths('x64');
let btf: string;
let btf61x64: string;

function kernelBtf(arch: string): string {
  const b = spawnSync('sh', [join(packageRoot, 'scripts/kernel-btf.sh'), arch], { encoding: 'utf8' });
  assert.equal(b.status, 0, `no ${arch} kernel BTF (${SETUP_HINT}):\n${b.stderr}`);
  return b.stdout.trim();
}

before(() => {
  btf = kernelBtf('arm64');
  btf61x64 = kernelBtf('amd64');
  for (const arch of [['ARCH=arm64', `BTF=${btf}`], []]) {
    const m = spawnSync('make', ['-s', '-C', join(packageRoot, 'bpf'), ...arch], { encoding: 'utf8' });
    assert.equal(m.status, 0, `make -C bpf ${arch.join(' ')} failed:\n${m.stderr}`);
  }
});

/** CO-RE relocations of an object against a BTF: libbpf's matcher through bpftool; the specs that found no target. */
function coreRelocations(obj: string, target: string): { all: string[]; unmatched: Set<string> } {
  const out = mkdtempSync(join(tmpdir(), 'ebpf-sensor-core-'));
  try {
    const r = spawnSync('bpftool', ['-d', 'gen', 'min_core_btf', target, join(out, 'min.btf'), obj], { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.equal(r.status, 0, `bpftool gen min_core_btf: ${r.stderr.slice(-2000)}`);
    const spec = new Map<string, string>();
    const all: string[] = [];
    const unmatched = new Set<string>();
    for (const line of (r.stdout + r.stderr).split('\n')) {
      const m = /^libbpf: prog '([^']+)': relo #(\d+): (.*)$/.exec(line);
      if (!m) continue;
      const key = `${m[1]}#${m[2]}`;
      if (m[3] === 'no matching targets found') unmatched.add(spec.get(key) ?? key);
      else if (m[3]!.startsWith('<') && !m[3]!.includes('candidate')) {
        const s = m[3]!.replace(/\[\d+\] /g, '').replace(/ \(.*$/, '');
        spec.set(key, s);
        all.push(s);
      }
    }
    return { all, unmatched };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

test('the arm64 objects are BPF ELF with BTF and BTF.ext, without DWARF', () => {
  for (const o of [arm64.full, arm64.compat]) {
    const h = execFileSync('readelf', ['-h', o], { encoding: 'utf8' });
    assert.match(h, /Machine:\s+Linux BPF/);
    assert.match(h, /Data:\s+2's complement, little endian/);
    const s = execFileSync('readelf', ['-S', '-W', o], { encoding: 'utf8' });
    for (const sec of ['.BTF', '.BTF.ext', '.maps']) assert.match(s, new RegExp(` \\${sec} `), `${o}: ${sec}`);
    assert.doesNotMatch(s, /\.debug_info/, 'DWARF stripped');
  }
});

test('the arm64 objects resolve every CO-RE relocation against the arm64 kernel, but for the guarded ones', () => {
  // What the programs guard with bpf_core_field_exists/bpf_core_type_exists: kernel_cap_t's 6.3 u64 layout
  // (6.1 has u32 cap[2], read raw) and 6.13's struct kernel_xattr_ctx (io_uring setxattr, not read before).
  const guarded = ['<byte_off> typedef kernel_cap_t___se_u64.val', '<field_exists> typedef kernel_cap_t___se_u64.val', '<type_exists> fwd kernel_xattr_ctx'];
  for (const o of [arm64.full, arm64.compat]) {
    const { all, unmatched } = coreRelocations(o, btf);
    assert.ok(all.length > 5000, `${all.length} relocations seen`);
    assert.deepEqual([...unmatched].sort(), guarded, `${o}: relocations without a target on arm64 6.1`);
    // The arm64 build: syscall number and arguments from arm64's pt_regs.
    assert.ok(all.includes('<byte_off> struct pt_regs.syscallno'), 'syscall number from pt_regs.syscallno');
    assert.ok(all.includes('<byte_off> struct pt_regs___arm64.orig_x0'), 'first argument from orig_x0');
    assert.ok(all.some((s) => s.startsWith('<byte_off> struct user_pt_regs.regs')), 'arguments from user_pt_regs.regs');
    assert.ok(!all.some((s) => /pt_regs\.(orig_ax|di|si)\b/.test(s)), 'no x86 register');
  }
  // The same check on the x64 object fails: it reads x86 registers the arm64 kernel does not have.
  const wrong = coreRelocations(x64.full, btf).unmatched;
  assert.ok(wrong.has('<byte_off> struct pt_regs.orig_ax'), `x64 object on arm64: ${[...wrong].join(', ')}`);
});

/**
 * arm64's syscall table, number → the kernel function's name without sys_ (what names the tracepoint:
 * umount2 calls sys_umount), from the cross toolchain's asm/unistd.h (asm-generic's, with arm64's choices).
 */
function arm64SyscallTable(): Map<string, number> {
  const src = '#define __SYSCALL(nr, call) SE_SC nr call\n#include <asm/unistd.h>\n';
  const out = execFileSync('aarch64-linux-gnu-gcc', ['-E', '-P', '-'], { input: src, encoding: 'utf8' });
  const table = new Map<string, number>();
  for (const m of out.matchAll(/SE_SC (\d+) sys_(\w+)/g)) table.set(m[2]!, Number(m[1]));
  assert.ok(table.size > 250 && table.get('openat') === 56, `arm64 table: ${table.size} entries`);
  return table;
}

test('every attach point exists on the arm64 kernel, or the loader leaves its program out before load', () => {
  const b = loadBinding();
  const obj = new b.BpfObject(arm64.full);
  let programs: Array<{ name: string; section: string }>;
  try {
    programs = obj.programs().map((p) => ({ name: p.name, section: p.section }));
  } finally {
    obj.close();
  }
  // A syscall tracepoint exists when the syscall is in arm64's table and the kernel implements it
  // (SYSCALL_DEFINE: a __arm64_sys_NAME function in its BTF; tracefs registers no event for the rest).
  const table = arm64SyscallTable();
  const funcs = new Set([...execFileSync('bpftool', ['btf', 'dump', 'file', btf], { encoding: 'utf8', maxBuffer: 512 << 20 }).matchAll(/FUNC '__arm64_sys_(\w+)'/g)].map((m) => m[1]!));
  const tracefs = mkdtempSync(join(tmpdir(), 'ebpf-sensor-arm64-tracefs-'));
  try {
    for (const name of table.keys()) {
      if (!funcs.has(name)) continue;
      for (const dir of ['enter', 'exit']) mkdirSync(join(tracefs, 'events/syscalls', `sys_${dir}_${name}`), { recursive: true });
    }
    const protos = tracepointPrototypes(btf);
    const tpBtf = programs.filter((p) => p.section.startsWith('tp_btf/')).map((p) => p.section.slice(7));
    assert.deepEqual(tpBtf.filter((n) => !(n in TP_BTF_ARGS)), [], 'every tp_btf program has its argument kinds in TP_BTF_ARGS');
    const left = unavailableHooks(programs, tracefs, protos).map((u) => `${u.tracepoint} ${u.reason}`).sort();
    assert.deepEqual(left, [
      // 6.2's name (6.1: io_uring_submit_sqe), and 6.1's completion passes numbers where the program reads the cqe:
      // io_uring submissions are not seen on 6.1 kernels (of any architecture).
      'io_uring_complete prototype',
      'io_uring_submit_req absent',
      // Newer than 6.1: fchmodat2 (6.6), setxattrat/removexattrat (6.13).
      ...['fchmodat2', 'removexattrat', 'setxattrat'].map((n) => `syscalls/sys_exit_${n} absent`),
      // Not in arm64's table (asm-generic has only the *at forms; utime(s)/futimesat neither).
      ...['chmod', 'chown', 'creat', 'futimesat', 'lchown', 'link', 'mkdir', 'open', 'rename', 'rmdir', 'symlink', 'unlink', 'utime', 'utimes'].map((n) => `syscalls/sys_exit_${n} absent`),
      ...['futimesat', 'removexattrat', 'setxattrat', 'unlink', 'utime', 'utimes'].map((n) => `syscalls/sys_enter_${n} absent`),
      ...['fchmodat2', 'rename', 'rmdir', 'link', 'symlink', 'mkdir', 'chmod', 'chown', 'lchown', 'creat', 'open'].flatMap((n) => programs.some((p) => p.section === `tracepoint/syscalls/sys_enter_${n}`) ? [`syscalls/sys_enter_${n} absent`] : []),
    ].sort());
    // What the sensor is for attaches on arm64.
    for (const n of ['execve', 'execveat', 'openat', 'openat2', 'unlinkat', 'renameat2', 'connect', 'accept4', 'bind', 'ptrace', 'init_module', 'finit_module', 'bpf', 'mount', 'setns', 'unshare', 'memfd_create']) {
      assert.ok(programs.some((p) => p.section === `tracepoint/syscalls/sys_exit_${n}`), `a program on sys_exit_${n}`);
      assert.ok(!left.includes(`syscalls/sys_exit_${n} absent`), `sys_exit_${n} exists on arm64`);
    }
    // The module syscalls have tracepoints on Debian's arm64 kernel; where they do not, the raw sys_exit
    // program stands in, with arm64's numbers.
    const raw = rawSyscallFallback(['init_module', 'finit_module', 'delete_module'].map((n) => ({ program: `se_sys_exit_${n}` })), 'arm64');
    assert.deepEqual(raw.map((r) => r.nr), ['init_module', 'finit_module', 'delete_module'].map((n) => table.get(n)));
  } finally {
    rmSync(tracefs, { recursive: true, force: true });
  }
});

test('the x64 objects on an older kernel (Debian 12\'s amd64 6.1): the same guarded relocations, the same BTF hooks left out', () => {
  for (const o of [x64.full, x64.compat]) {
    const { all, unmatched } = coreRelocations(o, btf61x64);
    assert.ok(all.includes('<byte_off> struct pt_regs.orig_ax'), 'x86 registers');
    // kernel_xattr_ctx is a complete struct in this vmlinux.h (6.18's), a forward declaration in arm64's.
    assert.deepEqual([...unmatched].sort(), ['<byte_off> typedef kernel_cap_t___se_u64.val', '<field_exists> typedef kernel_cap_t___se_u64.val', '<type_exists> struct kernel_xattr_ctx'], o);
  }
  const b = loadBinding();
  const obj = new b.BpfObject(x64.full);
  let programs: Array<{ name: string; section: string }>;
  try {
    programs = obj.programs().map((p) => ({ name: p.name, section: p.section }));
  } finally {
    obj.close();
  }
  const btfOnly = programs.filter((p) => p.section.startsWith('tp_btf/'));
  const left = unavailableHooks(btfOnly, '/nonexistent', tracepointPrototypes(btf61x64)).map((u) => `${u.tracepoint} ${u.reason}`).sort();
  assert.deepEqual(left, ['io_uring_complete prototype', 'io_uring_submit_req absent']);
  // This machine's kernel takes every BTF hook.
  assert.deepEqual(unavailableHooks(btfOnly, '/nonexistent', tracepointPrototypes()), []);
});

test('process.arch picks the objects: each architecture has its pair in the package tree', () => {
  for (const arch of ['x64', 'arm64']) {
    const p = bpfObjectPaths(arch);
    assert.ok(p.full.endsWith(`bpf/.output/${arch}/sensor.bpf.o`) && existsSync(p.full) && existsSync(p.compat), arch);
    assert.deepEqual(chooseObject(() => [], p), { path: p.compat, variant: 'compat', missing: ['bpf_rdonly_cast'] });
    assert.equal(chooseObject((n) => n, p).path, p.full);
  }
  assert.equal(bpfObjectPaths().full, bpfObjectPaths(process.arch).full);
});

test('open flags decode with each architecture\'s values, as its uapi headers define them', () => {
  for (const [arch, cc] of [['x64', 'gcc'], ['arm64', 'aarch64-linux-gnu-gcc']] as const) {
    const defs = execFileSync(cc, ['-E', '-dM', '-include', 'asm/fcntl.h', '-'], { input: '', encoding: 'utf8' });
    const val = (n: string): number => parseInt(new RegExp(`^#define ${n} (0\\d+)$`, 'm').exec(defs)![1]!, 8);
    const t = openFlagTable(arch);
    for (const n of ['O_DIRECTORY', 'O_NOFOLLOW', 'O_DIRECT', 'O_LARGEFILE']) assert.deepEqual(t.names(val(n)), ['O_RDONLY', n], `${arch} ${n}`);
    const tmpfile = val('__O_TMPFILE') | val('O_DIRECTORY');
    assert.equal(t.O_TMPFILE, tmpfile, `${arch} O_TMPFILE`);
    assert.deepEqual(t.names(tmpfile | 2), ['O_RDWR', 'O_TMPFILE']);
    assert.deepEqual(t.intent(tmpfile | 1), ['write', 'create']);
    assert.deepEqual(t.intent(val('O_DIRECTORY')), ['read'], `${arch}: a directory open creates nothing`);
  }
});
