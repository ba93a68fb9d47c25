import { index, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt, primaryId, timestamptz } from './columns.ts';
import { companyRef } from './companies.ts';
import { apiKeyRoleEnum } from './enums.ts';

/**
 * Company-scoped API keys. Only a SHA-256 digest of the secret is stored: keys are 256-bit random
 * tokens, so a fast digest is enough and keeps per-request lookups to one index probe.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: primaryId(),
    companyId: companyRef(),
    name: text().notNull(),
    role: apiKeyRoleEnum().notNull().default('admin'),
    keyHash: text().notNull(),
    /** The first characters of the key, safe to show so people can tell keys apart. */
    keyPrefix: text().notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamptz(),
    revokedAt: timestamptz(),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_uq').on(t.keyHash),
    index('api_keys_company_idx').on(t.companyId),
  ],
);
