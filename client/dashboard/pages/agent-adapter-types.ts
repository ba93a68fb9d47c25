// The adapter types the server knows, with the JSON Schema of each one's adapterConfig: read once per
// signed-in client (they change only with the server's version) and shared by every agent form.
import { useEffect, useState } from 'preact/hooks';
import type { HeartbeatClient } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import type { AdapterTypeInfo } from './agent-form.tsx';
import { AdapterTypesQuery } from './agents-operations.ts';
import { query } from './page-data.ts';

const read = new WeakMap<HeartbeatClient, Promise<AdapterTypeInfo[]>>();

/**
 * The adapter types, or null until they arrive (and when they cannot be read: the form then offers
 * every type with a JSON editor for its config, and the API still checks what is sent).
 */
export function useAdapterTypes(): AdapterTypeInfo[] | null {
  const { client } = useConsole();
  const [types, setTypes] = useState<AdapterTypeInfo[] | null>(null);
  useEffect(() => {
    let shown = true;
    let loading = read.get(client);
    if (!loading) {
      loading = query(client, AdapterTypesQuery, {}).then((data) => data.adapterTypes);
      // A failed read is asked again by the next form rather than remembered.
      loading.catch(() => read.delete(client));
      read.set(client, loading);
    }
    loading.then(
      (loaded) => shown && setTypes(loaded),
      () => undefined,
    );
    return () => void (shown = false);
  }, [client]);
  return types;
}
