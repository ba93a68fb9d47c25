// Whether an agent may run now, asked once for the claim and the execution alike: its stored
// config as its adapter reads it, if this server's host-adapter settings let it run.
import type { AdapterType } from '../../db/enums.ts';
import type { EngineDeps } from '../model/deps.ts';
import { hostAdapterRefusalToRun } from '../rules/host-adapters.ts';

/** The run's errorCode when the host-adapter settings no longer let its agent run. */
export const HOST_ADAPTER_REFUSED = 'host_adapter_refused';

/** Thrown instead of running an agent the settings refuse; `runErrorCode` is what the run records. */
export class HostAdapterRefused extends Error {
  readonly runErrorCode = HOST_ADAPTER_REFUSED;
  override name = 'HostAdapterRefused';
}

/** The agent's stored config, read as its adapter reads it at run time; throws if it may not run. */
export function runnableConfig(deps: EngineDeps, agent: { adapterType: AdapterType; adapterConfig: unknown }): unknown {
  const refusal = hostAdapterRefusalToRun(deps.settings.hostAdapters, agent.adapterType, agent.adapterConfig);
  if (refusal) throw new HostAdapterRefused(refusal);
  return deps.adapters[agent.adapterType].readStoredConfig(agent.adapterConfig);
}
