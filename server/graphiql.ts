// GraphiQL with its assets bundled (no CDN), whose WebSocket subscriptions carry the API key the
// user put in the Headers tab: graphql-ws authenticates at connection_init, where GraphiQL itself
// would send no credentials.
import { renderGraphiQL as renderBundledGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * Runs in the page at every WebSocket (re)connect: the Authorization header of the active tab,
 * from GraphiQL's persisted tab state, as graphql-ws connection params.
 */
const CONNECTION_PARAMS_SCRIPT = `
function heartbeatConnectionParams() {
  try {
    var state = JSON.parse(localStorage.getItem('graphiql:tabState') || '{}');
    var tab = state.tabs && (state.tabs[state.activeTabIndex] || state.tabs[0]);
    var headers = JSON.parse((tab && tab.headers) || localStorage.getItem('graphiql:headers') || '{}');
    var authorization = headers.Authorization || headers.authorization;
    return authorization ? { authorization: authorization } : {};
  } catch (error) {
    return {};
  }
}
function heartbeatRenderGraphiQL(root, options) {
  return YogaGraphiQL.renderYogaGraphiQL(root, Object.assign({}, options, { connectionParams: heartbeatConnectionParams }));
}
`;

const RENDER_CALL = 'YogaGraphiQL.renderYogaGraphiQL(';

export function renderGraphiQL(options?: GraphiQLOptions): string {
  const html = renderBundledGraphiQL({ ...options, shouldPersistHeaders: true });
  const at = html.lastIndexOf(RENDER_CALL);
  if (at < 0) throw new Error('GraphiQL page changed shape: cannot attach WebSocket credentials');
  return `${html.slice(0, at)}${CONNECTION_PARAMS_SCRIPT}\nheartbeatRenderGraphiQL(${html.slice(at + RENDER_CALL.length)}`;
}
