/**
 * Realistic classified events of every kind for the normalizer tests and
 * benchmarks: kernel records built as the BPF side lays them out, decoded by
 * the real decoder, completed the way enrich completes them (entity ids,
 * names, parent, container), with normal and suspicious verdicts.
 */
import { decodeRecord, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, Syscall, RecordFlags } from '../../src/decode/abi.generated.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../../src/decode/syscall-tables.js';
import { type AgentInfo, type ClassifiedEvent, type EventKind, type HostInfo, type RuleMatch, type SensorEvent, type Verdict } from '../../src/model/event.js';
import { buildRecord, sockaddrBlob, type RecordSpec } from './record-builder.js';

export const HOST: HostInfo = Object.freeze({
  name: 'web-01',
  hostname: 'web-01.example.internal',
  id: '4c4c4544003958108052b4c04f4e4d32',
  ip: ['10.0.0.7', 'fe80::a00:27ff:fe4e:66a1'],
  mac: ['08-00-27-4E-66-A1'],
  architecture: 'x86_64',
  os: { type: 'linux', family: 'debian', name: 'Debian GNU/Linux', version: '12', kernel: '6.18.0-1-amd64', platform: 'debian' },
  boot_id: 'deadbeef-1111-2222-3333-444455556666',
}) as HostInfo;

export const AGENT: AgentInfo = Object.freeze({ name: 'web-01', type: 'ebpf-sensor', version: '0.1.0', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }) as AgentInfo;

export function decodeContext(): DecodeContext {
  return { bootToRealtimeNs: 1_763_900_000_000_000_000n, bootIdPrefix: 'deadbeef', sequence: 1 };
}

