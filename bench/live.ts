/**
 * End-to-end benchmark of the LIVE sensor: `ebpf-sensor run` (its BPF
 * programs, the bundled rules, the default config, a file output) during a
 * fork storm, an exec storm and a write storm (files created and written in a
 * directory), each also run without the sensor in the same invocation.
 * Prints, per storm: events delivered to the output, the sensor process's CPU
 * per delivered event (utime + stime from /proc/PID/stat, from just before the
 * storm until the output stopped growing), the storm's overhead ratio (with /
 * without the sensor), kernel losses (loss events in the output), idle RSS
 * and peak RSS (VmHWM), and the sensor's CPU per event by thread (user and
 * system time from /proc/PID/task/TID/stat). Asserts nothing. Needs root and BPF; run it under
 * /tmp/ebpf-sensor-kernel.lock on shared machines.
 *
 *   node dist/bench/live.js [--storms fork,exec,write] [--forks 20000] [--execs 3000]
 *        [--writes 40000] [--format ecs|cef] [--prof DIR] [--node-option OPT]...
 *        [--compare ROOT]... [--env KEY=VALUE]... [--sink file|kafka|elasticsearch]
 *        [--rounds N]
 *
 * --rounds N (default 1) runs each storm N times against the same started
 * sensor, one row per round: round 1 meets a cold sensor (code not yet
 * compiled, heap not yet grown), rounds 2… a warm one, so the steady-state
 * cost shows apart from the warm-up. The runs without the sensor (before it
 * starts and after it stops) are shared by the rounds; a round's VmHWM is the
 * peak so far.
 *
 * --compare ROOT also measures the sensor built in ROOT (another checkout,
 * e.g. the previous commit) on the same storms, alternating with this one.
 * --prof DIR passes --cpu-prof to the sensor (one profile per storm in DIR).
 * The sensor is started as users start it, by executing ROOT/bin/ebpf-sensor.js
 * (its #! line chooses how node runs); --node-option and --prof reach it
 * through NODE_OPTIONS.
 * --sink kafka|elasticsearch: the sensor's only output is the test harness's
 * real Kafka or Elasticsearch (started here unless EBPF_SENSOR_TEST_SERVICES
 * names running ones; hold /tmp/ebpf-sensor-integration.lock too) and the
 * counts come from what arrived there (bench/live-sinks.ts). Kafka rows add a
 * bare kafkajs producer sending the same bytes, in its own process;
 * Elasticsearch rows add the node's own CPU. A list (`--sink file,kafka`)
 * measures each output in the same invocation, one after the other.
 *
 * Every row also gives the sensor's idle CPU rate, measured over
 * IDLE_SECONDS before the first storm (its timers, GC, the machine's other
 * events), the storm window's wall seconds, and the CPU per event net of
 * that rate over the window: against a slow server, what the sensor does
 * per second whatever it sends would otherwise be divided by few documents.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { packageRoot } from '../src/sources/kernel/paths.js';
import { stormBinary } from './storm-binary.js';
import { bpfUnavailableReason } from '../src/sources/kernel/preflight.js';
import { LineCounts, bareProducerUs, elasticsearchCpu, openArrivals, sinkConfig, type Arrivals, type LiveSinkKind } from './live-sinks.js';
import { benchServices } from './services-helper.js';

const { values } = parseArgs({
  options: {
    storms: { type: 'string', default: 'fork,exec,write' },
    forks: { type: 'string', default: '20000' },
    execs: { type: 'string', default: '3000' },
    writes: { type: 'string', default: '40000' },
    format: { type: 'string', default: 'ecs' },
    prof: { type: 'string' },
    'node-option': { type: 'string', multiple: true, default: [] },
    config: { type: 'string' },
    /** Other builds of the sensor to measure in the same invocation (package roots), e.g. the previous commit's. */
    compare: { type: 'string', multiple: true, default: [] },
    /** Environment overrides for the sensor (config keys, e.g. EBPF_SENSOR_KERNEL__RING_BYTES=8388608). */
    env: { type: 'string', multiple: true, default: [] },
    /** Where the sensor sends its events: file (default), kafka or elasticsearch, or a list (each in turn). */
    sink: { type: 'string', default: 'file' },
    /** Storms per started sensor: round 1 meets a cold sensor, later rounds a warm one (steady state). */
    rounds: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: a whole number ≥ 1`);
const sinkKinds = values.sink!.split(',') as LiveSinkKind[];
for (const k of sinkKinds) if (!['file', 'kafka', 'elasticsearch'].includes(k)) throw new Error(`--sink ${k}: file, kafka or elasticsearch`);
/** Seconds over which the started sensor's idle CPU rate is measured, before the first storm. */
const IDLE_SECONDS = 5;
/** After a reported kernel loss, how long the storm's lines must have stopped before its round ends without its exit. */
const LOST_QUIET_MS = 3000;

const execFileAsync = promisify(execFile);
const CLK_TCK = 100;

/** Run a storm; `onPid` learns its pid at once. Resolves with its ns per operation. */
async function storm(args: string[], onPid?: (pid: number) => void): Promise<number> {
  const p = execFileAsync(stormBinary(), args, { encoding: 'utf8' });
  if (p.child.pid !== undefined) onPid?.(p.child.pid);
  const { stdout } = await p;
  return (JSON.parse(stdout) as { ns_per_op: number }).ns_per_op;
}

/** utime + stime of a process, seconds. */
function cpuOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Per thread of a process: name → [utime, stime] in seconds, summed over threads of that name. */
function threadsOf(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let st: string;
    try {
      st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const name = tid === String(pid) ? 'main' : st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const t = out.get(name) ?? [0, 0];
    t[0] += Number(f[11]) / CLK_TCK;
    t[1] += Number(f[12]) / CLK_TCK;
    out.set(name, t);
  }
  return out;
}

/** Where the CPU went between two threadsOf() readings: "name user+sys µs/event", busiest first. */
function threadSplit(a: Map<string, [number, number]>, b: Map<string, [number, number]>, events: number): string {
  const rows: Array<[string, number, number]> = [];
  for (const [name, [u1, s1]] of b) {
    const [u0, s0] = a.get(name) ?? [0, 0];
    if (u1 - u0 + (s1 - s0) > 0) rows.push([name, ((u1 - u0) * 1e6) / Math.max(1, events), ((s1 - s0) * 1e6) / Math.max(1, events)]);
  }
  rows.sort((x, y) => y[1] + y[2] - (x[1] + x[2]));
  return rows.map(([n, u, s]) => `${n} ${u.toFixed(1)}u+${s.toFixed(1)}s`).join(', ');
}

function memOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Counts lines (and loss reports) of a growing file from where it was last read. */
class Tail extends LineCounts {
  private off = 0;
  private partial = '';
  constructor(private readonly path: string) {
    super();
  }
  poll(): void {
    if (!existsSync(this.path)) return;
    const size = statSync(this.path).size;
    if (size <= this.off) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(size - this.off, 64 << 20));
      const n = readSync(fd, buf, 0, buf.length, this.off);
      this.off += n;
      const text = this.partial + buf.toString('utf8', 0, n);
      const parts = text.split('\n');
      this.partial = parts.pop()!;
      for (const line of parts) this.count(line);
    } finally {
      closeSync(fd);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sensor {
  child: ChildProcess;
  out: string;
  tail: Tail | Arrivals;
  sink: LiveSinkKind;
  stop(): Promise<void>;
}

async function startSensor(dir: string, name: string, root: string, sinkKind: LiveSinkKind): Promise<Sensor> {
  const out = join(dir, `${name}.out`);
  const cfg = values.config ?? join(dir, 'config.yaml');
  const run = `live${name.replace(/[^a-z0-9]/g, '')}${Date.now().toString(36)}`;
  const toSink = sinkConfig(sinkKind, run);
  if (!values.config) writeFileSync(cfg, `journal:\n  dir: ${join(dir, `journal-${name}`)}\nmetrics:\n  enabled: false\n${toSink || 'output:\n  maxFileBytes: 0\n'}`);
  const nodeArgs = [...(values['node-option'] ?? [])];
  // --cpu-prof is refused in NODE_OPTIONS: a profiled sensor is started as `node --cpu-prof … bin/ebpf-sensor.js`.
  const profArgs = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`, `--cpu-prof-name=sensor-${name}.cpuprofile`] : [];
  const outArgs = toSink ? [] : ['--output', `file:${out}`, '--format', values.format!];
  // Started as a user starts it (systemd, the image's entrypoint, a shell): the executable
  // bin/ebpf-sensor.js through its #! line, so any node flag set there counts here too; extra node
  // options go through NODE_OPTIONS, as a user's would.
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
  if (nodeArgs.length) env.NODE_OPTIONS = [env.NODE_OPTIONS, ...nodeArgs].filter(Boolean).join(' ');
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ''}`; // the shebang's \`env node\` is this node
  const bin = join(root, 'bin/ebpf-sensor.js');
  const args = ['run', '-c', cfg, ...outArgs];
  const child = profArgs.length ? spawn(process.execPath, [...profArgs, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }) : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  const onData = (d: Buffer): void => {
    log += d.toString();
    if (log.length > 1 << 20) log = log.slice(-65536);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Loading and verifying the BPF programs takes tens of seconds on a loaded 2-vCPU machine.
  const deadline = Date.now() + 180_000;
  while (!/ebpf-sensor \S+ running/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sensor did not start:\n${log.slice(-4000)}`);
    await sleep(100);
  }
  let arrivals: Arrivals | undefined;
  try {
    arrivals = await openArrivals(sinkKind, run);
  } catch (e) {
    child.kill('SIGINT');
    await exited;
    throw e;
  }
  return {
    child,
    out,
    tail: arrivals ?? new Tail(out),
    sink: sinkKind,
    async stop() {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
      await arrivals?.close();
    },
  };
}

