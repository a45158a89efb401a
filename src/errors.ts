/**
 * The one error type of ebpf-sensor. Every error a user can meet carries a
 * stable code (listed in docs/errors.md; a test keeps list and code equal),
 * whether retrying can help, and where the problem is (file, line, column,
 * field) when it comes from input.
 */

export const ERROR_CODES = {
  ESENSOR_USAGE: 'Bad command line: unknown command or option, missing argument.',
  ESENSOR_CONFIG: 'Configuration file or environment override is invalid (names the file and field).',
  ESENSOR_CONFIG_UNSAFE: 'A configuration or rule file is writable by users other than root; refused.',
  ESENSOR_PRIVILEGE: 'The process lacks root or CAP_BPF+CAP_PERFMON, so BPF programs cannot be loaded.',
  ESENSOR_KERNEL_UNSUPPORTED: 'The kernel lacks something the sensor needs (BTF, ring buffers, tracepoints, version).',
  ESENSOR_FS_MISSING: 'tracefs or bpffs is not mounted and could not be mounted.',
  ESENSOR_BUILD_MISSING: 'The BPF object or native addon has not been built (run the setup).',
  ESENSOR_BPF_OPEN: 'libbpf could not open the BPF object file.',
  ESENSOR_BPF_LOAD: 'The kernel refused to load a BPF program or map (verifier, permissions, memory).',
  ESENSOR_BPF_ATTACH: 'A BPF program could not be attached to its hook.',
  ESENSOR_BPF_MAP: 'Reading or writing a BPF map failed.',
  ESENSOR_BPF_RING: 'The ring buffer reader could not be started.',
  ESENSOR_BPF_STATE: 'A BPF object call came in the wrong order (for example setting globals after load).',
  ESENSOR_BPF_PROG: 'No BPF program by that name in the object.',
  ESENSOR_BPF_CLOSED: 'The BPF object was already closed.',
  ESENSOR_NATIVE: 'An internal N-API call failed in the native addon.',
  ESENSOR_NATIVE_ARG: 'The native addon was called with an invalid argument.',
  ESENSOR_ABI_MISMATCH: 'A record from the kernel does not match the ABI this build was compiled for.',
  ESENSOR_DECODE: 'A kernel record is malformed (truncated frame, bad string offsets).',
  ESENSOR_RULE_PARSE: 'A rule file is not valid YAML or a condition does not parse (names file:line:column).',
  ESENSOR_RULE_SCHEMA: 'A rule file does not match schemas/rules.schema.json (names file:line:column and key).',
  ESENSOR_RULE_SEMANTIC: 'A rule refers to an unknown field, macro or list, mismatches types or forms a cycle.',
  ESENSOR_RULE_REGEX: 'A rule regex is invalid or could backtrack catastrophically.',
  ESENSOR_RULE_TEST: 'A rule fixture file is malformed.',
  ESENSOR_JOURNAL_IO: 'The journal could not be read or written.',
  ESENSOR_JOURNAL_CORRUPT: 'A journal segment is damaged (names the file and offset); good records are kept.',
  ESENSOR_JOURNAL_FORMAT: 'A journal directory has an unknown format version.',
  ESENSOR_JOURNAL_UNSAFE: 'A journal directory is a symlink, not owned by the sensor\'s user, or writable by others (or holds a symlink where a file should be); refused.',
  ESENSOR_CAPTURE_FORMAT: 'A capture file is not a capture, has the wrong version, or a bad record (names file and record).',
  ESENSOR_SINK_CONFIG: 'A sink is configured wrongly.',
  ESENSOR_SINK_UNAVAILABLE: 'A sink cannot be reached; it lags and retries.',
  ESENSOR_OUTPUT: 'An output target (file, stdout) cannot be written.',
  ESENSOR_KUBE_API: 'The Kubernetes API server did not give this node\'s pods (no service account, token refused, RBAC, unreachable); pod labels are missing until it does.',
  ESENSOR_STATUS_UNAVAILABLE: 'No running sensor answers on its metrics/health endpoint (ebpf-sensor status).',
  ESENSOR_SERVICE: 'A test service (Kafka, Elasticsearch, rsyslog) could not be fetched or started.',
  ESENSOR_INTERNAL: 'A bug: an invariant of the sensor did not hold.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SensorErrorDetails {
  /** Whether retrying the same operation later can succeed. */
  retriable?: boolean;
  cause?: unknown;
  errno?: number;
  /** The libbpf (or other library) call that failed. */
  call?: string;
  /** The BPF program, map or object concerned. */
  object?: string;
  file?: string;
  line?: number;
  column?: number;
  field?: string;
  libbpfMessage?: string;
}

export class SensorError extends Error {
  override readonly name = 'SensorError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly errno?: number;
  readonly call?: string;
  readonly object?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
  readonly libbpfMessage?: string;

  constructor(code: ErrorCode, message: string, details: SensorErrorDetails = {}) {
    // Messages reach logs, /health and terminals: never with the password of a URL in them.
    super(redactUrlCredentials(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retriable = details.retriable ?? false;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.call !== undefined) this.call = details.call;
    if (details.object !== undefined) this.object = details.object;
    if (details.file !== undefined) this.file = details.file;
    if (details.line !== undefined) this.line = details.line;
    if (details.column !== undefined) this.column = details.column;
    if (details.field !== undefined) this.field = details.field;
    if (details.libbpfMessage !== undefined) this.libbpfMessage = details.libbpfMessage;
  }

  /** "file:line:column: message" when the error points into a file. */
  get location(): string | undefined {
    if (this.file === undefined) return undefined;
    let loc = this.file;
    if (this.line !== undefined) loc += `:${this.line}`;
    if (this.column !== undefined) loc += `:${this.column}`;
    return loc;
  }

  override toString(): string {
    const loc = this.location;
    return `${this.code}: ${loc ? `${loc}: ` : ''}${this.message}`;
  }

  /** Constructor used by the native addon: `new SensorError(message, props)`. */
  static fromNative(message: string, props: { code?: string } & SensorErrorDetails): SensorError {
    const code = props.code !== undefined && props.code in ERROR_CODES ? (props.code as ErrorCode) : 'ESENSOR_NATIVE';
    return new SensorError(code, message, props);
  }
}

/** `scheme://user:password@` → `scheme://[redacted]@` (a URL's userinfo), anywhere in `text`. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]+@/gi;

/**
 * `text` with the credentials of every URL in it replaced by [redacted]:
 * used for error messages, log lines, /health and anything else a local
 * user can read (an Elasticsearch node may be given as
 * http://user:password@host).
 */
export function redactUrlCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_USERINFO, '$1[redacted]@') : text;
}

/** True when `e` is a SensorError (optionally of one code). */
export function isSensorError(e: unknown, code?: ErrorCode): e is SensorError {
  return e instanceof SensorError && (code === undefined || e.code === code);
}
