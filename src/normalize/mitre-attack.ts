/**
 * MITRE ATT&CK (Enterprise) names for the ids rules put in their tags, so
 * alerts carry `threat.tactic.*` and `threat.technique.*` with names and
 * references. The table holds every Enterprise tactic and the techniques a
 * Linux host sensor can see; an id it lacks still gets its id and reference,
 * and its own id as name so the id/name arrays stay aligned.
 */

/** Tactic id → name (ATT&CK Enterprise). */
export const ATTACK_TACTICS: Readonly<Record<string, string>> = Object.freeze({
  TA0043: 'Reconnaissance',
  TA0042: 'Resource Development',
  TA0001: 'Initial Access',
  TA0002: 'Execution',
  TA0003: 'Persistence',
  TA0004: 'Privilege Escalation',
  TA0005: 'Defense Evasion',
  TA0006: 'Credential Access',
  TA0007: 'Discovery',
  TA0008: 'Lateral Movement',
  TA0009: 'Collection',
  TA0011: 'Command and Control',
  TA0010: 'Exfiltration',
  TA0040: 'Impact',
});

/** Technique or sub-technique id → [name, tactic ids]. */
export const ATTACK_TECHNIQUES: Readonly<Record<string, readonly [string, readonly string[]]>> = Object.freeze({
  T1003: ['OS Credential Dumping', ['TA0006']],
  'T1003.007': ['Proc Filesystem', ['TA0006']],
  'T1003.008': ['/etc/passwd and /etc/shadow', ['TA0006']],
  T1005: ['Data from Local System', ['TA0009']],
  T1014: ['Rootkit', ['TA0005']],
  T1018: ['Remote System Discovery', ['TA0007']],
  T1021: ['Remote Services', ['TA0008']],
  'T1021.004': ['SSH', ['TA0008']],
  T1027: ['Obfuscated Files or Information', ['TA0005']],
  T1033: ['System Owner/User Discovery', ['TA0007']],
  T1036: ['Masquerading', ['TA0005']],
  'T1036.003': ['Rename Legitimate Utilities', ['TA0005']],
  'T1036.005': ['Match Legitimate Resource Name or Location', ['TA0005']],
  T1037: ['Boot or Logon Initialization Scripts', ['TA0003', 'TA0004']],
  'T1037.004': ['RC Scripts', ['TA0003', 'TA0004']],
  T1040: ['Network Sniffing', ['TA0006', 'TA0007']],
  T1046: ['Network Service Discovery', ['TA0007']],
  T1048: ['Exfiltration Over Alternative Protocol', ['TA0010']],
  T1049: ['System Network Connections Discovery', ['TA0007']],
  T1053: ['Scheduled Task/Job', ['TA0002', 'TA0003', 'TA0004']],
  'T1053.002': ['At', ['TA0002', 'TA0003', 'TA0004']],
  'T1053.003': ['Cron', ['TA0002', 'TA0003', 'TA0004']],
  'T1053.006': ['Systemd Timers', ['TA0002', 'TA0003', 'TA0004']],
  T1055: ['Process Injection', ['TA0005', 'TA0004']],
  'T1055.008': ['Ptrace System Calls', ['TA0005', 'TA0004']],
  'T1055.009': ['Proc Memory', ['TA0005', 'TA0004']],
  T1056: ['Input Capture', ['TA0009', 'TA0006']],
  'T1056.001': ['Keylogging', ['TA0009', 'TA0006']],
  T1057: ['Process Discovery', ['TA0007']],
  T1059: ['Command and Scripting Interpreter', ['TA0002']],
  'T1059.004': ['Unix Shell', ['TA0002']],
  'T1059.006': ['Python', ['TA0002']],
  T1068: ['Exploitation for Privilege Escalation', ['TA0004']],
  T1070: ['Indicator Removal', ['TA0005']],
  'T1070.002': ['Clear Linux or Mac System Logs', ['TA0005']],
  'T1070.003': ['Clear Command History', ['TA0005']],
  'T1070.004': ['File Deletion', ['TA0005']],
  'T1070.006': ['Timestomp', ['TA0005']],
  T1071: ['Application Layer Protocol', ['TA0011']],
  T1078: ['Valid Accounts', ['TA0005', 'TA0003', 'TA0004', 'TA0001']],
  'T1078.003': ['Local Accounts', ['TA0005', 'TA0003', 'TA0004', 'TA0001']],
  T1082: ['System Information Discovery', ['TA0007']],
  T1083: ['File and Directory Discovery', ['TA0007']],
  T1087: ['Account Discovery', ['TA0007']],
  'T1087.001': ['Local Account', ['TA0007']],
  T1090: ['Proxy', ['TA0011']],
  T1095: ['Non-Application Layer Protocol', ['TA0011']],
  T1098: ['Account Manipulation', ['TA0003', 'TA0004']],
  'T1098.004': ['SSH Authorized Keys', ['TA0003', 'TA0004']],
  T1105: ['Ingress Tool Transfer', ['TA0011']],
  T1106: ['Native API', ['TA0002']],
  T1110: ['Brute Force', ['TA0006']],
  T1129: ['Shared Modules', ['TA0002']],
  T1136: ['Create Account', ['TA0003']],
  'T1136.001': ['Local Account', ['TA0003']],
  T1140: ['Deobfuscate/Decode Files or Information', ['TA0005']],
  T1190: ['Exploit Public-Facing Application', ['TA0001']],
  T1204: ['User Execution', ['TA0002']],
  T1222: ['File and Directory Permissions Modification', ['TA0005']],
  'T1222.002': ['Linux and Mac File and Directory Permissions Modification', ['TA0005']],
  T1485: ['Data Destruction', ['TA0040']],
  T1486: ['Data Encrypted for Impact', ['TA0040']],
  T1489: ['Service Stop', ['TA0040']],
  T1496: ['Resource Hijacking', ['TA0040']],
  'T1496.001': ['Compute Hijacking', ['TA0040']],
  T1499: ['Endpoint Denial of Service', ['TA0040']],
  T1505: ['Server Software Component', ['TA0003']],
  'T1505.003': ['Web Shell', ['TA0003']],
  T1529: ['System Shutdown/Reboot', ['TA0040']],
  T1543: ['Create or Modify System Process', ['TA0003', 'TA0004']],
  'T1543.002': ['Systemd Service', ['TA0003', 'TA0004']],
  T1546: ['Event Triggered Execution', ['TA0004', 'TA0003']],
  'T1546.004': ['Unix Shell Configuration Modification', ['TA0004', 'TA0003']],
  T1547: ['Boot or Logon Autostart Execution', ['TA0003', 'TA0004']],
  'T1547.006': ['Kernel Modules and Extensions', ['TA0003', 'TA0004']],
  T1548: ['Abuse Elevation Control Mechanism', ['TA0004', 'TA0005']],
  'T1548.001': ['Setuid and Setgid', ['TA0004', 'TA0005']],
  'T1548.003': ['Sudo and Sudo Caching', ['TA0004', 'TA0005']],
  T1552: ['Unsecured Credentials', ['TA0006']],
  'T1552.001': ['Credentials In Files', ['TA0006']],
  'T1552.003': ['Shell History', ['TA0006']],
  'T1552.004': ['Private Keys', ['TA0006']],
  T1554: ['Compromise Host Software Binary', ['TA0003']],
  T1556: ['Modify Authentication Process', ['TA0006', 'TA0005', 'TA0003']],
  'T1556.003': ['Pluggable Authentication Modules', ['TA0006', 'TA0005', 'TA0003']],
  T1562: ['Impair Defenses', ['TA0005']],
  'T1562.001': ['Disable or Modify Tools', ['TA0005']],
  'T1562.004': ['Disable or Modify System Firewall', ['TA0005']],
  'T1562.006': ['Indicator Blocking', ['TA0005']],
  'T1562.012': ['Disable or Modify Linux Audit System', ['TA0005']],
  T1564: ['Hide Artifacts', ['TA0005']],
  'T1564.001': ['Hidden Files and Directories', ['TA0005']],
  T1565: ['Data Manipulation', ['TA0040']],
  T1571: ['Non-Standard Port', ['TA0011']],
  T1572: ['Protocol Tunneling', ['TA0011']],
  T1574: ['Hijack Execution Flow', ['TA0003', 'TA0004', 'TA0005']],
  'T1574.006': ['Dynamic Linker Hijacking', ['TA0003', 'TA0004', 'TA0005']],
  T1609: ['Container Administration Command', ['TA0002']],
  T1610: ['Deploy Container', ['TA0005', 'TA0002']],
  T1611: ['Escape to Host', ['TA0004']],
  T1613: ['Container and Resource Discovery', ['TA0007']],
  T1620: ['Reflective Code Loading', ['TA0005']],
});

