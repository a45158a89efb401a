// issue 14 point 7: the launcher (bin/ebpf-sensor.js, started through its #! line as systemd, the
// image's entrypoint and a shell start it) caps glibc's malloc arenas at two. Otherwise every
// thread that mallocs gets its own arena (up to 8 per core): V8's four worker threads each keep
// an arena of 2.5–5 MB resident from TurboFan's compile zones, 14–18 MB at a storm's peak
// (docs/benchmarks.md, "Memory, issue #14 s22").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { tempDir } from '../helpers/replay-fixtures.js';

function arenaMaxSeen(): string {
  const dir = tempDir('ebpf-sensor-launcher-arenas-');
  try {
    // Loaded before the CLI through NODE_OPTIONS: reports the environment glibc read at start.
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, "process.stderr.write(`ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}\\n`);\n");
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const r = spawnSync(join(packageRoot, 'bin/ebpf-sensor.js'), ['--version'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const m = /ARENA_MAX=(\S+)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    return m[1]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('issue-14-launcher-arenas: the executable launcher starts node with at most two malloc arenas', () => {
  assert.equal(arenaMaxSeen(), '2');
});
