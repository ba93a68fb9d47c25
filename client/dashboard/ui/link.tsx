// A link inside the console. preact-iso's LocationProvider turns clicks on same-origin <a href> into
// client-side navigation (history.pushState), so a plain anchor is all it takes; a modified click
// (new tab) stays the browser's.
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';

export type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ children, ...props }: LinkProps) {
  return <a {...props}>{children}</a>;
}

/** Where each object lives in the console (global ids, URL-encoded: they may hold '=' and '/'). */
export const hrefs = {
  run: (id: string) => `/runs/${encodeURIComponent(id)}`,
  agent: (id: string) => `/agents/${encodeURIComponent(id)}`,
  issue: (id: string) => `/issues/${encodeURIComponent(id)}`,
  runs: (query: Record<string, string | undefined> = {}) => {
    const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => !!entry[1])).toString();
    return search ? `/runs?${search}` : '/runs';
  },
};
