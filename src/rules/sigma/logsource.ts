/**
 * Sigma logsources → what our events can express: for each supported
 * logsource, the family restriction every converted rule starts with, the
 * Sigma field names mapped to our ECS fields, and the alert message.
 *
 * Takes a Sigma `logsource` block; gives a `Logsource` or the reason it
 * cannot be converted. The Linux categories come from Sysmon for Linux
 * (process_creation, file_event, network_connection); the auditd service
 * is mapped per record type in auditd.ts.
 */

/** How a Sigma field is written in our condition language. */
export interface FieldMap {
  /** Our dotted field name. */
  field: string;
  /** keyword: string operators; long: numbers only; direction: Initiated true/false. */
  type: 'keyword' | 'long' | 'direction';
}

export interface Logsource {
  /** Short name used in reports (process_creation, auditd, …). */
  name: string;
  /** Our condition every rule of this logsource is restricted to ('' for auditd: per selection). */
  base: string;
  fields: Readonly<Record<string, FieldMap>>;
  /** Fields Sigma defines that we know we cannot express, with why. */
  unsupported: Readonly<Record<string, string>>;
  output: string;
}

const kw = (field: string): FieldMap => ({ field, type: 'keyword' });
const num = (field: string): FieldMap => ({ field, type: 'long' });

const PROCESS_FIELDS: Record<string, FieldMap> = {
  Image: kw('process.executable'),
  CommandLine: kw('process.command_line'),
  ParentImage: kw('process.parent.executable'),
  ParentCommandLine: kw('process.parent.command_line'),
  CurrentDirectory: kw('process.working_directory'),
  User: kw('user.name'),
  ProcessId: num('process.pid'),
  ParentProcessId: num('process.parent.pid'),
};

const NO_LOGON = 'a Windows/Sysmon logon session id; Linux events carry the audit session instead (ebpf.process.sessionid), not the same value';

/** Process creation: execs only (a fork creates no new image). */
const PROCESS_CREATION: Logsource = {
  name: 'process_creation',
  base: 'ebpf.kind = exec',
  fields: PROCESS_FIELDS,
  unsupported: { LogonId: NO_LOGON, Hashes: 'file hashes are not computed', OriginalFileName: 'PE metadata (Windows)' },
  output: '%{process.executable} (pid %{process.pid}, parent %{process.parent.executable}): %{process.command_line}',
};

/** File creation (Sysmon FileCreate): opens that create, write or truncate, and renames onto a path. */
const FILE_EVENT: Logsource = {
  name: 'file_event',
  base: '((ebpf.kind = open and ebpf.open.intent in (create, write, truncate)) or ebpf.kind = rename)',
  fields: { Image: kw('process.executable'), TargetFilename: kw('file.path'), User: kw('user.name'), ProcessId: num('process.pid') },
  unsupported: { Hashes: 'file hashes are not computed' },
  output: '%{process.executable} (pid %{process.pid}) wrote %{file.path}',
};

/** Network connections: outgoing connects and accepted connections (Initiated tells them apart). */
const NETWORK_CONNECTION: Logsource = {
  name: 'network_connection',
  base: 'ebpf.kind in (connect, accept)',
  fields: {
    Image: kw('process.executable'),
    User: kw('user.name'),
    ProcessId: num('process.pid'),
    DestinationIp: kw('destination.ip'),
    DestinationPort: num('destination.port'),
    SourceIp: kw('source.ip'),
    SourcePort: num('source.port'),
    Protocol: kw('network.transport'),
    Initiated: { field: 'network.direction', type: 'direction' },
  },
  unsupported: {
    DestinationHostname: 'the sensor sees addresses, not the names that were resolved to them',
    SourceHostname: 'the sensor sees addresses, not host names',
  },
  output: '%{process.executable} (pid %{process.pid}) %{network.direction} connection with %{destination.ip}:%{destination.port}',
};

/** The auditd service: the restriction is per selection (record type), see auditd.ts. */
const AUDITD: Logsource = {
  name: 'auditd',
  base: '',
  fields: {},
  unsupported: {},
  output: '%{process.executable} (pid %{process.pid}) %{ebpf.syscall}: %{process.command_line} %{file.path}',
};

export interface LogsourceBlock {
  product?: unknown;
  category?: unknown;
  service?: unknown;
}

/** The logsource of a Sigma rule, or why it is not one we convert. */
export function logsourceOf(ls: LogsourceBlock | undefined): Logsource | string {
  if (!ls || typeof ls !== 'object') return 'no logsource';
  const { product, category, service } = ls;
  if (product !== 'linux') return `logsource product ${JSON.stringify(product ?? null)}: only linux is converted`;
  if (service === 'auditd') return AUDITD;
  if (service !== undefined) return `logsource service "${String(service)}": log lines, not events the sensor produces`;
  if (category === undefined || category === null) return 'logsource linux with no category or service: matches log lines, not events the sensor produces';
  switch (category) {
    case 'process_creation':
      return PROCESS_CREATION;
    case 'file_event':
    case 'file_create':
      return FILE_EVENT;
    case 'network_connection':
      return NETWORK_CONNECTION;
    default:
      return `logsource category ${JSON.stringify(category ?? null)}: not converted (process_creation, file_event, network_connection and service auditd are)`;
  }
}
