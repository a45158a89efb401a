// issue 14 (point 7): the launcher (bin/ebpf-sensor.js, started through its #! line as systemd, the
// image's entrypoint and a shell start it) fixes glibc's mmap threshold at 256 KiB. With glibc's
// default the threshold rises to the size of the largest mmap'd block freed (libbpf's BTF buffers at
// load, then the 1–2 MiB read and tail chunks), after which those chunks come from the brk heap and
// their freed space stays resident: 36–54 MB of malloc heap at a storm's peak instead of 12–13
// (docs/benchmarks.md, "Memory, issue #14 s20").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { tempDir } from '../helpers/replay-fixtures.js';

test('issue-14-launcher-malloc: the executable launcher starts node with a fixed 256 KiB mmap threshold', (t) => {
  const dir = tempDir('ebpf-sensor-launcher-malloc-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, "process.stderr.write(`MMAP_THRESHOLD ${process.env.MALLOC_MMAP_THRESHOLD_ ?? 'unset'}\\n`);\n");
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  delete env.MALLOC_MMAP_THRESHOLD_;
  const r = spawnSync(join(packageRoot, 'bin/ebpf-sensor.js'), ['--version'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  // glibc reads it at the process's first allocation: the variable must be in node's own environment.
  assert.match(r.stderr, /MMAP_THRESHOLD 262144\n/);
  // And it stays on the #! line, which is what the service unit and the image run.
  assert.match(readFileSync(join(packageRoot, 'bin/ebpf-sensor.js'), 'utf8').split('\n')[0]!, /^#!\/usr\/bin\/env -S MALLOC_MMAP_THRESHOLD_=262144 node /);
});
