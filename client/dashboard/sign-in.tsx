// The sign-in form: an API key, pasted as is or as a copied "Bearer ..." header value.
import { useEffect, useRef } from 'preact/hooks';

/** The key as pasted, without the "Bearer " a copied Authorization header starts with (pure). */
export const keyFromInput = (text: string) => text.trim().replace(/^bearer\s+/i, '').trim();

export function SignIn({ onKey }: { onKey: (key: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = 'Heartbeat';
    input.current?.focus();
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    const key = keyFromInput(input.current?.value ?? '');
    if (key) onKey(key);
  };
  return (
    <main class="signin-page">
      <form class="signin card" onSubmit={submit}>
        <h1>
          <span class="logo">♥</span> Heartbeat
        </h1>
        <p class="muted">Paste an API key to open the console. It stays in this browser until you sign out.</p>
        <input ref={input} type="password" name="apiKey" placeholder="hb_…" autocomplete="off" required data-testid="key-input" aria-label="API key" />
        <button type="submit" class="primary" data-testid="key-submit">
          Open console
        </button>
        <p class="hint">
          Lost it? <code>npm run heartbeat -- keys create</code> prints a new one.
        </p>
      </form>
    </main>
  );
}
