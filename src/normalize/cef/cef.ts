/**
 * normalize/cef: canonical event + verdict + host/agent metadata → one CEF
 * line (ArcSight Common Event Format, "CEF:0"), for Splunk, QRadar, ArcSight
 * and anything else that reads CEF, on its own or inside syslog.
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo, CefOptions (vendor/product).
 * Gives: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`
 * without a line terminator. A pure function: same input, same bytes.
 *
 * Escaping is the spec's: in the header `\` and `|`; in extension values `\`,
 * `=`, CR (`\r`) and LF (`\n`). Nothing else may carry meaning, so a
 * character the spec cannot escape and a reader might act on — other control
 * characters, NEL/LS/PS line separators, lone surrogates (raw kernel bytes) —
 * is shown as U+FFFD and the exact bytes of that value are given in
 * `cs6` ("rawBytes") as `key:percent-encoded-bytes` entries. No input can end a
 * value, start a key or end the line.
 */
import type { AgentInfo, ClassifiedEvent, EventKind, HostInfo, SensorEvent } from '../../model/event.js';
import { exactBytes } from '../raw-bytes.js';
import { CEF_SEVERITY, CEF_SEVERITY_EVENT, CEF_SEVERITY_LOSS, topMatch } from '../severity.js';
import { categorize } from '../ecs/ecs.js';

export { CEF_SEVERITY, CEF_SEVERITY_EVENT, CEF_SEVERITY_LOSS } from '../severity.js';

export interface CefOptions {
  /** Device Vendor header field (config `cef.vendor`). */
  vendor: string;
  /** Device Product header field (config `cef.product`). */
  product: string;
}

export const CEF_DEFAULTS: Readonly<CefOptions> = Object.freeze({ vendor: 'ebpf-sensor', product: 'ebpf-sensor' });

/** Labels of the custom fields, as written in the cs*Label / cn*Label keys. */
export const CEF_LABELS = Object.freeze({
  cs1: 'ruleId',
  cs2: 'tags',
  cs3: 'containerId',
  cs4: 'processEntityId',
  cs5: 'commandLine',
  cs6: 'rawBytes',
  cn1: 'exitCode',
  cn2: 'parentProcessId',
  flexString1: 'targetPath',
  flexString2: 'parentEntityId',
  c6a2: 'Source IPv6 Address',
  c6a3: 'Destination IPv6 Address',
});

/** Header Name of telemetry (no rule matched), per event family. */
export const CEF_EVENT_NAMES: Readonly<Record<EventKind, string>> = Object.freeze({
  exec: 'Process executed',
  fork: 'Process forked',
  exit: 'Process exited',
  open: 'File opened',
  unlink: 'File deleted',
  rename: 'File renamed',
  chmod: 'File mode changed',
  chown: 'File owner changed',
  link: 'Hard link created',
  symlink: 'Symbolic link created',
  truncate: 'File truncated',
  mkdir: 'Directory created',
  xattr: 'File extended attribute changed',
  utimes: 'File times changed',
  setuid: 'User id changed',
  setgid: 'Group id changed',
  ptrace: 'Process traced',
  module_load: 'Kernel module loaded',
  bpf: 'BPF command',
  mount: 'Filesystem mounted',
  umount: 'Filesystem unmounted',
  memfd_create: 'Memory file created',
  unshare: 'Namespaces unshared',
  setns: 'Namespace joined',
  capset: 'Capabilities changed',
  process_vm: 'Memory of another process accessed',
  prctl: 'Process renamed',
  setsid: 'New session',
  setpgid: 'Process group changed',
  connect: 'Outbound connection',
  accept: 'Inbound connection accepted',
  bind: 'Socket bound',
  listen: 'Socket listening',
  io_uring_setup: 'io_uring ring created',
  tamper: 'Syscall argument changed during the call',
  loss: 'Events lost',
});