interface Row {
  sink: LiveSinkKind;
  build: string;
  storm: string;
  /** 1 for the first storm against a freshly started sensor, 2… for the next ones against the same sensor. */
  round: number;
  ops: number;
  events: number;
  stormEvents: number;
  cpuS: number;
  usPerEvent: number;
  baseNs: number;
  monNs: number;
  ratio: number;
  kernelLost: number;
  idleRss: number;
  hwm: number;
  /** µs of user and system CPU per event, per thread name (the sensor's main thread is "main"). */
  threads: string;
  /** Wall seconds from just before the storm until its exit was delivered. */
  wallS: number;
  /** The sensor's CPU-seconds per second while idle (before the first storm), and the events it delivered per second then. */
  idleCpuPerS: number;
  idleEventsPerS: number;
  /** µs CPU per event after taking idleCpuPerS × wallS off the CPU. */
  usNetOfIdle: number;
  /** Elasticsearch: the node's CPU-seconds over the same time. */
  esCpuS?: number;
  /** Kafka: a bare kafkajs producer's µs of CPU per message for the same values. */
  bareUs?: number;
}

/** A storm's figures with the sensor, before the runs without it are known (ratio, base filled in later). */
type Measured = Omit<Row, 'baseNs' | 'ratio' | 'bareUs'> & { sent?: Buffer[] };

