// Live (issue 18): Sigma rules converted by `rules import-sigma` from the
// reference SigmaHQ copy fire on the real behaviour they describe. One
// sensor start runs the converted process_creation/file_event/
// network_connection rules; each case performs its behaviour (harmless: on
// files under a private temporary directory, connections over loopback) and
// waits for the alert of that converted rule from the process that did it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor, type Doc, type LiveSensor } from './harness.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { importSigma } from '../../src/rules/sigma/import.js';

const REFERENCE = join(packageRoot, '../shared/reference/sigma/rules/linux');
const skip = skipReason() || (existsSync(REFERENCE) ? false : `reference Sigma rules absent (${REFERENCE})`);

function ruleIds(d: Doc): string[] {
  return (d.ebpf?.rules ?? []).map((r: { id: string }) => r.id).concat(d.rule?.id ? [d.rule.id] : []);
}

/** A behaviour: the command run, and the converted rule it must raise (on the process the command started). */
interface Case {
  rule: string;
  argv: string[];
  /** The alert comes from a process other than the one started (a pipeline's shell): match on the command line instead. */
  marker?: string;
}

describe('converted Sigma rules fire on the behaviour, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;
  let rulesDir: string;

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-sigma-')));
    chmodSync(dir, 0o755);
    rulesDir = join(dir, 'rules');
    mkdirSync(rulesDir);
    const r = importSigma(['process_creation', 'file_event', 'network_connection'].map((c) => join(REFERENCE, c)));
    assert.ok(r.converted.length >= 125);
    for (const c of r.converted) writeFileSync(join(rulesDir, `${c.id}.yaml`), c.text, { mode: 0o644 });
    sensor = await startSensor(['--rules', rulesDir]);
  });
  after(async () => {
    const code = await sensor?.stop();
    assert.equal(code, 0, sensor?.stderr());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('at least 20 converted rules raise their alert on the real behaviour', async () => {
    const f = join(dir, 'f');
    writeFileSync(f, 'x\n');
    const hist = join(dir, '.bash_history');
    writeFileSync(hist, 'ls\n');
    const tmpTrue = join(dir, 'tool');
    copyFileSync('/bin/true', tmpTrue);
    chmodSync(tmpTrue, 0o755);
    const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const cases: Case[] = [
      { rule: 'proc_creation_lnx_base64_decode', argv: ['base64', '-d', '/dev/null'] },
      { rule: 'proc_creation_lnx_base64_execution', argv: ['sh', '-c', `echo dHJ1ZQo= | base64 -d | sh`], marker: 'dHJ1ZQo=' },
      { rule: 'proc_creation_lnx_susp_pipe_shell', argv: ['sh', '-c', `echo true ${dir} | sh`], marker: `echo true ${dir} | sh` },
      { rule: 'proc_creation_lnx_bash_interactive_shell', argv: ['bash', '-i', '-c', 'true'] },
      { rule: 'proc_creation_lnx_cp_passwd_or_shadow_tmp', argv: ['cp', '/etc/passwd', join(dir, 'passwd.copy')] },
      { rule: 'proc_creation_lnx_curl_usage', argv: ['curl', '-s', '-o', '/dev/null', `file://${f}`] },
      { rule: 'proc_creation_lnx_susp_curl_useragent', argv: ['curl', '-s', '-A', 'x', '-o', '/dev/null', `file://${f}`] },
      { rule: 'proc_creation_lnx_env_shell_invocation', argv: ['env', '/bin/sh', '-c', 'true'] },
      { rule: 'proc_creation_lnx_find_shell_execution', argv: ['find', '.', '-maxdepth', '0', '-exec', '/bin/sh', '-c', 'true', ';'] },
      { rule: 'proc_creation_lnx_flock_shell_execution', argv: ['flock', '-u', f, '/bin/sh', '-c', 'true'] },
      { rule: 'proc_creation_lnx_grep_os_arch_discovery', argv: ['grep', '-q', 'x86_64'] },
      { rule: 'proc_creation_lnx_security_software_discovery', argv: ['grep', '-q', 'auditbeat', f] },
      { rule: 'proc_creation_lnx_mkfifo_named_pipe_creation_susp_location', argv: ['mkfifo', join(dir, 'fifo')] },
      { rule: 'proc_creation_lnx_nice_shell_execution', argv: ['nice', '/bin/sh'] },
      { rule: 'proc_creation_lnx_nohup_susp_execution', argv: ['nohup', tmpTrue, join(dir, 'arg')] },
      { rule: 'proc_creation_lnx_python_pty_spawn', argv: [py, '-c', 'import pty; pty.spawn'] },
      { rule: 'proc_creation_lnx_python_http_server_execution', argv: [py, '-c', 'import http.server'] },
      { rule: 'proc_creation_lnx_susp_find_execution', argv: ['find', dir, '-perm', '-4000'] },
      { rule: 'proc_creation_lnx_susp_history_recon', argv: ['cat', hist] },
      { rule: 'proc_creation_lnx_susp_history_delete', argv: ['rm', '-f', hist] },
      { rule: 'proc_creation_lnx_system_info_discovery', argv: ['uname', '-a'] },
      { rule: 'proc_creation_lnx_system_network_discovery', argv: ['ip', 'addr'] },
      { rule: 'proc_creation_lnx_susp_dockerenv_recon', argv: ['ls', join(dir, '.dockerenv')] },
      { rule: 'proc_creation_lnx_awk_shell_spawn', argv: ['awk', 'BEGIN {system("/bin/sh -c true")}'] },
      { rule: 'proc_creation_lnx_susp_execution_tmp_folder', argv: [tmpTrue] },
      { rule: 'proc_creation_lnx_setgid_setuid', argv: ['sh', '-c', `chown root ${f}; chmod u+s ${f}`] },
      { rule: 'proc_creation_lnx_capa_discovery', argv: ['getcap', '-r', dir] },
      { rule: 'proc_creation_lnx_cap_setuid', argv: ['setcap', 'cap_setuid+ep', tmpTrue] },
      { rule: 'proc_creation_lnx_chattr_immutable_removal', argv: ['chattr', '-i', f] },
      { rule: 'file_event_lnx_triple_cross_rootkit_persistence', argv: ['touch', join(dir, 'ebpfbackdoor')] },
      { rule: 'file_event_lnx_susp_filename_with_embedded_base64_command', argv: ['touch', join(dir, '{echo,dHJ1ZQo=}')] },
    ];
    const started: Array<{ c: Case; pid: number }> = [];
    for (const c of cases) {
      const r = spawnSync(c.argv[0]!, c.argv.slice(1), { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], timeout: 30000 });
      assert.ok(r.pid, `${c.argv[0]} started`);
      started.push({ c, pid: r.pid });
    }
    // A shell reaching past 127.0.0.1 (127.0.0.2 is loopback too, and not in the rule's filter).
    const conns: Socket[] = [];
    const server = createServer((s) => conns.push(s));
    await new Promise<void>((res) => server.listen(0, '127.0.0.2', res));
    const port = (server.address() as { port: number }).port;
    try {
      const child = spawn('/bin/bash', ['-c', `exec 3<>/dev/tcp/127.0.0.2/${port}`], { stdio: 'ignore' });
      await new Promise((res) => child.on('exit', res));
      started.push({ c: { rule: 'net_connection_lnx_back_connect_shell_dev', argv: ['bash'] }, pid: child.pid! });
    } finally {
      for (const s of conns) s.destroy();
      server.close();
    }

    const fired: string[] = [];
    const missed: string[] = [];
    for (const { c, pid } of started) {
      const id = `sigma_${c.rule}`;
      try {
        await sensor.waitFor(
          (d) => d.event?.kind === 'alert' && ruleIds(d).includes(id) && (c.marker ? String(d.process?.command_line ?? '').includes(c.marker) : d.process?.pid === pid),
          fired.length + missed.length === 0 ? 20000 : 5000,
          `${id} alert`,
        );
        fired.push(c.rule);
      } catch {
        missed.push(`${c.rule} (${c.argv.join(' ')})`);
      }
    }
    console.log(`# converted Sigma rules fired live: ${fired.length} of ${started.length}`);
    assert.deepEqual(missed, [], `rules that did not fire`);
    assert.ok(fired.length >= 20, `${fired.length} fired`);
  });
});
