/**
 * What a process pays before its first event: loading the configuration
 * schema and the bundled ruleset, in cold processes (issue #14). Per tree
 * (this build, and another with --compare), alternating, --runs times:
 * CPU of importing the config/rule modules, the first validateConfig({})
 * (every start), readRuleFiles of the bundled rules (YAML, schema),
 * compileRules, and of a whole `ebpf-sensor rules lint` process. Prints
 * means; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/ruleset-load.js [--runs 6] [--compare TREE]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PHASES = `
const t = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const root = process.argv[1];
let a = t();
const cfg = await import(root + '/dist/src/config/config.js');
const src = await import(root + '/dist/src/rules/source.js');
const comp = await import(root + '/dist/src/rules/compiler.js');
const imports = t() - a;
a = t(); cfg.validateConfig({}, 'bench'); const config = t() - a;
a = t(); const r = src.readRuleFiles(src.expandRulePaths([src.BUNDLED_RULES_DIR])); const read = t() - a;
a = t(); const c = comp.compileRules(r.files); const compile = t() - a;
if (r.errors.length || c.errors.length) throw new Error('bundled rules have problems');
console.log(JSON.stringify({ imports, config, read, compile }));`;

const LINT = `
process.on('exit', () => { const c = process.cpuUsage(); process.stderr.write('\\nCPU ' + (c.user + c.system) / 1000 + '\\n'); });
process.argv = [process.argv[0], process.argv[1] + '/bin/ebpf-sensor.js', 'rules', 'lint'];
await import(process.argv[1]);`;

function run(code: string, tree: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, tree], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tree}: exit ${r.status}: ${r.stderr}`);
  return code === LINT ? /CPU ([\d.]+)/.exec(r.stderr)![1]! : r.stdout;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '6' }, compare: { type: 'string' } } });
  const runs = Number(values.runs);
  const here = fileURLToPath(new URL('../..', import.meta.url));
  const trees = [here.replace(/\/$/, ''), ...(values.compare ? [values.compare] : [])];
  const sums = new Map<string, Record<string, number>>();
  for (let i = 0; i < runs; i++) {
    for (const tree of trees) {
      const s = sums.get(tree) ?? { imports: 0, config: 0, read: 0, compile: 0, lint: 0 };
      const o = JSON.parse(run(PHASES, tree)) as Record<string, number>;
      for (const [k, v] of Object.entries(o)) s[k]! += v / runs;
      s.lint! += Number(run(LINT, tree)) / runs;
      sums.set(tree, s);
    }
  }
  console.log(`| tree | imports | first validateConfig({}) | readRuleFiles (bundled) | compileRules | \`rules lint\` process |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [tree, s] of sums) {
    const ms = (k: string): string => `${s[k]!.toFixed(0)} ms`;
    console.log(`| ${tree} | ${ms('imports')} | ${ms('config')} | ${ms('read')} | ${ms('compile')} | ${ms('lint')} |`);
  }
  console.log(`CPU per cold process, mean of ${runs} runs per tree, trees alternating`);
}

await main();
