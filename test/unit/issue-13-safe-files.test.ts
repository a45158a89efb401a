// issue 13, "the rule/config safety check": a rule or config file is opened
// once and the open file checked (no stat-then-read race), its directory is
// checked too, a FIFO is refused without hanging, and the check applies when
// the sensor runs as a dedicated user (the CAP_BPF deployment), not only as root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSensorError } from '../../src/errors.js';
import { loadConfig, readSafeFile } from '../../src/config/config.js';
import { loadRules } from '../../src/rules/engine.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';

const root = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-safe-'));
chmodSync(root, 0o755);
const isRoot = process.geteuid?.() === 0;

function refused(file: string, pattern: RegExp): void {
  assert.throws(
    () => readSafeFile(file),
    (e: unknown) => {
      assert.ok(isSensorError(e, 'ESENSOR_CONFIG_UNSAFE'), String(e));
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('issue-13: rule and config files', () => {
  test('issue-13-safe-file: a safe file in a directory others can write is refused', () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const f = join(open, 'sensor.yaml');
    writeFileSync(f, 'output:\n  format: ecs\n', { mode: 0o644 });
    refused(f, /is in .*open, which is writable by others/);
    assert.throws(() => loadConfig(f, {}), (e: unknown) => isSensorError(e, 'ESENSOR_CONFIG_UNSAFE'));
    // The same with the sticky bit (as /tmp) is fine: others cannot replace our file.
    chmodSync(open, 0o1777);
    assert.equal(readSafeFile(f), 'output:\n  format: ecs\n');
  });

  test('issue-13-safe-file: a rule file owned by another user, or one others can write, is refused by the rule loader', { skip: isRoot ? false : 'needs root to chown' }, () => {
    const d = join(root, 'rules');
    mkdirSync(d, { mode: 0o755 });
    const f = join(d, 'site.yaml');
    writeFileSync(f, '- rule: x\n  desc: x\n  condition: ebpf.kind = open\n  output: x\n  severity: low\n', { mode: 0o644 });
    chownSync(f, 65534, 65534);
    assert.throws(
      () => loadRules({ bundled: false, paths: [f], read: readSafeFile }),
      (e: unknown) => isSensorError(e) && /owned by uid 65534/.test(String(e)) ,
    );
    chownSync(f, 0, 0);
    chmodSync(f, 0o666);
    refused(f, /writable by others/);
  });

  test('issue-13-safe-file: a FIFO named like the config is refused at once, not read', () => {
    const fifo = join(root, 'fifo.yaml');
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    refused(fifo, /not a regular file/);
  });

  test('issue-13-safe-file: the check applies to a non-root sensor user too', { skip: isRoot ? false : 'needs root to switch user' }, () => {
    const f = join(root, 'world.yaml');
    writeFileSync(f, 'output:\n  format: ecs\n');
    chmodSync(f, 0o666);
    const script = `import('${join(packageRoot, 'dist/src/config/config.js')}').then((m) => { try { m.loadConfig(${JSON.stringify(f)}, {}); console.log('accepted'); } catch (e) { console.log(e.code); } })`;
    const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    assert.equal(r.stdout.trim(), 'ESENSOR_CONFIG_UNSAFE', r.stderr);
  });
});
