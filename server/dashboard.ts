// The operator console: one HTML page, served for every path the console has (so a deep link or a
// reload opens the page it names), and its script (GET /dashboard/app.js), bundled from
// client/dashboard/main.tsx (Preact) with esbuild on first request and kept in memory.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, keptOnceMade } from './browser-bundle.ts';
import type { Logger } from './logger.ts';

const ENTRY = fileURLToPath(new URL('../client/dashboard/main.tsx', import.meta.url));
const STYLES = fileURLToPath(new URL('../client/dashboard/styles.css', import.meta.url));
/** uPlot's own stylesheet, for the overview's charts. */
const UPLOT_STYLES = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css');
export const DASHBOARD_SCRIPT_PATH = '/dashboard/app.js';

/** The console's pages: these exact paths, and anything under the sections (the app says "not found" itself). */
const APP_PATHS = new Set(['/', '/dashboard', '/dashboard/', '/runs', '/agents', '/issues']);
const APP_SECTIONS = ['/runs/', '/agents/', '/issues/'];

/** Whether `path` is one of the console's pages (pure). */
export const isConsolePath = (path: string) => APP_PATHS.has(path) || APP_SECTIONS.some((section) => path.startsWith(section));

const page = (css: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heartbeat</title>
<style>${css}</style>
</head>
<body>
<div id="app"><p class="boot">Loading Heartbeat…</p></div>
<script type="module" src="${DASHBOARD_SCRIPT_PATH}"></script>
</body>
</html>
`;

/** The page's CSS: uPlot's, then the console's (which may refine it). */
async function readStyles(): Promise<string> {
  const [uplot, own] = await Promise.all([readFile(UPLOT_STYLES, 'utf8'), readFile(STYLES, 'utf8')]);
  return `${uplot}\n${own}`;
}

/** The bundle: the app, Preact, the SDK, urql, graphql-ws and graphql's printer. */
export const buildDashboardBundle = () => bundleForBrowser(ENTRY, { format: 'esm', jsx: 'automatic', jsxImportSource: 'preact' });

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Answers the console's paths and returns true; anything else returns false untouched. */
export function dashboardHandler(options: { logger: Logger }): Handler {
  // Made on first request and kept (a failure is not kept: the next request tries again).
  const html = keptOnceMade(() => readStyles().then(page));
  const bundle = keptOnceMade(buildDashboardBundle);

  const serve = (res: ServerResponse, load: () => Promise<string>, contentType: string, what: string, head: boolean) => {
    load().then(
      (body) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(body) });
        res.end(head ? undefined : body);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, `dashboard: cannot build the ${what}`);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
        res.end(head ? undefined : `The console's ${what} could not be built; see the server log.\n`);
      },
    );
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (isConsolePath(path)) {
      serve(res, html, 'text/html; charset=utf-8', 'page', head);
      return true;
    }
    if (path === DASHBOARD_SCRIPT_PATH) {
      serve(res, bundle, 'text/javascript; charset=utf-8', 'script', head);
      return true;
    }
    return false;
  };
}
