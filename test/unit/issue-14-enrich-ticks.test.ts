// issue-14: enrich keeps the last start (and parent start) it turned into
// clock ticks; every event still gets the entity ids of its own starts, when
// they alternate, repeat or change by less than a tick.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Enricher } from '../../src/enrich/enrich.js';
import { entityId, ticksOf } from '../../src/enrich/process-table.js';
import { decodeRecord } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import type { SensorEvent } from '../../src/model/event.js';
import { buildRecord } from '../helpers/record-builder.js';

function open(pid: number, startNs: bigint, parentStartNs: bigint): SensorEvent {
  const r = buildRecord({ type: EventType.SE_EV_OPEN, pid, ppid: 1, startNs, parentStartNs, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: ['/etc/hosts', null, null] });
  return decodeRecord(r, 0, r.length, { bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'abcd0123', sequence: 0 });
}

test('issue-14: entity ids follow each event\'s own start and parent start', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const starts = [5_000_000_000n, 5_000_000_000n, 7_000_000_000n, 5_000_000_000n, 5_009_999_999n, 5_010_000_000n, 7_000_000_000n, 2n ** 60n];
  const parents = [1_000_000_000n, 3_000_000_000n, 3_000_000_000n, 1_000_000_000n, 1_000_000_000n, 1_009_999_999n, 1_010_000_000n, 2n ** 61n];
  starts.forEach((s, i) => {
    const pid = 100 + (i % 3);
    const ev = open(pid, s, parents[i]!);
    en.enrich(ev);
    assert.equal(ev.process.entity_id, entityId('h', pid, ticksOf(s)), `event ${i}: process`);
    assert.equal(ev.process.parent.entity_id, entityId('h', 1, ticksOf(parents[i]!)), `event ${i}: parent`);
  });
});