const S = Syscall;
const E = EventType;
const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/** One record spec per kind (the 'loss' kind has no kernel record). */
export function recordSpecs(): Array<{ kind: EventKind; spec: RecordSpec }> {
  const lo = [127, 0, 0, 1];
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const specs: Array<{ kind: EventKind; spec: RecordSpec }> = [
    {
      kind: 'exec',
      spec: {
        type: E.SE_EV_EXEC,
        pid: 4242,
        ppid: 17,
        uid: 1000,
        euid: 0,
        comm: 'sudo',
        tty: (136 << 20) | 3,
        args: [3, 4242, 99, 0, 0, S.SE_SC_EXECVE],
        strs: ['./run.sh', 'bash\0./run.sh\0--flag=a b\0', '/home/alice', '/usr/bin/bash'],
        env: { vars: ['LD_PRELOAD=/tmp/evil.so', 'HISTFILE=/dev/null'] },
      },
    },
    { kind: 'fork', spec: { type: E.SE_EV_FORK, pid: 17, comm: 'nginx', args: [4243, 4243, 700_000_000] } },
    { kind: 'exit', spec: { type: E.SE_EV_EXIT, pid: 4242, comm: 'bash', args: [256, 0] } },
    {
      kind: 'open',
      spec: {
        type: E.SE_EV_OPEN,
        ret: 3,
        args: [-100, O_WRONLY | O_CREAT | O_TRUNC, 0o644, 1234, 0, S.SE_SC_OPENAT],
        strs: ['/etc/passwd', '../etc/./passwd', null],
      },
    },
    { kind: 'open', spec: { type: E.SE_EV_OPEN, ret: 4, args: [-100, 0, 0, 99, 0, S.SE_SC_OPENAT], strs: ['/etc/shadow', '/etc/shadow', null] } },
    { kind: 'unlink', spec: { type: E.SE_EV_UNLINK, args: [-100, 0, 0, 0, 0, S.SE_SC_UNLINKAT], strs: ['/var/log/auth.log', null] } },
    {
      kind: 'rename',
      spec: { type: E.SE_EV_RENAME, args: [0, 0, 0, 0, 0, S.SE_SC_RENAMEAT2], strs: ['/tmp/x.sh', '/etc/cron.d/x', null, null] },
    },
    { kind: 'chmod', spec: { type: E.SE_EV_CHMOD, args: [-100, 0o4755, 0, 0, 0, S.SE_SC_FCHMODAT], strs: ['/tmp/suid', null] } },
    { kind: 'chown', spec: { type: E.SE_EV_CHOWN, args: [-100, 0, 0, 0, 0, S.SE_SC_FCHOWNAT], strs: ['/tmp/suid', null] } },
    { kind: 'link', spec: { type: E.SE_EV_LINK, args: [0, 0, 0, 0, 0, S.SE_SC_LINKAT], strs: ['/etc/shadow', '/tmp/s', null, null] } },
    { kind: 'symlink', spec: { type: E.SE_EV_SYMLINK, args: [0, 0, 0, 0, 0, S.SE_SC_SYMLINKAT], strs: ['/etc/shadow', 'link', null, '/tmp'] } },
    { kind: 'truncate', spec: { type: E.SE_EV_TRUNCATE, args: [0, 0, 0, 0, 0, S.SE_SC_TRUNCATE], strs: ['/var/log/wtmp', null] } },
    { kind: 'mkdir', spec: { type: E.SE_EV_MKDIR, args: [0o700, 0o700, 0, 0, 0, S.SE_SC_MKDIRAT], strs: ['.hidden', '/dev/shm'] } },
    { kind: 'setuid', spec: { type: E.SE_EV_SETUID, uid: 1000, args: [-1, 0, -1, 0, 0, S.SE_SC_SETRESUID] } },
    { kind: 'setgid', spec: { type: E.SE_EV_SETGID, args: [0, 0, 0, 0, 0, S.SE_SC_SETGID] } },
    { kind: 'ptrace', spec: { type: E.SE_EV_PTRACE, args: [16, 1, 0, 0, 0, 0] } },
    {
      kind: 'module_load',
      spec: { type: E.SE_EV_MODULE, uid: 0, args: [5, 0, 0, 0, 0, S.SE_SC_FINIT_MODULE], strs: ['/lib/modules/6.18/extra/rootkit.ko', 'hide=1', null, null] },
    },
    { kind: 'bpf', spec: { type: E.SE_EV_BPF, uid: 0, args: [5, 2, 120], strs: ['kprobe_hide'] } },
    { kind: 'bpf', spec: { type: E.SE_EV_BPF, uid: 0, args: [0, 1, 0], strs: ['my_map'] } },
    { kind: 'mount', spec: { type: E.SE_EV_MOUNT, uid: 0, args: [0, 0, 0, 0, 0, S.SE_SC_MOUNT], strs: ['/dev/sda1', '/mnt/host', 'ext4', null] } },
    { kind: 'umount', spec: { type: E.SE_EV_UMOUNT, uid: 0, args: [2], strs: ['/mnt/host', null] } },
    { kind: 'memfd_create', spec: { type: E.SE_EV_MEMFD, args: [1], strs: ['/memfd:payload (deleted)', 'payload'] } },
    { kind: 'unshare', spec: { type: E.SE_EV_UNSHARE, args: [0x10000000 | 0x20000] } },
    { kind: 'setns', spec: { type: E.SE_EV_SETNS, args: [3, 0x20000000], strs: ['/proc/1/ns/pid'] } },
    { kind: 'capset', spec: { type: E.SE_EV_CAPSET, args: [0, 0x1ffffffffffn, 0x1ffffffffffn, 0] } },
    { kind: 'io_uring_setup', spec: { type: E.SE_EV_IO_URING_SETUP, ret: 3, args: [4, 8, 2] } },
    {
      // An open submitted through a ring (IORING_OP_OPENAT = 18): the same open, flagged.
      kind: 'open',
      spec: {
        type: E.SE_EV_OPEN,
        flags: RecordFlags.SE_F_IO_URING | (18 << RecordFlags.SE_F_IOU_OP_SHIFT) | RecordFlags.SE_F_PATH_FROM_FILE,
        ret: 5,
        args: [-100, O_WRONLY, 0, 77, 0, S.SE_SC_OPENAT],
        strs: ['/etc/passwd', '/etc/passwd', null],
      },
    },
    {
      kind: 'connect',
      spec: {
        type: E.SE_EV_CONNECT,
        comm: 'bash',
        args: [3, 1, 6],
        strs: [sockaddrBlob(AF_INET, 4444, [203, 0, 113, 9]), sockaddrBlob(AF_INET, 51234, [10, 0, 0, 7])],
      },
    },
    {
      kind: 'connect',
      spec: { type: E.SE_EV_CONNECT, args: [3, 1, 0], strs: [sockaddrBlob(AF_UNIX, 0, [], Buffer.from('/run/docker.sock\0')), null] },
    },
    {
      kind: 'accept',
      spec: {
        type: E.SE_EV_ACCEPT,
        comm: 'sshd',
        args: [3, 1, 6, 0, 0, S.SE_SC_ACCEPT4],
        strs: [sockaddrBlob(AF_INET6, 50022, v6), sockaddrBlob(AF_INET6, 22, [...v6.slice(0, 15), 2])],
      },
    },
    { kind: 'bind', spec: { type: E.SE_EV_BIND, args: [3, 2, 17], strs: [null, sockaddrBlob(AF_INET, 53, lo)] } },
    { kind: 'listen', spec: { type: E.SE_EV_LISTEN, args: [3, 128, 1, 6], strs: [null, sockaddrBlob(AF_INET, 8080, [0, 0, 0, 0])] } },
    // issue 17's hooks. File capabilities cap_setuid,cap_net_raw+ep (VFS_CAP_REVISION_2, effective).
    {
      kind: 'xattr',
      spec: {
        type: E.SE_EV_XATTR,
        uid: 0,
        args: [-100, 20, 0, 0, 0, S.SE_SC_SETXATTR],
        strs: ['/tmp/python3', 'security.capability', null, fileCaps(0x02000001, [(1 << 7) | (1 << 13), 0, 0, 0])],
      },
    },
    {
      kind: 'xattr',
      spec: {
        type: E.SE_EV_XATTR,
        flags: RecordFlags.SE_F_PATH_FROM_FILE,
        args: [3, 32, 0, 0, 0, S.SE_SC_FSETXATTR],
        strs: ['/usr/sbin/sshd', 'security.selinux', null, Buffer.from('system_u:object_r:unlabeled_t:s0\0')],
      },
    },
    { kind: 'xattr', spec: { type: E.SE_EV_XATTR, args: [-100, 0, 0, 0, 0, S.SE_SC_REMOVEXATTR], strs: ['bin/tool', 'security.ima', '/opt'] } },
    {
      // A setxattr submitted through a ring (IORING_OP_SETXATTR = 42).
      kind: 'xattr',
      spec: {
        type: E.SE_EV_XATTR,
        flags: RecordFlags.SE_F_IO_URING | (42 << RecordFlags.SE_F_IOU_OP_SHIFT),
        args: [-100, 4, 1, 0, 0, S.SE_SC_SETXATTR],
        strs: ['/srv/www/index.php', 'user.origin', null, Buffer.from([0xde, 0xad, 0xbe, 0xef])],
      },
    },
    {
      kind: 'utimes',
      spec: { type: E.SE_EV_UTIMES, args: [-100, 0x100, 0, 0, 0, S.SE_SC_UTIMENSAT], strs: ['/usr/bin/sudo', utimesBlob(1262304000n, 0n, 1262304000n, 123456789n), null] },
    },
    { kind: 'utimes', spec: { type: E.SE_EV_UTIMES, flags: RecordFlags.SE_F_PATH_FROM_FILE, args: [3, 0, 1, 0, 0, S.SE_SC_UTIMENSAT], strs: ['/tmp/new', null, null] } },
    { kind: 'process_vm', spec: { type: E.SE_EV_PROC_VM_WRITE, ret: 4096, args: [1234, 1, 1, 0x7f0000001000n, 4096, S.SE_SC_PROCESS_VM_WRITEV] } },
    { kind: 'process_vm', spec: { type: E.SE_EV_PROC_VM_WRITE, ret: -1, args: [1, 1, 1, 0x400000, 64, S.SE_SC_PROCESS_VM_READV] } },
    { kind: 'prctl', spec: { type: E.SE_EV_PRCTL, comm: 'kworker/0:1', args: [15, 0, 0, 0, 0, S.SE_SC_PRCTL], strs: ['kworker/0:1', 'xmrig'] } },
    { kind: 'setsid', spec: { type: E.SE_EV_SETSID, ret: 4242, args: [0, 0, 0, 0, 0, S.SE_SC_SETSID] } },
    { kind: 'setpgid', spec: { type: E.SE_EV_SETPGID, args: [0, 0, 0, 0, 0, S.SE_SC_SETPGID] } },
    { kind: 'module_load', spec: { type: E.SE_EV_MODULE, uid: 0, ret: -38, args: [0, 0x800, 0, 0, 0, S.SE_SC_DELETE_MODULE], strs: [null, null, 'rootkit'] } },
    {
      kind: 'tamper',
      spec: { type: E.SE_EV_TAMPER, flags: RecordFlags.SE_F_TAMPERED, args: [E.SE_EV_OPEN, 1, 0, 0, 0, S.SE_SC_OPENAT], strs: ['/tmp/innocent', '/etc/shadow'] },
    },
  ];
  return specs;
}

