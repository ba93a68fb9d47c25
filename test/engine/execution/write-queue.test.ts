// A run's write queue tells its adapter to stop reading when events pile up faster than they are
// stored (AdapterExecution.backlog), and lets it read on once they have come down.
import { describe, expect, it } from 'vitest';
import { EVENT_BACKLOG, WriteQueue } from '../../../engine/execution/execute-run.ts';
import type { NewRunEvent } from '../../../engine/runs/events.ts';

const event = (i: number): NewRunEvent => ({ runId: 'run', eventType: 'tool.call', message: String(i) });

/** A write that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('WriteQueue backlog', () => {
  it('is null up to the high mark, a promise above it, resolved once the writes have come down', async () => {
    const queue = new WriteQueue(() => {});
    const blocked = gate();
    queue.push(() => blocked.opened);
    const written: number[] = [];
    const writeGroup = async (group: NewRunEvent[]) => void written.push(group.length);
    for (let i = 0; i < EVENT_BACKLOG.high; i++) queue.pushEvent(event(i), writeGroup);
    expect(queue.backlog()).toBeNull();
    queue.pushEvent(event(EVENT_BACKLOG.high), writeGroup);
    const caughtUp = queue.backlog();
    expect(caughtUp).toBeInstanceOf(Promise);
    expect(queue.backlog()).toBe(caughtUp); // one wait, however many ask
    blocked.open();
    await caughtUp;
    expect(written).toEqual([EVENT_BACKLOG.high + 1]);
    expect(queue.backlog()).toBeNull();
  });

  it('counts single writes of events, failed writes, and events taken by the finish as no longer pending', async () => {
    const queue = new WriteQueue(() => {});
    const blocked = gate();
    for (let i = 0; i <= EVENT_BACKLOG.high; i++) queue.push(() => (i === 0 ? blocked.opened : Promise.reject(new Error('x'))), 1);
    const caughtUp = queue.backlog();
    expect(caughtUp).toBeInstanceOf(Promise);
    blocked.open();
    await caughtUp;
    expect(queue.backlog()).toBeNull();

    const held = gate();
    queue.push(() => held.opened);
    for (let i = 0; i <= EVENT_BACKLOG.high; i++) queue.pushEvent(event(i), async () => {});
    expect(queue.backlog()).toBeInstanceOf(Promise);
    expect(queue.takeEvents()).toHaveLength(EVENT_BACKLOG.high + 1);
    expect(queue.backlog()).toBeNull();
    held.open();
    await queue.drain();
  });
});
