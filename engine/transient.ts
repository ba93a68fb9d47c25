// Database failures that go away when the same work is tried again.
/** Deadlocks, serialization failures and dropped connections: the same work succeeds when tried again. */
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001', '57P01', '08006', '08003', '08000']);

export function isTransientDatabaseError(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: string })?.code;
  return !!code && (TRANSIENT_SQLSTATES.has(code) || code === 'CONNECTION_CLOSED' || code === 'ECONNREFUSED' || code === 'ECONNRESET');
}

/** Runs `work`, again after a short backoff when it failed for a transient database reason. */
export async function withTransientRetry<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientDatabaseError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
  }
}

