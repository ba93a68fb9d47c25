// The API key field above GraphiQL (runs in the browser): where the page's one key is entered,
// once, for every tab. Saving it checks it with the server and says whose key it is, or that it
// was refused; the key is kept even when refused, so the operations show the server's own answer.
import { type StoredApiKey } from './graphiql-key.ts';

export type KeyCheck =
  | { state: 'none' }
  | { state: 'checking' }
  | { state: 'accepted'; company: string; role: string }
  | { state: 'run-token' }
  | { state: 'refused'; message: string }
  | { state: 'unknown'; message: string };

const KEY_CHECK = 'query HeartbeatKeyCheck { viewer { name } viewerRole }';

interface CheckAnswer {
  data?: { viewer?: { name: string }; viewerRole?: string } | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** What the server says of `key`: its company and role, or why it refused it. */
export async function checkApiKey(endpoint: string, key: string): Promise<KeyCheck> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: KEY_CHECK }),
    });
    const answer = (await response.json()) as CheckAnswer;
    const error = answer.errors?.[0];
    if (answer.data?.viewer) return { state: 'accepted', company: answer.data.viewer.name, role: answer.data.viewerRole ?? '' };
    if (error?.extensions?.code === 'UNAUTHENTICATED') return { state: 'refused', message: error.message };
    // A run token authenticates but may read nothing: not a refusal.
    if (error?.extensions?.code === 'FORBIDDEN') return { state: 'run-token' };
    return { state: 'unknown', message: error?.message ?? `HTTP ${response.status}` };
  } catch (error) {
    return { state: 'unknown', message: error instanceof Error ? error.message : String(error) };
  }
}

/** The line shown next to the field (pure). */
export function keyStatusText(check: KeyCheck): string {
  switch (check.state) {
    case 'none':
      return 'No key yet: the schema and Docs load without one; running an operation needs one.';
    case 'checking':
      return 'Checking the key…';
    case 'accepted':
      return `Key of ${check.company} (${check.role}), used by every tab and by subscriptions.`;
    case 'run-token':
      return 'A run token: it may only comment on and write documents of its own issue.';
    case 'refused':
      return `API key refused: ${check.message}`;
    case 'unknown':
      return `Could not check the key: ${check.message}`;
  }
}

const STYLES = `
body { display: flex; flex-direction: column; height: 100vh; }
#root { flex: 1; min-height: 0; }
#root > .graphiql-container { height: 100%; width: 100%; }
/* Opened with several tabs, GraphiQL's tabs keep a stale drag offset, which it hides until a tab
   has focus: the click that focuses a tab would move it from under the pointer, selecting nothing.
   Tabs still reorder by dragging; they just do not follow the pointer. */
#root .graphiql-tab { transform: none !important; }
.heartbeat-key { display: flex; align-items: center; gap: 8px; padding: 6px 12px; font: 14px system-ui, sans-serif;
  border-bottom: 1px solid #d0d4dc; background: #f6f7f9; color: #1b1f27; flex-wrap: wrap; }
.heartbeat-key input { width: 24em; max-width: 50vw; padding: 4px 6px; font: inherit; }
.heartbeat-key button { padding: 4px 10px; font: inherit; cursor: pointer; }
.heartbeat-key [data-state='refused'], .heartbeat-key [data-state='unknown'] { color: #b3261e; font-weight: 600; }
.heartbeat-key [data-state='accepted'] { color: #1e6b34; }
`;

/** Puts the field above `root` (where GraphiQL renders) and keeps its status line current. */
export function mountKeyBar(root: HTMLElement, apiKey: StoredApiKey, endpoint: string): void {
  const style = document.createElement('style');
  style.textContent = STYLES;
  document.head.append(style);

  const form = document.createElement('form');
  form.className = 'heartbeat-key';
  form.setAttribute('aria-label', 'API key for every tab');
  const label = document.createElement('label');
  label.htmlFor = 'heartbeat-key-input';
  label.textContent = 'API key';
  const input = document.createElement('input');
  Object.assign(input, { id: 'heartbeat-key-input', type: 'password', autocomplete: 'off', placeholder: 'hb_… (one key for every tab)' });
  const save = document.createElement('button');
  Object.assign(save, { type: 'submit', textContent: 'Save' });
  const forget = document.createElement('button');
  Object.assign(forget, { type: 'button', textContent: 'Forget' });
  const status = document.createElement('span');
  status.id = 'heartbeat-key-status';
  status.setAttribute('role', 'status');
  form.append(label, input, save, forget, status);
  root.before(form);

  const show = (check: KeyCheck) => {
    status.dataset.state = check.state;
    status.textContent = keyStatusText(check);
  };
  // Only the newest check may speak: a slow answer about a replaced key is dropped.
  let checks = 0;
  const refresh = async () => {
    const key = apiKey.get();
    if (document.activeElement !== input) input.value = key ?? '';
    const check = ++checks;
    if (!key) return show({ state: 'none' });
    show({ state: 'checking' });
    const result = await checkApiKey(endpoint, key);
    if (check === checks) show(result);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apiKey.set(input.value);
    input.blur();
  });
  forget.addEventListener('click', () => {
    input.value = '';
    apiKey.clear();
  });
  apiKey.onChange(() => void refresh());
  void refresh();
}
