// The control channel's messages (cancel, key revocation) as this instance receives them: parsed
// once, then handed to the engine and to every listener the server registered.
import type { Logger } from 'pino';

/** Channel on which instances tell each other to stop a run's process, or to forget a revoked key. */
export const CONTROL_CHANNEL = 'heartbeat_control';

export type ControlMessage =
  | { kind: 'cancel'; runId: string }
  | { kind: 'revoke-key'; keyId: string }
  /** Some company's budgets changed: each instance reads again which companies have any (costs/budgets.ts). */
  | { kind: 'budgets-changed' };

type Listener = (message: ControlMessage) => void;

export class ControlListeners {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly logger: () => Logger) {}

  /** Adds a listener; returns its removal. */
  add(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A NOTIFY payload: a malformed one is logged and ignored. */
  receive(payload: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(payload) as ControlMessage;
    } catch (error) {
      this.logger().warn({ err: error }, 'ignored a malformed control message');
      return;
    }
    for (const listener of this.listeners) listener(message);
  }
}
