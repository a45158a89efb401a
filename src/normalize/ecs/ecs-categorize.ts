/**
 * normalize/ecs categorize: an event's ECS `event.category` and `event.type`.
 *
 * Takes: SensorEvent. Gives: one of a fixed set of frozen Categorization
 * constants, shared by every event (no objects per event; the serializer
 * writes each one's text once).
 */
import type { SensorEvent } from '../../model/event.js';

export interface Categorization {
  readonly category: readonly string[];
  readonly type: readonly string[];
}

const categorizations = new Map<string, Categorization>();

/** One frozen Categorization per pair, shared by every event (no objects per call; the serializer memoizes its text by identity). */
function cz(category: string[], type: string[]): Categorization {
  const k = `${category.join(',')}/${type.join(',')}`;
  let c = categorizations.get(k);
  if (c === undefined) {
    c = Object.freeze({ category: Object.freeze(category), type: Object.freeze(type) });
    categorizations.set(k, c);
  }
  return c;
}

const BPF_START = new Set(['BPF_PROG_LOAD', 'BPF_PROG_ATTACH', 'BPF_LINK_CREATE', 'BPF_RAW_TRACEPOINT_OPEN']);
const BPF_END = new Set(['BPF_PROG_DETACH', 'BPF_LINK_DETACH']);

const CZ_PROCESS_START = cz(['process'], ['start']);
const CZ_PROCESS_END = cz(['process'], ['end']);
const CZ_FILE_CREATION = cz(['file'], ['creation']);
const CZ_FILE_CHANGE = cz(['file'], ['change']);
const CZ_FILE_ACCESS = cz(['file'], ['access']);
const CZ_FILE_DELETION = cz(['file'], ['deletion']);
const CZ_IAM_PROCESS_CHANGE = cz(['iam', 'process'], ['change']);
const CZ_PROCESS_ACCESS = cz(['process'], ['access']);
const CZ_PROCESS_CHANGE = cz(['process'], ['change']);
const CZ_DRIVER_START = cz(['driver'], ['start']);
const CZ_DRIVER_END = cz(['driver'], ['end']);
const CZ_DRIVER_CHANGE = cz(['driver'], ['change']);
const CZ_CONFIGURATION_FILE_CHANGE = cz(['configuration', 'file'], ['change']);
const CZ_NETWORK_CONNECTION_START = cz(['network'], ['connection', 'start']);
const CZ_NETWORK_START = cz(['network'], ['start']);
const CZ_PROCESS_INFO = cz(['process'], ['info']);
const CZ_INTRUSION_DETECTION_INFO = cz(['intrusion_detection'], ['info']);
const CZ_HOST_INFO = cz(['host'], ['info']);

/**
 * ECS categorization per event family. Every pair satisfies ECS's
 * `expected_event_types` for each of its categories (checked by the tests).
 */
export function categorize(ev: SensorEvent): Categorization {
  switch (ev.ebpf.kind) {
    case 'exec':
    case 'fork':
      return CZ_PROCESS_START;
    case 'exit':
      return CZ_PROCESS_END;
    case 'open': {
      const intent = ev.ebpf.open?.intent ?? [];
      if (intent.includes('create')) return CZ_FILE_CREATION;
      if (intent.includes('write') || intent.includes('truncate') || intent.includes('append')) {
        return CZ_FILE_CHANGE;
      }
      return CZ_FILE_ACCESS;
    }
    case 'unlink':
      return CZ_FILE_DELETION;
    case 'rename':
    case 'chmod':
    case 'chown':
    case 'truncate':
    case 'xattr':
    case 'utimes':
      return CZ_FILE_CHANGE;
    case 'link':
    case 'symlink':
    case 'mkdir':
    case 'memfd_create':
      return CZ_FILE_CREATION;
    case 'setuid':
    case 'setgid':
    case 'capset':
      // A process changing the identity or privileges it acts with.
      return CZ_IAM_PROCESS_CHANGE;
    case 'ptrace':
      return CZ_PROCESS_ACCESS;
    case 'module_load':
      return ev.ebpf.syscall === 'delete_module' ? CZ_DRIVER_END : CZ_DRIVER_START;
    case 'process_vm':
      // One process reading or writing another's memory (ECS: process access / change).
      return ev.ebpf.process_vm?.direction === 'read' ? CZ_PROCESS_ACCESS : CZ_PROCESS_CHANGE;
    case 'prctl':
    case 'setsid':
    case 'setpgid':
      return CZ_PROCESS_CHANGE;
    case 'bpf': {
      // BPF programs are kernel extensions: ECS files those under "driver".
      const cmd = ev.ebpf.bpf?.cmd_name ?? '';
      if (BPF_START.has(cmd)) return CZ_DRIVER_START;
      if (BPF_END.has(cmd)) return CZ_DRIVER_END;
      return CZ_DRIVER_CHANGE;
    }
    case 'mount':
    case 'umount':
      return CZ_CONFIGURATION_FILE_CHANGE;
    case 'unshare':
    case 'setns':
      return CZ_PROCESS_CHANGE;
    case 'connect':
    case 'accept':
      return CZ_NETWORK_CONNECTION_START;
    case 'bind':
    case 'listen':
      return CZ_NETWORK_START;
    case 'io_uring_setup':
      // A process setting up a channel to the kernel that bypasses syscalls.
      return CZ_PROCESS_INFO;
    case 'tamper':
      return CZ_INTRUSION_DETECTION_INFO;
    case 'loss':
      return CZ_HOST_INFO;
  }
}
