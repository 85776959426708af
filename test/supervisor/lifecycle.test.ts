// The transition table: every state against every event, written out here rather than read back from the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WORKER_EVENTS, WORKER_STATES, type WorkerEvent, type WorkerState, isStopping, phaseOf, transition } from '../../src/supervisor/lifecycle.js';

const EXPECTED: Record<WorkerState, Partial<Record<WorkerEvent, WorkerState>>> = {
  starting: { ready: 'ready', hold: 'held', leave: 'draining', retire: 'retiring', exit: 'exited' },
  held: { promote: 'ready', leave: 'draining', retire: 'retiring', exit: 'exited' },
  ready: { replace: 'replacing', leave: 'draining', retire: 'retiring', exit: 'exited' },
  replacing: { leave: 'draining', retire: 'retiring', exit: 'exited' },
  draining: { exit: 'exited' },
  retiring: { exit: 'exited' },
  exited: {},
};

describe('worker lifecycle', () => {
  it('moves each state on each event as the design says, and ignores what means nothing there', () => {
    assert.deepEqual([...WORKER_STATES].sort(), Object.keys(EXPECTED).sort());
    assert.equal(WORKER_EVENTS.length, 7);
    for (const state of WORKER_STATES) {
      for (const event of WORKER_EVENTS) {
        assert.equal(transition(state, event), EXPECTED[state][event] ?? null, `${state} on ${event}`);
      }
    }
  });

  it('groups states into the phases whose timers end together', () => {
    assert.deepEqual(
      WORKER_STATES.map((state) => [state, phaseOf(state), isStopping(state)]),
      [
        ['starting', 'starting', false],
        ['held', 'starting', false],
        ['ready', 'serving', false],
        ['replacing', 'serving', false],
        ['draining', 'stopping', true],
        ['retiring', 'stopping', true],
        ['exited', 'gone', true],
      ],
    );
  });
});

describe('docs/design.md', () => {
  it('names exactly the states and events of the code, in its tables', () => {
    const doc = readFileSync(new URL('../../docs/design.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf("## A worker's life"), doc.indexOf('## Between primary and worker'));
    const firstColumn = (header: string): string[] => {
      const table = section.slice(section.indexOf(`| ${header} |`));
      const rows = table.split('\n').slice(2);
      const end = rows.findIndex((row) => !row.startsWith('|'));
      return rows.slice(0, end).map((row) => /^\| `([a-z]+)` \|/.exec(row)?.[1] ?? row);
    };
    assert.deepEqual(firstColumn('State'), [...WORKER_STATES]);
    assert.deepEqual(firstColumn('Event'), [...WORKER_EVENTS]);
  });
});
