// Which worker takes a retiring worker's idle connection: a serving one of the newest generation that listens on its port.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Candidate, Handovers, heirs, takers } from '../../src/supervisor/handover.js';
import type { WorkerHandle } from '../../src/supervisor/worker-handle.js';

function worker(name: string, fields: Partial<Candidate> = {}): Candidate & { name: string } {
  return { name, state: 'ready', generation: 1, hasRuntime: true, ports: new Set([8000]), connected: true, outOfDescriptors: null, ...fields };
}

const names = (chosen: { name: string }[]): string[] => chosen.map((c) => c.name);

describe('heirs of a handed-over connection', () => {
  it('are the serving workers of the newest generation that listen on the port', () => {
    const workers = [
      worker('old', { generation: 0 }),
      worker('a'),
      worker('b'),
      worker('other-port', { ports: new Set([9000]) }),
      worker('replacing', { state: 'replacing' }),
      worker('retiring', { state: 'retiring', generation: 2 }),
      worker('held', { state: 'held', generation: 2 }),
    ];
    assert.deepEqual(names(heirs(workers, 8000)), ['a', 'b']);
  });

  it('leave out workers without the runtime or an open channel', () => {
    const workers = [worker('no-runtime', { hasRuntime: false, generation: 3 }), worker('gone', { connected: false, generation: 3 }), worker('a')];
    assert.deepEqual(names(heirs(workers, 8000)), ['a']);
  });

  it('fall back to an older generation when the newest has no serving worker on the port', () => {
    assert.deepEqual(names(heirs([worker('old', { generation: 0 }), worker('new', { generation: 1, state: 'starting' })], 8000)), ['old']);
  });

  it('are none when nobody listens on the port', () => {
    assert.deepEqual(heirs([worker('a')], 8001), []);
  });
});

describe('takers of a relayed connection', () => {
  it('are every serving worker on the port, of any generation, with descriptors to spare', () => {
    const workers = [
      worker('old', { generation: 0 }),
      worker('new', { generation: 1 }),
      worker('full', { outOfDescriptors: 'EMFILE' }),
      worker('held', { state: 'held' }),
      worker('other-port', { ports: new Set([9000]) }),
    ];
    assert.deepEqual(names(takers(workers, 8000)), ['old', 'new']);
  });
});

describe('handed-over connections during an upgrade', () => {
  const connection = () => ({
    closed: false,
    close() {
      this.closed = true;
    },
  });

  it('go to the new primary when no worker here can take them, the ones already waiting included', () => {
    const handovers = new Handovers();
    const waiting = connection();
    handovers.pass([], 8000, waiting);
    assert.equal(handovers.forwarding, false);
    const forwarded: unknown[] = [];
    handovers.forwardTo((port, sent) => {
      forwarded.push([port, sent]);
      return true;
    });
    const later = connection();
    handovers.pass([], 8001, later, false);
    assert.deepEqual(forwarded, [
      [8000, waiting],
      [8001, later],
    ]);
    assert.equal(handovers.forwarding, true);
    assert.equal(waiting.closed || later.closed, false);
  });

  it('are closed as before when the new primary cannot be reached and the cluster stops', () => {
    const handovers = new Handovers();
    handovers.forwardTo(() => false);
    const lost = connection();
    handovers.pass([], 8000, lost, false);
    assert.equal(lost.closed, true);
  });
});

describe('connections passed on to rebalance', () => {
  /** A worker as Handovers sees it, recording what it is sent. */
  function heir(name: string) {
    const got: number[] = [];
    const fake = {
      ...worker(name),
      name,
      got,
      send(message: { port: number }, _handle: unknown, done: () => void) {
        got.push(message.port);
        done();
      },
    };
    return fake as unknown as WorkerHandle & { name: string; got: number[] };
  }
  const connection = () => ({ close() {} });

  it('go to the workers the rebalancer chose, the one wanting most first, then back to the worker that passed them', () => {
    const [busy, idle, idler, other] = [heir('busy'), heir('idle'), heir('idler'), heir('other')];
    const all = [busy, idle, idler, other];
    const handovers = new Handovers();
    handovers.steer(
      new Map([
        [idle, 1],
        [idler, 2],
      ]),
      0,
      1_000,
    );
    for (let i = 0; i < 4; i += 1) handovers.pass(all, 8000, connection(), true, { worker: busy, now: 10 });
    assert.deepEqual(
      all.map((w) => [w.name, w.got.length]),
      [
        ['busy', 1],
        ['idle', 1],
        ['idler', 2],
        ['other', 0],
      ],
    );
  });

  it('are steered only within the window the rebalancer gave', () => {
    const [busy, idle] = [heir('busy'), heir('idle')];
    const handovers = new Handovers();
    handovers.steer(new Map([[idle, 5]]), 0, 1_000);
    handovers.pass([busy, idle], 8000, connection(), true, { worker: busy, now: 1_001 });
    assert.deepEqual([busy.got.length, idle.got.length], [1, 0]);
  });
});
