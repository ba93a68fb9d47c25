// The live dashboard page: a company's runs, agents and a run's events, kept current over the
// SDK's subscriptions. This entry (bundled by server/dashboard.ts) wires the page: the sign-in
// form, the API key kept in localStorage, and one Dashboard session (dashboard.ts) per signed-in
// key. Plain DOM, no framework.
import { Dashboard } from './dashboard.ts';
import { banner, describeError, h, hideError, showError, tickTimers } from './view.ts';

const KEY_STORAGE = 'heartbeat:apiKey';

/** The key as pasted, without the "Bearer " a copied Authorization header starts with (pure). */
export const keyFromInput = (text: string) => text.trim().replace(/^bearer\s+/i, '').trim();

// An inline icon, so the browser does not ask for /favicon.ico (a 404) on every load.
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><text x="1" y="13" font-size="14" fill="#e0245e">♥</text></svg>`;
document.head.append(Object.assign(document.createElement('link'), { rel: 'icon', href: `data:image/svg+xml,${encodeURIComponent(ICON)}` }));

const root = document.getElementById('app')!;
let session: Dashboard | null = null;

function showSignIn(): void {
  document.title = 'Heartbeat';
  const input = h('input', { type: 'password', name: 'apiKey', placeholder: 'hb_…', autocomplete: 'off', required: true, 'data-testid': 'key-input', 'aria-label': 'API key' });
  const form = h(
    'form',
    { class: 'signin card' },
    h('h1', {}, h('span', { class: 'logo' }, '♥'), ' Heartbeat'),
    h('p', { class: 'muted' }, 'Paste an API key to open the live dashboard. It stays in this browser until you sign out.'),
    input,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'key-submit' }, 'Open dashboard'),
    h('p', { class: 'hint' }, 'Lost it? ', h('code', {}, 'npm run heartbeat -- keys create'), ' prints a new one.'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = keyFromInput(input.value);
    if (!key) return;
    localStorage.setItem(KEY_STORAGE, key);
    hideError();
    open(key);
  });
  root.replaceChildren(banner, h('main', { class: 'signin-page' }, form));
  input.focus();
}

function signOut(reason?: string): void {
  localStorage.removeItem(KEY_STORAGE);
  void session?.close();
  session = null;
  showSignIn();
  if (reason) showError(reason);
}

function open(key: string): void {
  void session?.close();
  session = new Dashboard(root, key, { signOut });
  void session.start();
}

setInterval(tickTimers, 1_000); // re-renders countdown and elapsed-time text only
window.addEventListener('unhandledrejection', (event) => showError(describeError(event.reason)));

const savedKey = keyFromInput(localStorage.getItem(KEY_STORAGE) ?? '');
if (savedKey) open(savedKey);
else showSignIn();
