// GraphiQL on GET /graphql: yoga's page with its assets bundled (no CDN), rendered through the
// page's own script (server/graphiql-page.ts, bundled here with esbuild on first request and kept
// in memory). That script puts one API key field above GraphiQL and gives GraphiQL a fetcher that
// sends that key with every tab's requests and at the WebSocket's connection_init; tabs carry no
// Authorization header of their own, and headers are not persisted.
import { fileURLToPath } from 'node:url';
import { renderGraphiQL as renderYogaGraphiQLPage } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';
import { bundleForBrowser, keptOnceMade } from './browser-bundle.ts';
import { EXAMPLE_TABS } from './graphiql-examples.ts';

const PAGE_SCRIPT_ENTRY = fileURLToPath(new URL('./graphiql-page.ts', import.meta.url));

/** The page script as a classic script defining the global `HeartbeatGraphiQL`. */
export const buildGraphiQLPageScript = () => bundleForBrowser(PAGE_SCRIPT_ENTRY, { format: 'iife', globalName: 'HeartbeatGraphiQL' });

const loadPageScript = keptOnceMade(buildGraphiQLPageScript);

/** Yoga's page ends with this call; the page script's `render` takes the same arguments. */
const YOGA_RENDER_CALL = 'YogaGraphiQL.renderYogaGraphiQL(';

export async function renderGraphiQL(options?: GraphiQLOptions): Promise<string> {
  const script = await loadPageScript();
  const html = renderYogaGraphiQLPage({
    ...options,
    defaultTabs: EXAMPLE_TABS,
    // No tab gets a header of its own (the key field sets Authorization), and none is stored.
    defaultHeaders: undefined,
    headers: undefined,
    shouldPersistHeaders: false,
  });
  const at = html.lastIndexOf(YOGA_RENDER_CALL);
  if (at < 0) throw new Error('GraphiQL page changed shape: cannot attach the API key field');
  // Inline, a "</script" in the bundle would end the page's script element.
  const inlined = script.replace(/<\/script/gi, '<\\/script');
  return `${html.slice(0, at)}${inlined}\nHeartbeatGraphiQL.render(${html.slice(at + YOGA_RENDER_CALL.length)}`;
}