const TACTIC_ID = /^TA\d{4}$/;
const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

/** ECS `threat.*` for a set of rule tags, or undefined when no tag is an ATT&CK id. */
export interface EcsThreat {
  framework: 'MITRE ATT&CK';
  tactic?: { id: string[]; name: string[]; reference: string[] };
  technique?: {
    id: string[];
    name: string[];
    reference: string[];
    subtechnique?: { id: string[]; name: string[]; reference: string[] };
  };
}

function push(set: { id: string[]; name: string[]; reference: string[] }, id: string, name: string, reference: string): void {
  if (set.id.includes(id)) return;
  set.id.push(id);
  set.name.push(name);
  set.reference.push(reference);
}

/**
 * Tactics come from TA tags; when a rule names techniques only, their tactics
 * come from the table. A sub-technique tag (T1059.004) gives both the parent
 * technique and the sub-technique, as ECS and Elastic Security lay them out.
 */
export function attackThreat(tags: readonly string[]): EcsThreat | undefined {
  const tactic = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  const technique = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  const sub = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  const inferred: string[] = [];
  for (const tag of tags) {
    if (TACTIC_ID.test(tag)) {
      push(tactic, tag, ATTACK_TACTICS[tag] ?? tag, `https://attack.mitre.org/tactics/${tag}/`);
    } else if (TECHNIQUE_ID.test(tag)) {
      const parent = tag.slice(0, 5);
      push(technique, parent, ATTACK_TECHNIQUES[parent]?.[0] ?? parent, `https://attack.mitre.org/techniques/${parent}/`);
      if (tag.length > 5) {
        push(sub, tag, ATTACK_TECHNIQUES[tag]?.[0] ?? tag, `https://attack.mitre.org/techniques/${parent}/${tag.slice(6)}/`);
      }
      for (const t of ATTACK_TECHNIQUES[tag]?.[1] ?? ATTACK_TECHNIQUES[parent]?.[1] ?? []) if (!inferred.includes(t)) inferred.push(t);
    }
  }
  if (tactic.id.length === 0) {
    for (const t of inferred) push(tactic, t, ATTACK_TACTICS[t] ?? t, `https://attack.mitre.org/tactics/${t}/`);
  }
  if (tactic.id.length === 0 && technique.id.length === 0) return undefined;
  const threat: EcsThreat = { framework: 'MITRE ATT&CK' };
  if (tactic.id.length) threat.tactic = tactic;
  if (technique.id.length) {
    threat.technique = technique;
    if (sub.id.length) threat.technique.subtechnique = sub;
  }
  return threat;
}
