// The live dashboard page: a company's runs, agents and a run's events, kept current over the
// SDK's subscriptions. This entry (bundled by server/dashboard.ts) wires the page: the sign-in
// form, the API key kept in localStorage, and one Dashboard session (dashboard.ts) per signed-in
// key. Plain DOM, no framework.
import { Dashboard } from './dashboard.ts';
import { banner, describeError, h, hideError, showError, tickTimers } from './view.ts';

const KEY_STORAGE = 'heartbeat:apiKey';

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
    const key = input.value.trim();
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
  session = new Dashboard(root, key, { signOut, reopen: () => open(key) });
  void session.start();
}

setInterval(tickTimers, 1_000); // re-renders countdown and elapsed-time text only
window.addEventListener('unhandledrejection', (event) => showError(describeError(event.reason)));

const savedKey = localStorage.getItem(KEY_STORAGE);
if (savedKey) open(savedKey);
else showSignIn();
