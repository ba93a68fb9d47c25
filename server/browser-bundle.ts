// Scripts for the browser, bundled from the project's own sources with esbuild when first asked for
// and kept in memory: the console's app (dashboard.ts) and GraphiQL's page script (graphiql.ts) are
// built with the same settings, only their shape differs.
import type { BuildOptions } from 'esbuild';

/** `entry` and what it imports as one minified script for the browser. */
export async function bundleForBrowser(entry: string, shape: Pick<BuildOptions, 'format' | 'globalName' | 'jsx' | 'jsxImportSource'>): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    ...shape,
    platform: 'browser',
    // graphql ships CJS and ESM builds: one copy, the ESM one.
    mainFields: ['module', 'main'],
    minify: true,
    write: false,
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** `make` run on the first call and its result kept; a failure is not kept: the next call tries again. */
export function keptOnceMade<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make().catch((error: unknown) => ((made = undefined), Promise.reject(error))));
}
