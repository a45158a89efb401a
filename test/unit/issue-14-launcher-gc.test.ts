// issue 14: the launcher (bin/ebpf-sensor.js, started through its #! line as
// systemd, the image's entrypoint and a shell start it) keeps V8's young
// generation at 16 MiB per semi-space from the start, so a storm's in-flight
// objects (held across a slice or until the journal's fsync) die young
// instead of being promoted: fewer scavenges and mark-compacts per event
// (docs/benchmarks.md, "Node's own threads").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { tempDir } from '../helpers/replay-fixtures.js';

test('issue-14-launcher-gc: the executable launcher starts node with a 16 MiB minimum semi-space', (t) => {
  const dir = tempDir('ebpf-sensor-launcher-gc-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Loaded before the CLI through NODE_OPTIONS; reports the new space V8 reserved at start (the
  // CLI's module loading may grow it later whatever the flags).
  const probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    "import v8 from 'node:v8';\nconst s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');\nprocess.stderr.write(`NEW_SPACE ${s.space_size}\\n`);\n",
  );
  const env = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const r = spawnSync(join(packageRoot, 'bin/ebpf-sensor.js'), ['--version'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const m = /NEW_SPACE (\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  // Without the flag a fresh process's new space is 1 MiB per semi-space.
  assert.ok(Number(m[1]) >= 16 << 20, `new space ${m[1]} bytes`);
});
