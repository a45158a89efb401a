import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, decodeRecord, isoFromNs, resolveCallerPath, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, StrFlags, RecordFlags, Syscall, OFFSETOF, ProvFlags } from '../../src/decode/abi.generated.js';
import { encodeRaw } from '../../src/model/raw-text.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord, frames, sockaddrBlob } from '../helpers/record-builder.js';

const ctx = (): DecodeContext => ({ bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'deadbeef', sequence: 7 });

function one(rec: Buffer, c = ctx()): SensorEvent {
  return decodeRecord(rec, 0, rec.length, c);
}

test('exec: pid, ppid, uids, comm, filename, argv, cwd and the resolved executable', () => {
  const rec = buildRecord({
    type: EventType.SE_EV_EXEC,
    pid: 4242,
    ppid: 17,
    uid: 1000,
    euid: 0,
    comm: 'sudo',
    tsNs: 5_000_000_123n,
    args: [3, 4242, 99, 0, 0, Syscall.SE_SC_EXECVE],
    strs: ['./run.sh', 'bash\0./run.sh\0--flag=a b\0', '/home/u', '/usr/bin/bash'],
  });
  const ev = one(rec);
  assert.equal(ev.event.action, 'exec');
  assert.equal(ev.ebpf.syscall, 'execve');
  assert.equal(ev.event.outcome, 'success');
  assert.equal(ev.event.sequence, 7);
  assert.equal(ev.process.pid, 4242);
  assert.equal(ev.process.parent.pid, 17);
  assert.deepEqual(ev.process.args, ['bash', './run.sh', '--flag=a b']);
  assert.equal(ev.process.args_count, 3);
  assert.equal(ev.process.executable, '/usr/bin/bash');
  assert.equal(ev.process.name, 'bash');
  assert.equal(ev.process.working_directory, '/home/u');
  assert.equal(ev.process.user.id, '0', 'process.user is the effective user');
  assert.equal(ev.process.real_user.id, '1000');
  assert.equal(ev.ebpf.exec?.filename, './run.sh');
  assert.equal(ev.ebpf.process?.comm, 'sudo');
  assert.equal(ev['@timestamp'], '2023-11-14T22:13:25.000000123Z');
  assert.match(ev.event.id, /^deadbeef[0-9a-f]{16}[0-9a-f]{8}01$/);
});

test('exec: the writer of the executed file (provenance) is decoded; absent when the kernel knew none', () => {
  const base = {
    type: EventType.SE_EV_EXEC,
    pid: 500,
    args: [1, 500, 99, 0, 0, Syscall.SE_SC_EXECVE],
    strs: ['/tmp/x', '/tmp/x\0', '/tmp', '/tmp/x'],
  };
  assert.equal(one(buildRecord(base)).ebpf.provenance, undefined);
  const ev = one(
    buildRecord({
      ...base,
      tsNs: 9_000_000_000n,
      provenance: {
        writeNs: 8_000_000_001n,
        startNs: 7_000_000_000n,
        pid: 321,
        uid: 1000,
        flags: ProvFlags.SE_PROV_CONNECTED | ProvFlags.SE_PROV_CREATE,
        comm: 'curl',
        exe: '/usr/bin/curl',
      },
    }),
  );
  assert.equal(ev.process.executable, '/tmp/x', 'the strings after the extension are intact');
  assert.deepEqual(ev.ebpf.provenance, {
    writer: {
      pid: 321,
      name: 'curl',
      executable: '/usr/bin/curl',
      entity_id: '',
      start_boot_ns: '7000000000',
      user: { id: '1000' },
      connected_out: true,
      parent_connected_out: false,
    },
    written: isoFromNs(1_700_000_000_000_000_000n + 8_000_000_001n),
    created: true,
    io_uring: false,
  });
});

test('exec: the captured environment (se_exec_ext) becomes process.env_vars, URL passwords masked, a cut capture is flagged', () => {
  const strs = ['/usr/bin/curl', 'curl\0', '/', '/usr/bin/curl'];
  const ev = one(buildRecord({ type: EventType.SE_EV_EXEC, strs, env: { vars: ['LD_PRELOAD=/tmp/x.so', 'https_proxy=http://bob:s3cret@10.0.0.1:3128', 'ALL_PROXY=socks5h://127.0.0.1:9050'], count: 31 } }));
  assert.deepEqual(ev.process.env_vars, ['LD_PRELOAD=/tmp/x.so', 'https_proxy=http://bob:REDACTED@10.0.0.1:3128', 'ALL_PROXY=socks5h://127.0.0.1:9050']);
  assert.equal(ev.ebpf.truncated, undefined);
  const cut = one(buildRecord({ type: EventType.SE_EV_EXEC, strs, env: { vars: ['LD_PRELOAD=/tmp/x.so'], flags: StrFlags.SE_STR_TRUNCATED } }));
  assert.deepEqual(cut.process.env_vars, ['LD_PRELOAD=/tmp/x.so']);
  assert.deepEqual(cut.ebpf.truncated, ['process.env_vars']);
  // Capture off (or nothing allow-listed set): no field at all, never an empty list.
  assert.equal(one(buildRecord({ type: EventType.SE_EV_EXEC, strs })).process.env_vars, undefined);
  assert.equal(one(buildRecord({ type: EventType.SE_EV_EXEC, strs, env: { vars: [] } })).process.env_vars, undefined);
});

