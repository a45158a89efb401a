#!/usr/bin/env -S node --min-semi-space-size=16
// Entry point of the ebpf-sensor command (compiled TypeScript lives in dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '../dist/src/cli/main.js');
if (!existsSync(main)) {
  process.stderr.write('ebpf-sensor: ESENSOR_BUILD_MISSING: not built yet (run: npm run setup)\n');
  process.exit(3);
}
const { main: run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
