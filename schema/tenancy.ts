// Tenant isolation and roles. Every row carries its company; an API key sees only its own company,
// and a run token sees nothing through the read API.
import type { ApiKeyRole } from '../db/enums.ts';
import { forbidden, unauthenticated } from '../engine/index.ts';
import type { ApiKeyPrincipal } from '../engine/index.ts';
import type { HeartbeatContext } from './context.ts';

const ROLE_RANK: Record<ApiKeyRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** The caller's API key; refuses anonymous callers and run tokens. */
export function apiKeyOf(ctx: HeartbeatContext, atLeast: ApiKeyRole = 'viewer'): ApiKeyPrincipal {
  const principal = ctx.principal;
  if (!principal) throw unauthenticated();
  if (principal.kind !== 'apiKey') throw forbidden('This needs an API key');
  if (ROLE_RANK[principal.role] < ROLE_RANK[atLeast]) throw forbidden(`This needs a key with the ${atLeast} role`);
  return principal;
}

/** The caller's company id (any API key). */
export function companyIdOf(ctx: HeartbeatContext): string {
  return apiKeyOf(ctx).companyId;
}

/** Company id for a change: operator or admin keys only. */
export function operatorCompanyIdOf(ctx: HeartbeatContext): string {
  return apiKeyOf(ctx, 'operator').companyId;
}