/** Characters that take a slow path in a header field. */
const HEADER_SPECIAL = /[\\|\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/;
/** Characters that take a slow path in an extension value. */
const VALUE_SPECIAL = /[\\=\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]/;

/** Collects `key:bytes` entries for values that could not be written exactly. */
interface Exact {
  entries: string[] | undefined;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Header field: `\` → `\\`, `|` → `\|`; every control, separator or lone surrogate → U+FFFD. */
export function cefHeader(s: string, key = 'header', exact?: Exact): string {
  if (!HEADER_SPECIAL.test(s)) return s;
  let out = '';
  let lossy = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x7c) out += '\\|';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      out += '\ufffd';
      lossy = true;
    } else if (isHigh(c) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (isHigh(c) || isLow(c)) {
      out += '\ufffd';
      lossy = true;
    } else out += s[i]!;
  }
  if (lossy && exact) (exact.entries ??= []).push(`${key}:${exactBytes(s)}`);
  return out;
}

/**
 * Extension value: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n`; TAB kept;
 * other controls, NEL/LS/PS and lone surrogates → U+FFFD (exact bytes to cs6).
 */
export function cefValue(s: string, key = 'value', exact?: Exact): string {
  if (!VALUE_SPECIAL.test(s)) return s;
  let out = '';
  let lossy = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x3d) out += '\\=';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      out += '\ufffd';
      lossy = true;
    } else if (isHigh(c) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (isHigh(c) || isLow(c)) {
      out += '\ufffd';
      lossy = true;
    } else out += s[i]!;
  }
  if (lossy && exact) {
    // Called with the " key=" separator by toCef: the entry names the bare key.
    const k = key.charCodeAt(0) === 0x20 ? key.slice(1, -1) : key;
    (exact.entries ??= []).push(`${k}:${exactBytes(s)}`);
  }
  return out;
}

const PAD3 = ['', '00', '0'];

/**
 * `rt`: milliseconds since the epoch of an ISO-8601 UTC timestamp, as text.
 * Written as seconds (a small integer until 2038) and three millisecond
 * digits: turning a 13-digit double into a string costs V8 several times more.
 */
