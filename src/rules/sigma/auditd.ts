/**
 * Sigma auditd selections → our conditions. An auditd selection names a
 * record type; each type maps to the events a syscall sensor has for it:
 *
 *   EXECVE   an exec; a0…aN (the argument vector) → process.args. Our
 *            conditions test "any argument", not a position: a0/a1/… match
 *            the value wherever it appears (a looser test, never a stricter one).
 *   SYSCALL  SYSCALL (the syscall name) → ebpf.syscall, only for syscalls the
 *            sensor reports; exe → process.executable, comm →
 *            ebpf.process.comm, euid/uid/auid → process.user.id /
 *            process.real_user.id / ebpf.process.loginuid. Without SYSCALL, the
 *            process's exec stands for its records.
 *   PATH     name → file.path on the file families (opens, unlink, rename,
 *            chmod, chown, link, symlink, truncate, mkdir, exec); nametype
 *            CREATE → creations, DELETE → unlink.
 *
 * Raw syscall arguments (a0… of SYSCALL records), audit keys, and record
 * types with no syscall (ADD_USER, SERVICE_STOP, TTY, …) are reported.
 */
import { SYSCALLS_OF_KIND } from '../fields.js';
import type { FieldMap } from './logsource.js';
import { fieldTest, join, Unsupported } from './values.js';

const REPORTED_SYSCALLS = new Set(Object.values(SYSCALLS_OF_KIND).flat());

const kw = (field: string): FieldMap => ({ field, type: 'keyword' });

const SYSCALL_FIELDS: Record<string, FieldMap> = {
  exe: kw('process.executable'),
  comm: kw('ebpf.process.comm'),
  euid: { field: 'process.user.id', type: 'keyword' },
  uid: { field: 'process.real_user.id', type: 'keyword' },
  auid: { field: 'ebpf.process.loginuid', type: 'keyword' },
  SYSCALL: kw('ebpf.syscall'),
};

const PATH_BASE = 'ebpf.kind in (open, unlink, rename, chmod, chown, link, symlink, truncate, mkdir, exec)';
const NAMETYPE: Record<string, string> = {
  CREATE: '((ebpf.kind = open and ebpf.open.intent = create) or ebpf.kind in (mkdir, link, symlink, rename))',
  DELETE: 'ebpf.kind in (unlink, rename)',
};

type Selection = Record<string, unknown>;

function split(key: string): [string, string[]] {
  const [name, ...mods] = key.split('|');
  return [name!, mods];
}

/** One auditd selection (a map with a `type`) → our condition text. */
export function auditdSelection(sel: Selection): string {
  const type = typeof sel.type === 'string' ? sel.type.toUpperCase() : sel.type;
  if (typeof type !== 'string') {
    throw new Unsupported(Array.isArray(type) ? `auditd record types ${type.join('/')}: no syscall equivalent` : 'auditd selection without a record type');
  }
  const rest = Object.entries(sel).filter(([k]) => k !== 'type');
  const tests: string[] = [];
  switch (type) {
    case 'EXECVE':
      tests.push('ebpf.kind = exec');
      for (const [k, v] of rest) {
        const [name, mods] = split(k);
        if (!/^a\d+$/.test(name)) throw new Unsupported(`auditd EXECVE field "${name}" is not converted`);
        // Numbers in an argument vector are text (a1: 40000 → "40000").
        tests.push(argsTest(name, mods, v));
      }
      break;
    case 'SYSCALL': {
      let named = false;
      for (const [k, v] of rest) {
        const [name, mods] = split(k);
        const map = SYSCALL_FIELDS[name];
        if (name === 'key') throw new Unsupported('auditd key: names an audit rule, which the sensor does not have');
        if (/^a\d+$/.test(name)) throw new Unsupported(`auditd SYSCALL ${name}: raw syscall arguments are not carried`);
        if (!map) throw new Unsupported(`auditd SYSCALL field "${name}" is not converted`);
        if (name === 'SYSCALL') {
          named = true;
          for (const s of Array.isArray(v) ? v : [v]) {
            if (!REPORTED_SYSCALLS.has(String(s))) throw new Unsupported(`syscall "${String(s)}" is not reported by the sensor`);
          }
        }
        const vs = map.field.endsWith('.id') || map.field.endsWith('loginuid') ? (Array.isArray(v) ? v.map(String) : String(v)) : v;
        tests.push(fieldTest(map, name, mods, vs));
      }
      if (!named) tests.unshift('ebpf.kind = exec');
      break;
    }
    case 'PATH': {
      let base = PATH_BASE;
      for (const [k, v] of rest) {
        const [name, mods] = split(k);
        if (name === 'nametype') {
          const n = NAMETYPE[String(v)];
          if (!n || mods.length) throw new Unsupported(`auditd PATH nametype ${JSON.stringify(v)} is not converted`);
          base = n;
        } else if (name === 'name') tests.push(fieldTest(kw('file.path'), name, mods, v));
        else throw new Unsupported(`auditd PATH field "${name}" is not converted`);
      }
      tests.unshift(base);
      break;
    }
    default:
      throw new Unsupported(`auditd record type ${type}: no syscall equivalent`);
  }
  return join(tests, 'and');
}

/** aN of an EXECVE record: any argument (numbers in an argument vector are text: a1: 40000 → "40000"). */
function argsTest(name: string, mods: string[], v: unknown): string {
  const text = (x: unknown): unknown => (x === null || typeof x === 'object' ? x : String(x));
  return fieldTest(kw('process.args'), name, mods, Array.isArray(v) ? v.map(text) : text(v));
}

/** A selection of an auditd rule that names no type (its fields say which record: aN → EXECVE, name → PATH) (a filter): fields shared by the record types. */
export function auditdFilter(sel: Selection): string {
  const tests: string[] = [];
  for (const [k, v] of Object.entries(sel)) {
    const [name, mods] = split(k);
    if (name === '') throw new Unsupported(`keyword search ("|${mods.join('|')}" over the whole record, no field): not converted`);
    if (name === 'name') tests.push(fieldTest(kw('file.path'), name, mods, v));
    else if (/^a\d+$/.test(name)) tests.push(argsTest(name, mods, v));
    else if (SYSCALL_FIELDS[name] && name !== 'SYSCALL') tests.push(fieldTest(SYSCALL_FIELDS[name], name, mods, v));
    else throw new Unsupported(`auditd field "${name}" outside a typed selection is not converted`);
  }
  return join(tests, 'and');
}
