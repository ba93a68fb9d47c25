// Creating and changing agents. Adapter configs and heartbeat policies are validated here, so
// nothing invalid is ever stored. Names are unique per company whatever their case (the database's
// agents_company_name_uq): a taken name is a CONFLICT naming it.
import { and, eq, sql } from 'drizzle-orm';
import type { AdapterType, ApiKeyRole } from '../../db/enums.ts';
import { agents } from '../../db/schema.ts';
import { restoreRedactedSecrets } from '../adapters/redaction.ts';
import type { EngineDeps } from '../model/deps.ts';
import { badInput, conflict, HeartbeatError, notFound } from '../model/errors.ts';
import { HOST_ADAPTERS_SETTING, HOST_COMMANDS_SETTING, hostAdapterRefusalFor } from '../rules/host-adapters.ts';
import { validateHeartbeatPolicyInput } from '../rules/heartbeat-policy.ts';
import { validateSessionPolicyInput } from '../rules/sessions.ts';

export type AgentRow = typeof agents.$inferSelect;

const LIMITS = { name: 200, role: 100 };

function label(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (!trimmed) throw badInput(`${field} must not be empty`, { field });
  if (trimmed.length > max) throw badInput(`${field} is longer than ${max} characters`, { field });
  return trimmed;
}

/** The unique index on (company_id, lower(name)) that keeps one agent per name in a company. */
const NAME_INDEX = 'agents_company_name_uq';

/**
 * Runs the insert or update that stores `name`. The database decides whether the name is free (two
 * creates at once cannot both pass a check made before them): its refusal becomes a CONFLICT.
 */
async function storingName<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const cause = (error as { cause?: unknown })?.cause ?? error;
    const { code, constraint_name } = (cause ?? {}) as { code?: string; constraint_name?: string };
    if (name !== undefined && code === '23505' && constraint_name === NAME_INDEX) {
      throw conflict(`An agent named ${JSON.stringify(name)} already exists in this company`, { field: 'name' });
    }
    throw error;
  }
}

function parseAdapterConfig(deps: EngineDeps, adapterType: AdapterType, config: unknown): Record<string, unknown> {
  return deps.adapters[adapterType].parseConfig(config ?? {}) as Record<string, unknown>;
}

export async function findAgent(deps: EngineDeps, companyId: string, agentId: string): Promise<AgentRow> {
  const agent = await deps.db.query.agents.findFirst({ where: { id: agentId, companyId } });
  if (!agent) throw notFound('Agent');
  return agent;
}

/**
 * The id of the company's agent called `name`, whatever its case (names are unique per company,
 * agents_company_name_uq, so there is at most one); NOT_FOUND naming the field otherwise.
 */
export async function agentIdByName(deps: EngineDeps, companyId: string, name: string, field = 'agentName'): Promise<string> {
  const [agent] = await deps.db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.companyId, companyId), sql`lower(${agents.name}) = lower(${name})`))
    .limit(1);
  if (!agent) throw new HeartbeatError('NOT_FOUND', `No agent named ${JSON.stringify(name)} in this company`, { field });
  return agent.id;
}

export interface CreateAgentInput {
  companyId: string;
  /** The role of the key asking (the API passes it): host agents are limited by role (rules/host-adapters.ts). */
  callerRole?: ApiKeyRole;
  name: string;
  role?: string | null;
  adapterType: AdapterType;
  adapterConfig?: unknown;
  heartbeat?: unknown;
  /** Session rotation (docs/engine.md §12.9). */
  sessionPolicy?: unknown;
}

/** The agent's session rotation policy as stored, or a typed error naming the bad field. */
function sessionPolicyOf(input: unknown) {
  const policy = validateSessionPolicyInput(input);
  if ('error' in policy) throw badInput(policy.error, { field: policy.field });
  return policy;
}

/** Refuses a host agent the caller's role may not create or change (rules/host-adapters.ts); nothing is written. */
function assertHostAdapterAllowed(deps: EngineDeps, type: AdapterType, config: unknown, role: ApiKeyRole | undefined): void {
  if (role === undefined) return; // the engine's own callers (the demo, tests): the settings of the run time still apply
  const refusal = hostAdapterRefusalFor(deps.settings.hostAdapters, type, config, role);
  if (refusal) throw new HeartbeatError('FORBIDDEN', refusal, { setting: refusal.includes(HOST_COMMANDS_SETTING) ? HOST_COMMANDS_SETTING : HOST_ADAPTERS_SETTING });
}