export function epochMsText(iso: string): string {
  // "YYYY-MM-DDTHH:MM:SS(.fff…)Z" as decode writes it.
  if (iso.length >= 20 && iso.charCodeAt(4) === 45 && iso.charCodeAt(10) === 84 && iso.charCodeAt(iso.length - 1) === 90) {
    const n = (a: number, b: number): number => {
      let v = 0;
      for (let i = a; i < b; i++) v = v * 10 + (iso.charCodeAt(i) - 48);
      return v;
    };
    // Days since the epoch of a proleptic Gregorian date (H. Hinnant's
    // days_from_civil), in small-integer arithmetic: cheaper than Date.UTC.
    const mo = n(5, 7);
    const d = n(8, 10);
    const y = n(0, 4) - (mo <= 2 ? 1 : 0);
    const era = Math.floor(y / 400);
    const yoe = y - era * 400;
    const doy = ((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 | 0) + d - 1;
    const doe = yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy;
    const days = era * 146097 + doe - 719468;
    const secs = days * 86400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    if (secs >= 0 && secs < 2_147_483_647 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
      let ms = 0;
      if (iso.charCodeAt(19) === 46) {
        const end = Math.min(23, iso.length - 1);
        ms = n(20, end);
        for (let i = end; i < 23; i++) ms *= 10;
      }
      const m = ms | 0;
      const s = secs | 0;
      if (s === 0) return String(m);
      return m >= 100 ? `${s}${m}` : `${s}${PAD3[String(m).length]}${m}`;
    }
  }
  const t = Date.parse(iso);
  return Number.isFinite(t) ? String(t) : '';
}

function isIpv4(ip: string): boolean {
  return ip.indexOf(':') < 0 && ip.indexOf('.') > 0;
}

/** The id a set*id call asked for as the new effective id (-1 = unchanged). */
function requestedId(ev: SensorEvent): number | undefined {
  const req = ev.ebpf.ids?.requested;
  if (!req || req.length === 0) return undefined;
  const eff = req.length >= 2 ? req[1]! : req[0]!;
  const v = eff !== -1 ? eff : req[0]!;
  return v === -1 ? undefined : v >>> 0;
}

/** " key{n}Label=label key{n}=" for every labelled key. */
const LABELLED = Object.fromEntries(Object.entries(CEF_LABELS).map(([k, l]) => [k, ` ${k}Label=${l} ${k}=`])) as Record<keyof typeof CEF_LABELS, string>;

/** The device (host) keys; the last clean result is reused while the host facts stay the same. */
let hostMemo: { name: string; id: string; v4: string | undefined; text: string } | undefined;

function hostPart(host: HostInfo, exact: Exact): string {
  const v4 = host.ip.find(isIpv4);
  const m = hostMemo;
  if (m && m.name === host.name && m.id === host.id && m.v4 === v4) return m.text;
  const before = exact.entries?.length ?? 0;
  let t = host.name ? ` dvchost=${cefValue(host.name, 'dvchost', exact)}` : '';
  if (v4 !== undefined) t += ` dvc=${cefValue(v4, 'dvc', exact)}`;
  if (host.id) t += ` deviceExternalId=${cefValue(host.id, 'deviceExternalId', exact)}`;
  // Memoize only text that needed no rawBytes entry: those must be added per line.
  if ((exact.entries?.length ?? 0) === before) hostMemo = { name: host.name, id: host.id, v4, text: t };
  return t;
}

/** "CEF:0|vendor|product|version|", reused while those stay the same. */
let prefixMemo: { vendor: string; product: string; version: string; text: string } | undefined;

function headerPrefix(opts: CefOptions, agent: AgentInfo, exact: Exact): string {
  const m = prefixMemo;
  if (m && m.vendor === opts.vendor && m.product === opts.product && m.version === agent.version) return m.text;
  const before = exact.entries?.length ?? 0;
  const text = `CEF:0|${cefHeader(opts.vendor, 'deviceVendor', exact)}|${cefHeader(opts.product, 'deviceProduct', exact)}|${cefHeader(agent.version, 'deviceVersion', exact)}|`;
  if ((exact.entries?.length ?? 0) === before) prefixMemo = { vendor: opts.vendor, product: opts.product, version: agent.version, text };
  return text;
}

/** One CEF line for one classified event. */
export function toCef(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo, opts: CefOptions = CEF_DEFAULTS): string {
  const ev = ce.event;
  const kind = ev.ebpf.kind;
  const top = topMatch(ce.verdict);
  const exact: Exact = { entries: undefined };
  const p = ev.process;

  // Keys are passed as " key=" literals: one concatenation per value.
  let x = '';
  const add = (sep: string, v: string | undefined): void => {
    if (v === undefined || v === '') return;
    x += sep + cefValue(v, sep, exact);
  };
  const num = (sep: string, v: number | undefined): void => {
    if (v === undefined || !Number.isFinite(v)) return;
    x += sep + v;
  };
  const labelled = (key: keyof typeof CEF_LABELS, v: string | number | undefined): void => {
    if (v === undefined || v === '') return;
    const sep = LABELLED[key];
    x += typeof v === 'number' ? sep + v : sep + cefValue(v, key, exact);
  };

  x = `rt=${epochMsText(ev['@timestamp'])}`;
  add(' externalId=', ev.event.id);
  // Categories are our own constant identifiers: nothing to escape.
  x += ` cat=${categorize(ev).category.join(',')}`;
  add(' act=', ev.event.action);
  add(' outcome=', ev.event.outcome);
  if (ev.event.outcome === 'failure') add(' reason=', ev.ebpf.error);
  if (top) add(' msg=', top.message);
  else if (kind === 'loss' && ev.ebpf.loss) {
    const l = ev.ebpf.loss;
    if (l.sink !== undefined) {
      // A delivery gap (pipeline reportDeliveryLoss): events one sink will never get.
      add(' msg=', `${l.count ?? 0} events never reached sink ${l.sink} (${l.reason === 'damaged' ? 'journal damage' : 'deleted by journal retention while it lagged'})`);
      num(' cnt=', l.count);
    } else {
      add(' msg=', `${l.kernel + l.reader} events lost in ${l.interval_s} s (kernel ring full: ${l.kernel}, reader stalls: ${l.reader})`);
      num(' cnt=', l.kernel + l.reader);
    }
  } else if (kind === 'tamper' && ev.ebpf.tampering) {
    add(' msg=', `${ev.ebpf.tampering.syscall} argument ${ev.ebpf.tampering.field} changed between syscall entry and exit`);
  }

  x += hostPart(host, exact);
  num(' dvcpid=', p.pid);
  add(' deviceProcessName=', p.name);

  // The actor is the source process; a fork's event process is the child.
  if (kind === 'fork') {
    num(' spid=', p.parent.pid);
    add(' sproc=', p.parent.name);
    num(' dpid=', p.pid);
    add(' dproc=', p.name);
  } else {
    num(' spid=', p.pid);
    add(' sproc=', p.name);
    if (kind === 'ptrace' && ev.ebpf.ptrace) num(' dpid=', ev.ebpf.ptrace.target_pid);
    else if (kind === 'capset' && ev.ebpf.capabilities && ev.ebpf.capabilities.target_pid > 0) num(' dpid=', ev.ebpf.capabilities.target_pid);
    else if (kind === 'process_vm' && ev.ebpf.process_vm) {
      num(' dpid=', ev.ebpf.process_vm.target.pid);
      add(' dproc=', ev.ebpf.process_vm.target.name);
    }
  }
  add(' suser=', ev.user.name);
  add(' suid=', ev.user.id);
  if (kind === 'setuid') {
    const id = requestedId(ev);
    if (id !== undefined) add(' duid=', String(id));
  } else if (kind === 'chown' && ev.file) {
    add(' duid=', ev.file.uid);
    add(' duser=', ev.file.owner);
  }

  const f = ev.file;
  if (f) {
    add(' fname=', f.name);
    add(' filePath=', f.path);
    add(' fileType=', f.type);
    add(' filePermission=', f.mode);
    add(' fileId=', f.inode);
  }
  const src = ev.ebpf.source_file;
  if (src) {
    add(' oldFilePath=', src.path);
    add(' oldFileName=', src.name);
  }

  const s = ev.source;
  const d = ev.destination;
  if (s?.ip !== undefined) {
    if (isIpv4(s.ip)) add(' src=', s.ip);
    else labelled('c6a2', s.ip);
  }
  if (s?.port !== undefined) num(' spt=', s.port);
  if (d?.ip !== undefined) {
    if (isIpv4(d.ip)) add(' dst=', d.ip);
    else labelled('c6a3', d.ip);
  }
  if (d?.port !== undefined) num(' dpt=', d.port);
  if (ev.network?.transport !== undefined) add(' proto=', ev.network.transport.toUpperCase());
  if (kind === 'connect') num(' deviceDirection=', 1);
  else if (kind === 'accept') num(' deviceDirection=', 0);
  if (!f && ev.ebpf.socket?.path !== undefined) add(' filePath=', ev.ebpf.socket.path);

  if (top) {
    labelled('cs1', top.id);
    const tags: string[] = [];
    for (const m of ce.verdict.matches) for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    labelled('cs2', tags.join(','));
  }
  if (ev.container) labelled('cs3', ev.container.id);
  labelled('cs4', p.entity_id);
  labelled('cs5', p.command_line);
  if (kind === 'exit') labelled('cn1', p.exit_code);
  labelled('cn2', p.parent.pid);
  labelled('flexString1', f?.target_path);
  labelled('flexString2', p.parent.entity_id);

  const severity = top ? CEF_SEVERITY[top.severity] : kind === 'loss' ? CEF_SEVERITY_LOSS : CEF_SEVERITY_EVENT;
  // Telemetry's signature and name are our own constants when the family is known.
  const known = top ? undefined : CEF_EVENT_NAMES[kind];
  const header =
    `${headerPrefix(opts, agent, exact)}` +
    (known !== undefined
      ? `${kind}|${known}|${severity}|`
      : `${cefHeader(top ? top.id : kind, 'deviceEventClassId', exact)}|${cefHeader(top ? top.name : String(kind), 'name', exact)}|${severity}|`);

  if (exact.entries) {
    // Entries are printable ASCII without spaces (percent-encoded), so a
    // space separates them; cefValue only has to escape '=' and '\'.
    x += ` cs6Label=${CEF_LABELS.cs6} cs6=${cefValue(exact.entries.join(' '))}`;
  }
  return header + x;
}
