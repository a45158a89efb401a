/**
 * decode, network (bpf/programs/net.bpf.c): connect, accept, bind, listen.
 *
 * Takes: a record of one of these families (record.ts: slot 0 the remote
 * address, slot 1 the local one, as struct se_sockaddr) and the event built
 * from its header. Gives: `network.*`, `source`/`destination` (who is which
 * depends on the direction) and `ebpf.socket`.
 */
import type { EbpfFacts, Endpoint, NetworkInfo, SensorEvent } from '../model/event.js';
import { decodeRaw } from '../model/raw-text.js';
import { OFFSETOF, SIZEOF } from './abi.generated.js';
import { arg, trimNul, type FamilyRecord, type StrSlot } from './record.js';
import { ListenArg, SockArg, SockStr } from './slots.js';
import { AF_INET, AF_INET6, AF_UNIX, IPPROTO, SOCK_DGRAM, SOCK_STREAM, SOCK_TYPES } from './syscall-tables.js';

/** An endpoint the kernel has not filled (unbound, or reset after a failed connect). */
function emptyEndpoint(ep: Endpoint): boolean {
  return ep.address === undefined || ((ep.ip === '0.0.0.0' || ep.ip === '::') && !ep.port);
}

function sockaddr(rec: Buffer, base: number, s: StrSlot | undefined): { ep: Endpoint; family: string; path?: string } | undefined {
  if (!s || s.len < SIZEOF.se_sockaddr) return undefined;
  const o = base + s.off;
  const family = rec.readUInt16LE(o + OFFSETOF.se_sockaddr.family);
  const port = rec.readUInt16LE(o + OFFSETOF.se_sockaddr.port);
  const a = o + OFFSETOF.se_sockaddr.addr;
  if (family === AF_INET) {
    const ip = `${rec[a]}.${rec[a + 1]}.${rec[a + 2]}.${rec[a + 3]}`;
    return { ep: { ip, port, address: ip }, family: 'ipv4' };
  }
  if (family === AF_INET6) {
    const ip = ipv6(rec, a);
    return { ep: { ip, port, address: ip }, family: 'ipv6' };
  }
  if (family === AF_UNIX) {
    const start = o + SIZEOF.se_sockaddr;
    const end = base + s.off + s.len;
    let p: string;
    if (end > start && rec[start] === 0) p = `@${decodeRaw(rec, start + 1, trimNul(rec, start + 1, end))}`;
    else p = decodeRaw(rec, start, trimNul(rec, start, end));
    return { ep: p ? { address: p } : {}, family: 'unix', path: p };
  }
  return { ep: {}, family: `af_${family}` };
}

function ipv6(rec: Buffer, a: number): string {
  // IPv4-mapped addresses are shown as IPv4, as the SIEM expects.
  let mapped = true;
  for (let i = 0; i < 10; i++) if (rec[a + i] !== 0) mapped = false;
  if (mapped && rec[a + 10] === 0xff && rec[a + 11] === 0xff) {
    return `${rec[a + 12]}.${rec[a + 13]}.${rec[a + 14]}.${rec[a + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(rec.readUInt16BE(a + i * 2));
  // RFC 5952: compress the longest run of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function decodeSocket(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  const { rec, base, kind } = r;
  const remote = sockaddr(rec, base, r.slots[SockStr.remote]);
  const local = sockaddr(rec, base, r.slots[SockStr.local]);
  const stype = kind === 'listen' ? arg(r, ListenArg.type) : arg(r, SockArg.type);
  const proto = kind === 'listen' ? arg(r, ListenArg.protocol) : arg(r, SockArg.protocol);
  const family = remote?.family ?? local?.family ?? 'unknown';
  const net: NetworkInfo = {};
  if (family === 'ipv4' || family === 'ipv6') {
    net.type = family;
    const tname = IPPROTO[proto] ?? (stype === SOCK_STREAM ? 'tcp' : stype === SOCK_DGRAM ? 'udp' : undefined);
    if (tname) net.transport = tname;
    if (proto) net.iana_number = String(proto);
  } else if (family === 'unix') {
    net.type = 'unix';
  }
  net.direction = kind === 'connect' ? 'egress' : kind === 'accept' ? 'ingress' : 'listening';
  ev.network = net;
  facts.socket = { family };
  if (SOCK_TYPES[stype]) facts.socket.type = SOCK_TYPES[stype]!;
  if (proto) facts.socket.protocol = proto;
  if (kind === 'listen') facts.socket.backlog = arg(r, ListenArg.backlog);
  const unixPath = remote?.path ?? local?.path;
  if (unixPath) facts.socket.path = unixPath;
  // connect: we are the source; accept: the peer is the source.
  const set = (which: 'source' | 'destination', ep: { ep: Endpoint } | undefined): void => {
    if (ep && !emptyEndpoint(ep.ep)) ev[which] = ep.ep;
  };
  if (kind === 'connect') {
    set('destination', remote);
    set('source', local);
  } else if (kind === 'accept') {
    set('source', remote);
    set('destination', local);
  } else {
    set('source', local ?? remote);
  }
}