export async function createAgent(deps: EngineDeps, input: CreateAgentInput): Promise<AgentRow> {
  const name = label('name', input.name, LIMITS.name);
  const role = input.role == null ? 'general' : label('role', input.role, LIMITS.role);
  // Validated for the error; the raw input is stored so defaults stay defaults. A redaction
  // marker has no stored secret behind it here: refused rather than stored as the value.
  const adapterConfig = restoreRedactedSecrets(input.adapterConfig ?? {}, null);
  parseAdapterConfig(deps, input.adapterType, adapterConfig);
  assertHostAdapterAllowed(deps, input.adapterType, adapterConfig, input.callerRole);
  const heartbeat = validateHeartbeatPolicyInput(input.heartbeat, deps.settings);
  const sessionPolicy = input.sessionPolicy == null ? null : sessionPolicyOf(input.sessionPolicy);
  const now = deps.clock.now();
  const [agent] = await storingName(name, () =>
    deps.db
      .insert(agents)
      .values({
        companyId: input.companyId,
        name,
        role,
        adapterType: input.adapterType,
        adapterConfig: adapterConfig as Record<string, unknown>,
        runtimeConfig: sessionPolicy ? { heartbeat, sessionPolicy } : { heartbeat },
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
  );
  return agent;
}

export interface UpdateAgentInput {
  companyId: string;
  /** As CreateAgentInput.callerRole: any change to a host agent, or into one, is limited by role. */
  callerRole?: ApiKeyRole;
  agentId: string;
  name?: string | null;
  role?: string | null;
  adapterType?: AdapterType | null;
  adapterConfig?: unknown;
  heartbeat?: unknown;
  sessionPolicy?: unknown;
}

export async function updateAgent(deps: EngineDeps, input: UpdateAgentInput): Promise<AgentRow> {
  const agent = await findAgent(deps, input.companyId, input.agentId);
  // Changing a host agent at all (its name, its timer) is changing what runs on the host.
  assertHostAdapterAllowed(deps, agent.adapterType, agent.adapterConfig, input.callerRole);
  const patch: Partial<AgentRow> = { updatedAt: deps.clock.now() };
  if (input.name != null) patch.name = label('name', input.name, LIMITS.name);
  if (input.role != null) patch.role = label('role', input.role, LIMITS.role);
  const adapterType = input.adapterType ?? agent.adapterType;
  if (input.adapterType != null || input.adapterConfig !== undefined) {
    if (input.adapterType != null && input.adapterType !== agent.adapterType && input.adapterConfig === undefined) {
      throw badInput('Changing adapterType needs an adapterConfig for the new adapter', { field: 'adapterConfig' });
    }
    // A config read from the API carries redaction markers for its secrets: they keep the stored ones.
    const config = input.adapterConfig === undefined ? agent.adapterConfig : restoreRedactedSecrets(input.adapterConfig, agent.adapterConfig);
    parseAdapterConfig(deps, adapterType, config);
    assertHostAdapterAllowed(deps, adapterType, config, input.callerRole);
    patch.adapterType = adapterType;
    patch.adapterConfig = (config ?? {}) as Record<string, unknown>;
  }
  if (input.heartbeat !== undefined) {
    patch.runtimeConfig = { ...agent.runtimeConfig, heartbeat: validateHeartbeatPolicyInput(input.heartbeat, deps.settings) };
  }
  if (input.sessionPolicy !== undefined) {
    patch.runtimeConfig = { ...(patch.runtimeConfig ?? agent.runtimeConfig), sessionPolicy: sessionPolicyOf(input.sessionPolicy) };
  }
  const [updated] = await storingName(patch.name, () => deps.db.update(agents).set(patch).where(eq(agents.id, agent.id)).returning());
  return updated;
}

/** Sets the agent's status if it is in one of `from`; refuses otherwise. */
export async function transitionAgentStatus(
  deps: EngineDeps,
  input: { companyId: string; agentId: string },
  to: AgentRow['status'],
  from: readonly AgentRow['status'][],
): Promise<AgentRow> {
  const agent = await findAgent(deps, input.companyId, input.agentId);
  if (agent.status === to) return agent;
  if (!from.includes(agent.status)) throw conflict(`Agent is ${agent.status}`);
  const [updated] = await deps.db
    .update(agents)
    .set({ status: to, updatedAt: deps.clock.now() })
    .where(and(eq(agents.id, agent.id), eq(agents.status, agent.status)))
    .returning();
  if (!updated) throw conflict('Agent changed meanwhile; try again');
  deps.bus.publish([{ type: 'agent.status', companyId: updated.companyId, agentId: updated.id, status: updated.status, lastHeartbeatAt: updated.lastHeartbeatAt?.toISOString() ?? null, outcome: to }]);
  return updated;
}