/** One storm against the started sensor `s`: from just before it until its own exit is delivered. */
async function measureRound(
  s: Sensor,
  args: string[],
  name: string,
  ops: number,
  build: string,
  round: number,
  idle: { rss: number; cpuPerS: number; eventsPerS: number },
): Promise<Measured> {
  const sinkKind = s.sink;
  await s.tail.poll();
  const t0 = process.hrtime.bigint();
  const lines0 = s.tail.lines;
  const lost0 = s.tail.kernelLost;
  const cpu0 = cpuOf(s.child.pid!);
  const threads0 = threadsOf(s.child.pid!);
  const es0 = sinkKind === 'elasticsearch' ? elasticsearchCpu() : 0;
  const values0 = s.tail instanceof Tail ? 0 : (s.tail.values?.length ?? 0);
  // The previous round's storm is delivered in full (its exit was); count this one's from zero.
  s.tail.stormLines = 0;
  s.tail.stormExited = false;
  const mon = await storm(args, (pid) => (s.tail.stormPid = pid));
  // Delivery keeps journal order: once the storm's own exit is in the output, all of its events are.
  // (The machine's other activity keeps the output growing, so "quiet" would never come.)
  // The exit itself can be among what the kernel lost: once a loss is reported (the sensor reports
  // losses every few seconds) and the storm's lines stopped coming, nothing more of it will come.
  const deadline = Date.now() + 600_000;
  let seen = s.tail.stormLines;
  let still = Date.now();
  while (!s.tail.stormExited && Date.now() < deadline) {
    await sleep(sinkKind === 'elasticsearch' ? 250 : 50);
    await s.tail.poll();
    if (s.tail.stormLines !== seen) {
      seen = s.tail.stormLines;
      still = Date.now();
    } else if (s.tail.kernelLost > lost0 && Date.now() - still > LOST_QUIET_MS) {
      break;
    }
  }
  const cpu1 = cpuOf(s.child.pid!);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const threads1 = threadsOf(s.child.pid!);
  const esCpuS = sinkKind === 'elasticsearch' ? elasticsearchCpu() - es0 : undefined;
  const sent = s.tail instanceof Tail ? undefined : s.tail.values?.slice(values0);
  const events = s.tail.lines - lines0; // includes the machine's other activity in the same time
  return {
    sink: sinkKind,
    build,
    storm: name,
    round,
    ops,
    events,
    stormEvents: s.tail.stormLines,
    cpuS: cpu1 - cpu0,
    usPerEvent: ((cpu1 - cpu0) * 1e6) / Math.max(1, events),
    monNs: mon,
    kernelLost: s.tail.kernelLost - lost0,
    idleRss: idle.rss,
    hwm: memOf(s.child.pid!).hwm, // the peak so far: a later round's includes the earlier ones'
    threads: threadSplit(threads0, threads1, events),
    wallS,
    idleCpuPerS: idle.cpuPerS,
    idleEventsPerS: idle.eventsPerS,
    usNetOfIdle: ((cpu1 - cpu0 - idle.cpuPerS * wallS) * 1e6) / Math.max(1, events),
    ...(esCpuS !== undefined ? { esCpuS } : {}),
    ...(sent !== undefined ? { sent } : {}),
  };
}