test('exec: an environment descriptor past the record end is refused', () => {
  const rec = buildRecord({ type: EventType.SE_EV_EXEC, strs: ['/bin/true', 'true\0', '/', '/usr/bin/true'], env: { vars: ['LD_PRELOAD=/x'] } });
  assert.throws(() => decodeRecord(rec, 0, rec.length - 4, ctx()), /exec environment/);
});

test('exec: same record decodes to the same event id (idempotent delivery)', () => {
  const rec = buildRecord({ type: EventType.SE_EV_EXEC, strs: ['/bin/true', 'true\0', '/', '/usr/bin/true'] });
  assert.equal(one(rec).event.id, one(rec).event.id);
  const other = buildRecord({ type: EventType.SE_EV_EXEC, tsNs: 1_000_000_001n, strs: ['/bin/true', 'true\0', '/', '/usr/bin/true'] });
  assert.notEqual(one(rec).event.id, one(other).event.id);
});

test('exec: truncated argv is flagged, not silently cut', () => {
  const rec = buildRecord({
    type: EventType.SE_EV_EXEC,
    flags: RecordFlags.SE_F_ARGV_TRUNCATED,
    strs: ['/bin/echo', { data: 'echo\0aaaa', flags: StrFlags.SE_STR_TRUNCATED }, '/', '/usr/bin/echo'],
  });
  const ev = one(rec);
  assert.deepEqual(ev.process.args, ['echo', 'aaaa']);
  assert.ok(ev.ebpf.truncated?.includes('process.args'));
  assert.equal(ev.ebpf.exec?.argv_truncated, true);
});

test('exec failure: process stays the caller, the attempted file is the event file, errno named', () => {
  const rec = buildRecord({ type: EventType.SE_EV_EXEC, ret: -13, strs: ['sub/tool', 'tool\0-x\0', '/opt', null] });
  const ev = one(rec);
  assert.equal(ev.event.outcome, 'failure');
  assert.equal(ev.ebpf.errno, 13);
  assert.equal(ev.ebpf.error, 'EACCES');
  assert.equal(ev.process.executable, undefined);
  assert.equal(ev.file?.path, '/opt/sub/tool');
  assert.deepEqual(ev.ebpf.exec?.args, ['tool', '-x']);
});

test('open: kernel-resolved path wins; caller string kept when it differs; intent from flags', () => {
  const O_WRONLY = 1;
  const O_CREAT = 0o100;
  const O_TRUNC = 0o1000;
  const rec = buildRecord({
    type: EventType.SE_EV_OPEN,
    ret: 3,
    args: [-100, O_WRONLY | O_CREAT | O_TRUNC, 0o644, 1234, 0, Syscall.SE_SC_OPENAT],
    strs: ['/etc/passwd', '../etc/./passwd', null],
  });
  const ev = one(rec);
  // Opened for writing with O_CREAT: Elastic's endpoint calls that a creation.
  assert.equal(ev.event.action, 'creation');
  assert.equal(ev.ebpf.syscall, 'openat');
  assert.equal(ev.file?.path, '/etc/passwd');
  assert.equal(ev.file?.name, 'passwd');
  assert.equal(ev.file?.directory, '/etc');
  assert.equal(ev.ebpf.requested?.path, '../etc/./passwd');
  assert.deepEqual(ev.ebpf.open?.intent, ['write', 'create', 'truncate']);
  assert.deepEqual(ev.ebpf.open?.flag_names, ['O_WRONLY', 'O_CREAT', 'O_TRUNC']);
  assert.equal(ev.ebpf.open?.mode, '0644');
  assert.equal(ev.ebpf.path_source, 'file');
});

test('open failure: path resolved from the dirfd/cwd base and normalized', () => {
  const rec = buildRecord({
    type: EventType.SE_EV_OPEN,
    ret: -2,
    args: [-100, 0, 0, 0, 0, Syscall.SE_SC_OPEN],
    strs: [null, 'a/./b/../c.txt', '/tmp/x'],
  });
  const ev = one(rec);
  assert.equal(ev.event.outcome, 'failure');
  assert.equal(ev.ebpf.error, 'ENOENT');
  assert.equal(ev.file?.path, '/tmp/x/a/c.txt');
  assert.equal(ev.file?.extension, 'txt');
  assert.deepEqual(ev.ebpf.open?.intent, ['read']);
});

