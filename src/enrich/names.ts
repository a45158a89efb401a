/**
 * uid/gid → name from /etc/passwd and /etc/group, re-read when either file
 * changes (checked at most every `checkMs`). Local files only: the sensor
 * must not block on NSS/LDAP lookups in its event path.
 *
 * The check is `refresh()`, asked once per event by enrich; the lookups are
 * plain table reads — an event names a dozen users and groups, and a clock
 * read for each was most of enrich's name work (issue-14).
 */
import { readFileSync, statSync } from 'node:fs';

export class NameResolver {
  private users = new Map<string, string>();
  private groups = new Map<string, string>();
  private stamp = '';
  private lastCheck = 0;
  /** Counts the re-reads: what cached named objects (enrich/session.ts leaders) are keyed on. */
  generation = 0;

  constructor(
    private readonly passwd = '/etc/passwd',
    private readonly group = '/etc/group',
    private readonly checkMs = 5000,
  ) {
    this.reload(true);
  }

  /** Re-reads the files if they changed, at most every `checkMs`. */
  refresh(): void {
    this.reload(false);
  }

  /** The user's name as the tables held at the last refresh(). */
  user(id: string): string | undefined {
    return this.users.get(id);
  }

  /** The group's name as the tables held at the last refresh(). */
  groupName(id: string): string | undefined {
    return this.groups.get(id);
  }

  private reload(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastCheck < this.checkMs) return;
    this.lastCheck = now;
    let stamp = '';
    try {
      const a = statSync(this.passwd);
      const b = statSync(this.group);
      stamp = `${a.mtimeMs}:${a.size}:${b.mtimeMs}:${b.size}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.generation++;
    this.users = parse(this.passwd);
    this.groups = parse(this.group);
  }
}

function parse(file: string): Map<string, string> {
  const m = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!) && !m.has(f[2]!)) m.set(f[2]!, f[0]);
  }
  return m;
}
