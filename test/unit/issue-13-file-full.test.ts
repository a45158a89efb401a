// issue 13: the file output on a full disk. A write the disk takes only part
// of is cut back to the last whole line, so the retry appends whole lines
// after whole lines (no unparsable half line, no duplicate of its start).
// The limit is made with RLIMIT_FSIZE in a child (SIGXFSZ ignored): the
// kernel takes what fits, then refuses with EFBIG, as a full disk does with
// ENOSPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';

test('issue-13-file-full: a partial write is cut back to the last whole line; the retry appends whole lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-full-'));
  const out = join(dir, 'out.ndjson');
  const script = join(dir, 'write.mjs');
  writeFileSync(
    script,
    `import { RotatingFile } from ${JSON.stringify(join(packageRoot, 'dist/src/sinks/rotating-file.js'))};
const f = new RotatingFile({ path: ${JSON.stringify(out)}, maxBytes: 0, keep: 1 });
const line = (i) => JSON.stringify({ i, pad: 'x'.repeat(90) }) + '\\n';
let batch = '';
for (let i = 0; i < 15; i++) batch += line(i);
let err;
// Batches of about 1.6 kB until the limit cuts one (the shell counts ulimit -f in 512- or 1024-byte blocks).
for (let k = 0; k < 10 && !err; k++) {
  try { f.write(batch); } catch (e) { err = e; }
}
console.log(JSON.stringify({ code: err?.code, size: f.size }));
f.close();
`,
  );
  const r = spawnSync('sh', ['-c', `ulimit -f 4; trap '' XFSZ; exec "${process.execPath}" "${script}"`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim()) as { code: string; size: number };
  assert.equal(res.code, 'ESENSOR_OUTPUT');
  const text = readFileSync(out, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  const lines = text.split('\n').slice(0, -1);
  assert.ok(lines.length >= 15 && lines.length % 15 === 0, `whole batches only (${lines.length} lines)`);
  for (const l of lines) JSON.parse(l);
  assert.equal(Buffer.byteLength(text), res.size);
});