test('non-UTF-8 path bytes survive losslessly', () => {
  const raw = Buffer.concat([Buffer.from('/tmp/'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('é|=\\\n')]);
  const rec = buildRecord({ type: EventType.SE_EV_OPEN, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: [raw, null, null] });
  const ev = one(rec);
  assert.ok(ev.file);
  assert.deepEqual(encodeRaw(ev.file.path), raw);
  // and through JSON (journal, capture files)
  const back = JSON.parse(JSON.stringify(ev)) as SensorEvent;
  assert.deepEqual(encodeRaw(back.file!.path), raw);
});

test('connect: IPv4, IPv6 (RFC 5952) and unix socket addresses', () => {
  const v4 = one(
    buildRecord({
      type: EventType.SE_EV_CONNECT,
      args: [3, 1, 6],
      strs: [sockaddrBlob(2, 4444, [127, 0, 0, 1]), sockaddrBlob(2, 40000, [10, 0, 0, 5])],
    }),
  );
  assert.deepEqual(v4.destination, { ip: '127.0.0.1', port: 4444, address: '127.0.0.1' });
  assert.deepEqual(v4.source, { ip: '10.0.0.5', port: 40000, address: '10.0.0.5' });
  assert.equal(v4.network?.transport, 'tcp');
  assert.equal(v4.network?.type, 'ipv4');
  assert.equal(v4.network?.direction, 'egress');
  const v6 = one(
    buildRecord({
      type: EventType.SE_EV_CONNECT,
      args: [3, 2, 17],
      strs: [sockaddrBlob(10, 53, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), null],
    }),
  );
  assert.equal(v6.destination?.ip, '2001:db8::1');
  assert.equal(v6.network?.transport, 'udp');
  const unix = one(buildRecord({ type: EventType.SE_EV_CONNECT, args: [3, 1, 0], strs: [sockaddrBlob(1, 0, [], Buffer.from('/run/x.sock\0')), null] }));
  assert.equal(unix.destination?.address, '/run/x.sock');
  assert.equal(unix.network?.type, 'unix');
  const abstract = one(buildRecord({ type: EventType.SE_EV_CONNECT, args: [3, 1, 0], strs: [sockaddrBlob(1, 0, [], Buffer.from('\0hidden')), null] }));
  assert.equal(abstract.ebpf.socket?.path, '@hidden');
});

test('decodeChunk: bad records are counted and skipped, good ones kept', () => {
  const good = buildRecord({ type: EventType.SE_EV_EXEC, strs: ['/bin/a', 'a\0', '/', '/bin/a'] });
  const wrongAbi = buildRecord({ type: EventType.SE_EV_EXEC, abi: 99 });
  const unknownType = buildRecord({ type: 77 });
  const { chunk, used } = frames([good, wrongAbi, unknownType, good]);
  const out: SensorEvent[] = [];
  const stats = { records: 0, errors: 0 };
  decodeChunk(chunk, used, ctx(), out, stats);
  assert.equal(out.length, 2);
  assert.equal(stats.errors, 2);
});

test('decodeChunk: a frame claiming bytes past the chunk stops the chunk with an error', () => {
  const good = buildRecord({ type: EventType.SE_EV_EXEC, strs: ['/bin/a', 'a\0', '/', '/bin/a'] });
  const { chunk, used } = frames([good, good]);
  chunk.writeUInt32LE(100000, (4 + good.length + 7) & ~7);
  const out: SensorEvent[] = [];
  const stats = { records: 0, errors: 0 };
  decodeChunk(chunk, used, ctx(), out, stats);
  assert.equal(out.length, 1);
  assert.equal(stats.errors, 1);
});

test('string offsets outside the record are rejected', () => {
  const rec = buildRecord({ type: EventType.SE_EV_EXEC, strs: ['/bin/a'] });
  rec.writeUInt16LE(60000, OFFSETOF.se_event.str + OFFSETOF.se_str.off); // slot 0 offset
  assert.throws(() => one(rec), /exceeds record/);
});

test('isoFromNs keeps nanoseconds; resolveCallerPath normalizes', () => {
  assert.equal(isoFromNs(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
  assert.equal(resolveCallerPath('../../etc//passwd', '/a/b/c'), '/a/etc/passwd');
  assert.equal(resolveCallerPath('x/', '/'), '/x');
  assert.equal(resolveCallerPath('/a/./b/../b', undefined), '/a/b');
});
