// The top bar: the product, the pages, the company, the live connection's state and sign out. It
// and the banner under it stay in view when the page scrolls.
import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useLiveState } from './live/live-context.ts';

const NAV = [
  { href: '/', title: 'Overview', testId: 'nav-overview' },
  { href: '/runs', title: 'Runs', testId: 'nav-runs' },
  { href: '/agents', title: 'Agents', testId: 'nav-agents' },
  { href: '/issues', title: 'Issues', testId: 'nav-issues' },
] as const;

const BRAND = 'Heartbeat';

/** Whether `path` is inside the section `href` (the overview only at /). */
const inSection = (path: string, href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));

export function Header({ company, onSignOut, banner }: { company: string | null; onSignOut: () => void; banner: ComponentChildren }) {
  const { path } = useLocation();
  const state = useLiveState();
  return (
    <div class="page-head">
      <header class="topbar">
        <a class="brand" href="/">
          <span class="logo">♥</span> Heartbeat
        </a>
        {/* The default company is named like the product: say it once. */}
        {company && company !== BRAND ? <span class="company">{company}</span> : null}
        <nav class="nav" aria-label="Pages">
          {NAV.map((item) => (
            <a key={item.href} href={item.href} data-testid={item.testId} aria-current={inSection(path, item.href) ? 'page' : undefined}>
              {item.title}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span class="live" data-state={state} data-testid="live-state" title="Live updates over the WebSocket">
          {state}
        </span>
        <a
          href="#"
          class="signout"
          data-testid="sign-out"
          onClick={(event) => {
            event.preventDefault();
            onSignOut();
          }}
        >
          Sign out
        </a>
      </header>
      {banner}
    </div>
  );
}
