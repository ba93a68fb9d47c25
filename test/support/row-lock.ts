// Rows held by a transaction of the test's own until it lets go: the way a test stops an engine
// write at a known row (the writer waits for the lock) without sleeping.
import type { SQL } from 'drizzle-orm';
import type { TestDatabase } from './database.ts';

/** Runs `lock` (a `select ... for update`) in a transaction that stays open until `release()`. */
export async function holdRows(db: TestDatabase['db'], lock: SQL): Promise<{ release(): Promise<void> }> {
  let locked!: () => void;
  let letGo!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const released = new Promise<void>((resolve) => (letGo = resolve));
  const holder = db.transaction(async (tx) => {
    await tx.execute(lock);
    locked();
    await released;
  });
  // A lock statement that fails ends the holder first: its error is thrown here.
  await Promise.race([isLocked, holder]);
  return {
    release: async () => {
      letGo();
      await holder;
    },
  };
}