/** struct vfs_cap_data: magic_etc then { permitted, inheritable } × 2. */
function fileCaps(magic: number, words: number[]): Buffer {
  const b = Buffer.alloc(4 + words.length * 4);
  b.writeUInt32LE(magic, 0);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 + i * 4));
  return b;
}

/** struct se_utimes. */
function utimesBlob(as: bigint, an: bigint, ms: bigint, mn: bigint): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigInt64LE(as, 0);
  b.writeBigInt64LE(an, 8);
  b.writeBigInt64LE(ms, 16);
  b.writeBigInt64LE(mn, 24);
  return b;
}

/** Complete an event the way enrich does (names, entity ids, parent, container). */
export function enrichLike(ev: SensorEvent, i: number): SensorEvent {
  const p = ev.process;
  p.entity_id = `ent-${p.pid}-${i}`;
  if (p.executable === undefined) {
    p.executable = `/usr/bin/${p.name}`;
    p.args = [p.name, '-c', 'id'];
    p.args_count = 3;
    p.command_line = p.args.join(' ');
  }
  p.working_directory ??= '/root';
  p.parent.entity_id = `ent-${p.parent.pid}-p`;
  p.parent.name ??= 'systemd';
  p.parent.executable = '/usr/lib/systemd/systemd';
  p.parent.args = ['/usr/lib/systemd/systemd', '--user'];
  p.parent.command_line = p.parent.args.join(' ');
  const names: Record<string, string> = { '0': 'root', '1000': 'alice' };
  for (const u of [ev.user, ev.group, p.user, p.group, p.real_user, p.real_group, p.saved_user, p.saved_group]) {
    const n = names[u.id];
    if (n !== undefined) u.name = n;
  }
  if (ev.file?.uid !== undefined) ev.file.owner = names[ev.file.uid] ?? ev.file.uid;
  if (i % 3 === 0) {
    ev.container = { id: '3f2a9c1b7d8e4f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a', runtime: 'containerd' };
    ev.ebpf.process!.cgroup = '/system.slice/containerd.service/kubepods-3f2a';
  }
  return ev;
}

