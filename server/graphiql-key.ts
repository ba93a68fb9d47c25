// The GraphiQL page's one API key (runs in the browser). It is kept under the console's storage
// name, so a key entered in GraphiQL or in the console is the key of both, and every GraphiQL tab,
// HTTP request and WebSocket reads it from here: nothing comes from a tab's Headers.

/** The console's localStorage entry (client/dashboard/app.tsx). */
export const API_KEY_STORAGE = 'heartbeat:apiKey';

/** The key as pasted, without the "Bearer " a copied Authorization header starts with (pure). */
export const keyFromInput = (text: string) => text.trim().replace(/^bearer\s+/i, '').trim();

export class StoredApiKey {
  private readonly listeners = new Set<() => void>();

  /** `page` hears changes made in the page's other browser tabs (the console's sign-out too). */
  constructor(
    private readonly storage: Storage,
    page?: Pick<Window, 'addEventListener'>,
  ) {
    page?.addEventListener('storage', (event: StorageEvent) => {
      if (event.key === API_KEY_STORAGE || event.key === null) this.notify();
    });
  }

  get(): string | null {
    return keyFromInput(this.storage.getItem(API_KEY_STORAGE) ?? '') || null;
  }

  /** Stores the pasted key; an empty one forgets it. */
  set(text: string): void {
    const key = keyFromInput(text);
    if (key) this.storage.setItem(API_KEY_STORAGE, key);
    else this.storage.removeItem(API_KEY_STORAGE);
    this.notify();
  }

  clear(): void {
    this.set('');
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify() {
    for (const listener of this.listeners) listener();
  }
}
