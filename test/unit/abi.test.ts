// The TypeScript decoder's layout (generated from the BPF object's BTF) must
// equal what the C compiler makes of bpf/abi/sensor_abi.h in the addon.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ABI from '../../src/decode/abi.generated.js';
import { SIZEOF, OFFSETOF, AbiConsts, Counter } from '../../src/decode/abi.generated.js';
import { ARG_SYSCALL, BpfArg, ListenArg, ModuleUnloadStr, PathStr } from '../../src/decode/slots.js';
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

// Issue 15: every constant of the ABI header, argument and string slots
// included, reaches TypeScript through the generator, and decoders read
// slots by those names only.
const header = readFileSync(join(packageRoot, 'bpf/abi/sensor_abi.h'), 'utf8');
const camel = (e: string): string => e.replace(/^se_/, '').replace(/(^|_)([a-z])/g, (_m, _p, c: string) => c.toUpperCase());

test('issue-15: every enum of sensor_abi.h is in abi.generated.ts with the same constants', () => {
  const generated = ABI as unknown as Record<string, Record<string, number> | undefined>;
  const enums = [...header.matchAll(/^enum (se_[a-z0-9_]+) \{([\s\S]*?)^\};/gm)];
  assert.ok(enums.some((m) => m[1] === 'se_arg_slot') && enums.some((m) => m[1] === 'se_str_slot'), 'the header defines the slot enums');
  for (const [, name, body] of enums) {
    const got = generated[camel(name!)];
    assert.ok(got, `enum ${name} has no ${camel(name!)} in abi.generated.ts (bpf/abi/abi_anchor.bpf.c, scripts/gen-abi.mjs)`);
    const names = [...body!.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/\b(SE_[A-Z0-9_]+)\s*=/g)].map((m) => m[1]!);
    assert.ok(names.length > 0, `enum ${name} parsed`);
    for (const n of names) assert.ok(n in got, `${name}.${n} missing from ${camel(name!)}`);
  }
});

test('issue-15: slot names decoders read equal the slot numbers of the header', () => {
  const slot = (n: string): number => Number(new RegExp(`\\b${n} = (\\d+)`).exec(header)?.[1]);
  assert.equal(ARG_SYSCALL, slot('SE_ARG_SYSCALL'));
  assert.equal(BpfArg.cmd, slot('SE_BPF_ARG_CMD'));
  assert.equal(ModuleUnloadStr.name, slot('SE_MODULE_STR_NAME'));
  assert.equal(PathStr.secondBase, slot('SE_PATH_STR_SECOND_BASE'));
  assert.equal(ListenArg.protocol, slot('SE_LISTEN_ARG_PROTOCOL'));
});

test('issue-15: decoders hold no slot numbers and no uapi magic numbers', () => {
  const dir = join(packageRoot, 'src/decode');
  const offenders: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.ts') || f === 'abi.generated.ts' || f === 'syscall-tables.ts') continue;
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
        const slotNumber = /\b(arg|arg32)\(\s*[\w.]+\s*,\s*\d|\b(argHex|argNum|argI32|readStr)\(\s*[\w.]+\s*,\s*[\w.]+\s*,\s*\d|\.(text|arg)\(\s*\d/.test(line);
        const magic = /0o100\b|\b0x200\b(?!0)|\bcmd === \d|=== SE_|args\[\d\]/.test(line);
        if (slotNumber || magic) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});

test('issue-15: priv.bpf.c names BPF commands (enum bpf_cmd), ptrace requests and slots', () => {
  const src = readFileSync(join(packageRoot, 'bpf/programs/priv.bpf.c'), 'utf8');
  assert.deepEqual(src.match(/case (0x)?[0-9]+\s*:/g) ?? [], [], 'numeric case labels');
  assert.deepEqual(src.match(/a\[0\] == [0-9]/g) ?? [], [], 'numeric command comparisons');
  assert.deepEqual(src.match(/args\[[0-9]\] =/g) ?? [], [], 'numeric argument slots');
  assert.match(src, /case BPF_PROG_LOAD:/);
  assert.match(src, /case PTRACE_SEIZE:/);
  // PTRACE_* are #defines (vmlinux.h has none): defined once, citing the uapi header.
  const uapi = readFileSync(join(packageRoot, 'bpf/lib/uapi.bpf.h'), 'utf8');
  assert.match(uapi, /include\/uapi\/linux\/ptrace\.h/);
  assert.match(uapi, /#define PTRACE_SEIZE\s+0x4206/);
});

test('issue-15: the BPF programs write argument and string slots by name', () => {
  const offenders: string[] = [];
  for (const dir of ['bpf/programs', 'bpf/lib']) {
    for (const f of readdirSync(join(packageRoot, dir))) {
      if (!/\.bpf\.[ch]$/.test(f)) continue;
      readFileSync(join(packageRoot, dir, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // file_ops.bpf.c copies args 0..3 as each family's caller laid them out (the generic path operation).
          if (/ev->args\[\d\] = (op->args\[\d\]|a[123]);/.test(line)) return;
          if (/ev->args\[\d\] =|\bse_(put|set)_[a-z_]+\(&?r, \d+,/.test(line)) offenders.push(`${dir}/${f}:${i + 1}: ${line.trim()}`);
        });
    }
  }
  assert.deepEqual(offenders, []);
});
