#!/usr/bin/env node
// Runs every compiled benchmark in dist/bench/ (or the ones named) and prints their numbers.
//   node scripts/bench.js [name ...]   e.g. node scripts/bench.js kernel-overhead rules
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist/bench');
if (!existsSync(dir)) {
  console.error('no compiled benchmarks: run npm run setup');
  process.exit(1);
}
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith('.js') && !f.includes('helper'));
const list = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
let failed = false;
for (const f of list.sort()) {
  console.log(`\n# ===== bench: ${f} =====`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