/** The sensor's CPU-seconds and delivered events per second over IDLE_SECONDS without a storm. */
async function idleRate(s: Sensor): Promise<{ cpuPerS: number; eventsPerS: number }> {
  const lines0 = s.tail.lines;
  const cpu0 = cpuOf(s.child.pid!);
  const t0 = process.hrtime.bigint();
  const end = Date.now() + IDLE_SECONDS * 1000;
  while (Date.now() < end) {
    await sleep(s.sink === 'elasticsearch' ? 250 : 50);
    await s.tail.poll();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { cpuPerS: (cpuOf(s.child.pid!) - cpu0) / secs, eventsPerS: (s.tail.lines - lines0) / secs };
}

/** `rounds` storms against one started sensor, each storm also run without it before and after. */
async function run(name: string, args: string[], ops: number, dir: string, root: string, build: string, sinkKind: LiveSinkKind): Promise<Row[]> {
  const base1 = await storm(args);
  const s = await startSensor(dir, `${name}-${build}-${sinkKind}`, root, sinkKind);
  const measured: Measured[] = [];
  try {
    await sleep(3000); // start-up work (seeding, first batches) done
    await s.tail.poll();
    const idle = { ...(await idleRate(s)), rss: memOf(s.child.pid!).rss };
    for (let round = 1; round <= rounds; round++) measured.push(await measureRound(s, args, name, ops, build, round, idle));
  } finally {
    await s.stop();
  }
  if (s.tail instanceof Tail) s.tail.poll();
  const base2 = await storm(args);
  const base = (base1 + base2) / 2;
  return measured.map(({ sent, ...m }, i) => {
    const bareUs = sent?.length ? bareProducerUs(sent, dir, 'lz4', `live${name}${i}${Date.now().toString(36)}`) : undefined;
    return { ...m, baseNs: base, ratio: m.monNs / base, ...(bareUs !== undefined ? { bareUs } : {}) };
  });
}

async function main(): Promise<void> {
  const why = bpfUnavailableReason();
  if (why) {
    console.log(`live: skipped: ${why}`);
    return;
  }
  if (values.prof) mkdirSync(values.prof, { recursive: true });
  const needs = sinkKinds.filter((k): k is 'kafka' | 'elasticsearch' => k !== 'file');
  const svc = needs.length ? await benchServices(needs) : undefined;
  if (typeof svc === 'string') {
    console.log(`live: skipped: ${svc}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-live-'));
  const wdir = join(dir, 'written');
  mkdirSync(wdir);
  const forks = Number(values.forks);
  const execs = Number(values.execs);
  const writes = Number(values.writes);
  const plan: Record<string, [string[], number]> = {
    fork: [['fork', String(forks)], forks],
    exec: [['exec', String(execs)], execs],
    write: [['write', wdir, String(writes)], writes],
  };
  const rows: Row[] = [];
  try {
    for (const name of values.storms!.split(',')) {
      const p = plan[name];
      if (!p) throw new Error(`unknown storm ${name}`);
      const builds: Array<[string, string]> = [['this', packageRoot], ...(values.compare ?? []).map((r, i): [string, string] => [`compare${i + 1}`, r])];
      for (const sinkKind of sinkKinds) {
        for (const [build, root] of builds) {
          for (const r of await run(name, p[0], p[1], dir, root, build, sinkKind)) {
            rows.push(r);
            console.error(`${name} ${sinkKind} ${build} round ${r.round}: ${JSON.stringify(r)}`);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await svc?.stop();
  }
  console.log(`\noutputs: ${sinkKinds.join(', ')}, format ${values.format}; node ${process.version}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  for (const [i, r] of (values.compare ?? []).entries()) console.log(`compare${i + 1}: ${r}`);
  const extra =
    ' | window s | idle CPU-s/s (idle events/s) | µs CPU/event net of idle' +
    (sinkKinds.includes('kafka') ? ' | bare kafkajs µs CPU/message (lz4, same values)' : '') +
    (sinkKinds.includes('elasticsearch') ? ' | Elasticsearch node CPU-s | node µs CPU/event' : '');
  console.log(`sink | build | storm | round | ops | storm events | events delivered (all) | sensor CPU-s | µs CPU/event | ns/op without | ns/op with | overhead | kernel lost | idle RSS MB | VmHWM MB${extra}`);
  console.log(`---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:${extra ? '|---:'.repeat(extra.split('|').length - 1) : ''}`);
  for (const r of rows) {
    console.log(
      `${r.sink} | ${r.build} | ${r.storm} | ${r.round} | ${r.ops} | ${r.stormEvents} | ${r.events} | ${r.cpuS.toFixed(2)} | ${r.usPerEvent.toFixed(1)} | ${r.baseNs.toFixed(0)} | ${r.monNs.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.kernelLost} | ${r.idleRss.toFixed(0)} | ${r.hwm.toFixed(0)}` +
        ` | ${r.wallS.toFixed(1)} | ${r.idleCpuPerS.toFixed(3)} (${r.idleEventsPerS.toFixed(0)}) | ${r.usNetOfIdle.toFixed(1)}` +
        (sinkKinds.includes('kafka') ? ` | ${r.bareUs !== undefined ? r.bareUs.toFixed(1) : ''}` : '') +
        (sinkKinds.includes('elasticsearch') ? (r.esCpuS !== undefined ? ` | ${r.esCpuS.toFixed(2)} | ${((r.esCpuS * 1e6) / Math.max(1, r.events)).toFixed(1)}` : ' | | ') : ''),
    );
  }
  console.log('\nsensor CPU per event by thread (µs user + system):');
  for (const r of rows) console.log(`${r.sink} ${r.build} ${r.storm} round ${r.round}: ${r.threads}`);
}

await main();
