// Tenant isolation helpers. Every row carries its company; a caller sees only its own company.
import { unauthenticated } from '../engine/errors.ts';
import type { HeartbeatContext } from './context.ts';

/** The caller's company id; refuses anonymous callers. */
export function companyIdOf(ctx: HeartbeatContext): string {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal.companyId;
}

/**
 * Whether a row loaded for a node id belongs to the caller's company. A Company row is its own
 * owner; every other table has a `companyId` column.
 */
export function visibleTo(ctx: HeartbeatContext, typename: string, row: unknown): boolean {
  if (!ctx.principal || row === null || typeof row !== 'object') return false;
  const record = row as { id?: unknown; companyId?: unknown };
  const owner = typename === 'Company' ? record.id : record.companyId;
  return owner === ctx.principal.companyId;
}
