// The GraphiQL page's own script (runs in the browser; server/graphiql.ts bundles it into the page
// as the global `HeartbeatGraphiQL`). It renders yoga's bundled GraphiQL with the page's fetcher and
// puts the API key field above it.
import { createHeartbeatFetcher } from './graphiql-fetcher.ts';
import { mountKeyBar } from './graphiql-key-bar.ts';
import { StoredApiKey } from './graphiql-key.ts';

/** Defined by yoga's GraphiQL bundle, which the page loads first. */
declare const YogaGraphiQL: { renderYogaGraphiQL(root: Element, options: Record<string, unknown>): void };

/** Called by the page in place of `YogaGraphiQL.renderYogaGraphiQL`, with the same arguments. */
export function render(root: HTMLElement, options: Record<string, unknown> & { endpoint?: string }): void {
  const endpoint = new URL(options.endpoint ?? location.pathname, location.href).href;
  const apiKey = new StoredApiKey(localStorage, window);
  mountKeyBar(root, apiKey, endpoint);
  // With a fetcher of its own, yoga's GraphiQL ignores `endpoint` (and would warn about it).
  const { endpoint: _endpoint, ...rest } = options;
  YogaGraphiQL.renderYogaGraphiQL(root, { ...rest, fetcher: createHeartbeatFetcher({ endpoint, apiKey }) });
}
