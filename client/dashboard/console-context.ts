// What every page of the console shares: the signed-in SDK client, who is signed in, whether the key
// may act (cancel, retry, pause: not a VIEWER key), and the two ways out (sign out, report an error in
// the banner). Provided once by the signed-in shell (console-app.tsx).
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { HeartbeatClient } from '../index.ts';

export interface ConsoleContextValue {
  client: HeartbeatClient;
  viewer: { id: string; name: string; role: 'ADMIN' | 'OPERATOR' | 'VIEWER' };
  /** False for a VIEWER key (and once the API answered FORBIDDEN): pages then show no actions. */
  canAct: boolean;
  /** Forgets the key and shows the sign-in form, with `reason` in the banner if given. */
  signOut(reason?: string): void;
  /** Shows `what: <the error>` in the banner (a refused key signs out instead). */
  reportError(error: unknown, what: string): void;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

/** The console's shared state; only inside the signed-in shell. */
export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('useConsole() is used outside the signed-in console (ConsoleContext.Provider)');
  return value;
}