/** The pipeline's loss report event, as pipeline.ts builds it. */
export function lossEvent(seq = 99): SensorEvent {
  const id = { id: '0' };
  return {
    '@timestamp': '2025-11-23T12:00:00.123000000Z',
    event: { id: 'deadbeefloss18a2b3c4d5e6f7', sequence: seq, action: 'events-lost', outcome: 'failure' },
    process: {
      pid: 321,
      entity_id: '',
      name: 'ebpf-sensor',
      executable: '/usr/bin/node',
      thread: { id: 321 },
      user: id,
      group: { id: '0' },
      real_user: id,
      real_group: { id: '0' },
      saved_user: id,
      saved_group: { id: '0' },
      parent: { pid: 1 },
    },
    user: id,
    group: { id: '0' },
    ebpf: { kind: 'loss', syscall: 'none', loss: { kernel: 1200, reader: 3, per_cpu: [1000, 200], interval_s: 10 } },
  };
}

export const MATCH_HIGH: RuleMatch = Object.freeze({
  id: 'cred-file-write',
  name: 'Write to a credential file',
  description: 'A process opened /etc/passwd or /etc/shadow for writing.',
  severity: 'high',
  tags: ['TA0003', 'T1098', 'T1003.008'],
  message: 'bash (pid 4242) wrote /etc/passwd',
  ruleset: 'bundled',
  version: '1.0.0',
  action: 'alert',
}) as RuleMatch;

export const MATCH_CRITICAL: RuleMatch = Object.freeze({
  id: 'kernel-module-load',
  name: 'Kernel module loaded',
  description: 'A kernel module was loaded.',
  severity: 'critical',
  tags: ['T1547.006', 'container'],
  message: 'module rootkit loaded by insmod',
  ruleset: 'bundled',
  version: '1.0.0',
  action: 'alert',
}) as RuleMatch;

export const NORMAL: Verdict = Object.freeze({ classification: 'normal', matches: [] }) as unknown as Verdict;

/** Every kind decoded from a record, success and failure, normal and suspicious (one and two matches). */
export function corpus(): ClassifiedEvent[] {
  const ctx = decodeContext();
  const out: ClassifiedEvent[] = [];
  let i = 0;
  for (const { spec } of recordSpecs()) {
    for (const ret of [spec.ret ?? 0, -13]) {
      const rec = buildRecord({ ...spec, ret, tsNs: 5_000_000_000n + BigInt(i) * 1_000_123n });
      const ev = enrichLike(decodeRecord(rec, 0, rec.length, ctx), i);
      const verdicts: Verdict[] = [
        { classification: 'normal', matches: [] },
        { classification: 'suspicious', matches: [{ ...MATCH_HIGH, tags: [...MATCH_HIGH.tags] }] },
        { classification: 'suspicious', matches: [{ ...MATCH_HIGH, tags: [...MATCH_HIGH.tags] }, { ...MATCH_CRITICAL, tags: [...MATCH_CRITICAL.tags] }] },
      ];
      for (const verdict of verdicts) out.push({ event: structuredClone(ev), verdict });
      i++;
    }
  }
  out.push({ event: lossEvent(), verdict: { classification: 'normal', matches: [] } });
  return out;
}

/** Kinds present in `corpus()` (all of EVENT_KINDS; asserted by the tests). */
export function corpusKinds(list: readonly ClassifiedEvent[]): Set<EventKind> {
  const kinds = new Set<EventKind>();
  for (const ce of list) kinds.add(ce.event.ebpf.kind);
  return kinds;
}
