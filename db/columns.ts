// Column helpers shared by every table.
import { sql } from 'drizzle-orm';
import { timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * timestamptz(3): millisecond precision, so a value read into a JS Date and sent back (for example
 * inside a connection cursor) compares equal to the stored one. Microseconds would make keyset
 * pagination skip rows that share a millisecond.
 */
export const timestamptz = () => timestamp({ withTimezone: true, precision: 3 });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is an id as the uuid columns store it (checked before it reaches a query). */
export const isUuid = (value: string): boolean => UUID.test(value);

export const primaryId = () => uuid().primaryKey().default(sql`gen_random_uuid()`);

export const createdAt = () => timestamptz().notNull().defaultNow();
export const updatedAt = () =>
  timestamptz()
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());
