/**
 * Syslog messages around one formatted line (CEF or ECS JSON): RFC 5424 or
 * the classic RFC 3164 header, the size limit (truncate with a marker, never
 * silently), and the transport framing — octet counting (RFC 6587 3.4.1) or
 * LF (RFC 6587 3.4.2) on TCP/TLS, one datagram per message on UDP (RFC 5426).
 */
import type { ClassifiedEvent, EventRoute, Severity } from '../../model/event.js';
import { topMatch } from '../../model/severity.js';

/** Syslog facility names → codes (RFC 5424 table 1). */
export const FACILITIES = Object.freeze({
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
});

export type FacilityName = keyof typeof FACILITIES;
export type SyslogProtocol = 'rfc5424' | 'rfc3164';

/** Syslog severity per rule severity; telemetry is informational, a loss report a warning. */
export const SYSLOG_SEVERITY: Readonly<Record<Severity | 'event' | 'loss', number>> = Object.freeze({
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
  loss: 4,
  event: 6,
});

/** The syslog severity (0-7) of one classified event. */
export function syslogSeverity(ce: ClassifiedEvent): number {
  const top = topMatch(ce.verdict);
  if (top) return SYSLOG_SEVERITY[top.severity];
  return ce.event.ebpf.kind === 'loss' ? SYSLOG_SEVERITY.loss : SYSLOG_SEVERITY.event;
}

/** RFC 5424 MSGID: what kind of document the message carries. */
export function msgIdOf(ce: ClassifiedEvent): 'alert' | 'event' | 'metric' {
  if (ce.event.ebpf.kind === 'loss') return 'metric';
  return ce.verdict.classification === 'suspicious' ? 'alert' : 'event';
}

/**
 * The header facts of one event from its routing facts (journal/payload.ts
 * keeps them next to the event, so no parse is needed); a route journaled
 * before @timestamp and the severity were kept reads the event instead.
 */
export function headerFacts(r: EventRoute, ce: ClassifiedEvent): { severity: number; time: string; msgId: 'alert' | 'event' | 'metric' } {
  if (r.time === undefined) return { severity: syslogSeverity(ce), time: ce.event['@timestamp'], msgId: msgIdOf(ce) };
  return {
    severity: r.severity !== undefined ? SYSLOG_SEVERITY[r.severity] : r.loss ? SYSLOG_SEVERITY.loss : SYSLOG_SEVERITY.event,
    time: r.time,
    msgId: r.loss ? 'metric' : r.suspicious ? 'alert' : 'event',
  };
}

/** Header fields are PRINTUSASCII (33..126) with a length limit; anything else becomes '_'. */
export function headerToken(s: string, max: number): string {
  if (s === '') return '-';
  let out = '';
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    out += c >= 33 && c <= 126 ? s[i] : '_';
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/;

/** RFC 5424 TIMESTAMP from the event time: UTC, at most microseconds (TIME-SECFRAC is 1-6 digits). */
export function rfc5424Time(iso: string): string {
  const m = ISO.exec(iso);
  if (!m) return '-';
  const frac = m[7] ? `.${m[7].slice(0, 6)}` : '';
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac}Z`;
}

/** RFC 3164 TIMESTAMP "Mmm dd hh:mm:ss" (day space-padded), in UTC like every other output. */
export function rfc3164Time(iso: string): string {
  const m = ISO.exec(iso);
  if (!m) return 'Jan  1 00:00:00';
  const day = Number(m[3]);
  return `${MONTHS[Number(m[2]) - 1]} ${day < 10 ? ` ${day}` : day} ${m[4]}:${m[5]}:${m[6]}`;
}

export interface HeaderFields {
  facility: number;
  severity: number;
  /** ISO-8601 event time. */
  time: string;
  hostname: string;
  appName: string;
  procId: number;
  msgId: string;
}

/** The syslog header, up to and including the space before MSG. */
export function syslogHeader(protocol: SyslogProtocol, h: HeaderFields): string {
  const pri = `<${h.facility * 8 + h.severity}>`;
  if (protocol === 'rfc5424') {
    return `${pri}1 ${rfc5424Time(h.time)} ${headerToken(h.hostname, 255)} ${headerToken(h.appName, 48)} ${h.procId} ${headerToken(h.msgId, 32)} - `;
  }
  // RFC 3164: the TAG is alphanumeric, at most 32 characters, then "[pid]: ".
  const tag = h.appName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32) || 'ebpf-sensor';
  return `${pri}${rfc3164Time(h.time)} ${headerToken(h.hostname, 255)} ${tag}[${h.procId}]: `;
}

/** Marker appended to a message cut at the size limit; names the original size. */
export function truncationMarker(originalBytes: number): string {
  return ` [truncated: ${originalBytes} bytes]`;
}

/**
 * header + msg as bytes, at most `max` bytes. An oversize message is cut at a
 * UTF-8 character boundary, never inside a backslash escape (a CEF value
 * stays parseable), and ends with the truncation marker. `truncated` tells
 * the caller to count it.
 */
export function buildMessage(header: string, msg: string | Buffer, max: number): { bytes: Buffer; truncated: boolean } {
  const full = typeof msg === 'string' ? Buffer.from(header + msg, 'utf8') : Buffer.concat([Buffer.from(header, 'utf8'), msg]);
  if (full.length <= max) return { bytes: full, truncated: false };
  const headerBytes = Buffer.byteLength(header, 'utf8');
  const msgBytes = full.length - headerBytes;
  const marker = Buffer.from(truncationMarker(msgBytes), 'utf8');
  let cut = max - marker.length;
  if (cut <= headerBytes) cut = Math.min(max, headerBytes); // limit smaller than the header: header only
  // Back off to a character boundary (never split a UTF-8 sequence).
  while (cut > headerBytes && (full[cut]! & 0xc0) === 0x80) cut--;
  // Never end on an odd run of backslashes: that would escape the marker's space.
  let bs = 0;
  while (cut - bs - 1 >= headerBytes && full[cut - bs - 1] === 0x5c) bs++;
  if (bs % 2 === 1) cut--;
  const bytes = Buffer.concat([full.subarray(0, cut), marker.subarray(0, Math.max(0, max - cut))]);
  return { bytes, truncated: true };
}

/** RFC 6587 octet counting: "MSG-LEN SP SYSLOG-MSG". */
export function octetCounted(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

/** RFC 6587 non-transparent framing: the message and LF (our lines never hold a raw LF). */
export function lfFramed(msg: Buffer): Buffer {
  return Buffer.concat([msg, Buffer.from('\n')]);
}
