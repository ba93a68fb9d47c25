// The operator console: a Preact app with real URLs (preact-iso), bundled by server/dashboard.ts
// and served for every console path, so a deep link or a reload opens the page it names.
import { render } from 'preact';
import { App } from './app.tsx';

// An inline icon, so the browser does not ask for /favicon.ico (a 404) on every load.
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><text x="1" y="13" font-size="14" fill="#e0245e">♥</text></svg>`;
document.head.append(Object.assign(document.createElement('link'), { rel: 'icon', href: `data:image/svg+xml,${encodeURIComponent(ICON)}` }));

const root = document.getElementById('app')!;
// The server's "Loading…" placeholder goes: the app renders in its place.
root.replaceChildren();
render(<App />, root);
