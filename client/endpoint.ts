// Where the SDK sends its requests, and what it makes of answers that are not GraphQL: a server's
// address alone means its /graphql endpoint, and a web page or a 404 from a wrong URL is one clear
// error (NOT_GRAPHQL) instead of the page's HTML.

/** `http://host:4000` and `http://host:4000/` mean the server's endpoint, `http://host:4000/graphql`; any other URL is taken as it is. */
export function graphqlEndpoint(url: string): string {
  if (!/^(http|ws)s?:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.pathname !== '/') return url;
    parsed.pathname = '/graphql';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The answer at a URL that is not a GraphQL endpoint: what came back instead. */
export class NotGraphQLError extends Error {
  override name = 'NotGraphQLError';
  constructor(
    readonly url: string,
    readonly status: number,
    readonly contentType: string,
  ) {
    super(`${url} is not a Heartbeat GraphQL endpoint: it answered ${status}${contentType ? ` with ${contentType.split(';')[0]}` : ''}; expected GraphQL JSON from the server's /graphql, e.g. http://127.0.0.1:4000/graphql`);
  }
}

/** GraphQL over HTTP answers in JSON (even with a 4xx status), or streams multipart or server-sent events. */
const GRAPHQL_CONTENT = /json|multipart\/mixed|text\/event-stream/i;

/**
 * `fetch`, checking that the answer is GraphQL: a JSON body needs `data` or `errors`, anything else
 * is a NotGraphQLError (its body is not read: a dashboard page never reaches the caller).
 */
export function graphqlFetch(url: string, fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    const contentType = response.headers.get('content-type') ?? '';
    if (!GRAPHQL_CONTENT.test(contentType)) {
      await response.body?.cancel().catch(() => {});
      throw new NotGraphQLError(url, response.status, contentType);
    }
    if (!/json/i.test(contentType)) return response;
    // JSON is read whole anyway: check its shape, then hand the same text on.
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new NotGraphQLError(url, response.status, contentType);
    }
    if (!body || typeof body !== 'object' || !('data' in body || 'errors' in body)) throw new NotGraphQLError(url, response.status, contentType);
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
