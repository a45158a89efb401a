/**
 * io_uring facts of a record: takes the record flags (SE_F_IO_URING and the
 * opcode in bits 8..15) or a ring-creation record's arguments; gives
 * `ebpf.io_uring` — which operation of a ring produced an event that is
 * otherwise the same as its syscall's (same kind, same event.action), and
 * what a new ring asked for.
 */
import { RecordFlags } from './abi.generated.js';

/** include/uapi/linux/io_uring.h enum io_uring_op: the opcodes the sensor reports, by number. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  2: 'IORING_OP_WRITEV',
  5: 'IORING_OP_WRITE_FIXED',
  13: 'IORING_OP_ACCEPT',
  16: 'IORING_OP_CONNECT',
  18: 'IORING_OP_OPENAT',
  23: 'IORING_OP_WRITE',
  28: 'IORING_OP_OPENAT2',
  35: 'IORING_OP_RENAMEAT',
  36: 'IORING_OP_UNLINKAT',
  37: 'IORING_OP_MKDIRAT',
  38: 'IORING_OP_SYMLINKAT',
  39: 'IORING_OP_LINKAT',
  41: 'IORING_OP_FSETXATTR',
  42: 'IORING_OP_SETXATTR',
};

/** IORING_SETUP_* flag bits (include/uapi/linux/io_uring.h). */
const SETUP_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [1 << 0, 'IOPOLL'],
  [1 << 1, 'SQPOLL'],
  [1 << 2, 'SQ_AFF'],
  [1 << 3, 'CQSIZE'],
  [1 << 4, 'CLAMP'],
  [1 << 5, 'ATTACH_WQ'],
  [1 << 6, 'R_DISABLED'],
  [1 << 7, 'SUBMIT_ALL'],
  [1 << 8, 'COOP_TASKRUN'],
  [1 << 9, 'TASKRUN_FLAG'],
  [1 << 10, 'SQE128'],
  [1 << 11, 'CQE32'],
  [1 << 12, 'SINGLE_ISSUER'],
  [1 << 13, 'DEFER_TASKRUN'],
  [1 << 14, 'NO_MMAP'],
  [1 << 15, 'REGISTERED_FD_ONLY'],
  [1 << 16, 'NO_SQARRAY'],
];

export interface IoUringFacts {
  /** IORING_OP_* number of the operation (absent on ring creation). */
  opcode?: number;
  /** IORING_OP_* name. */
  operation?: string;
  /** Ring creation (io_uring_setup). */
  setup?: { sq_entries: number; cq_entries: number; flags: number; flag_names: string[] };
}

/** The operation of a record submitted through a ring, or undefined. */
export function ioUringOperation(hflags: number): IoUringFacts | undefined {
  if (!(hflags & RecordFlags.SE_F_IO_URING)) return undefined;
  const opcode = (hflags >>> RecordFlags.SE_F_IOU_OP_SHIFT) & 0xff;
  return { opcode, operation: OPCODE_NAMES[opcode] ?? `IORING_OP_${opcode}` };
}

/** A ring's creation: entries and setup flags. */
export function ioUringSetup(sqEntries: number, cqEntries: number, flags: number): IoUringFacts {
  return { setup: { sq_entries: sqEntries, cq_entries: cqEntries, flags, flag_names: SETUP_FLAGS.filter(([b]) => flags & b).map(([, n]) => n) } };
}
