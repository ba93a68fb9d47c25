// Types of bin/cli-bundle.js (plain JavaScript: it runs before anything can compile TypeScript).

/**
 * The path of a bundle of `entry` (relative to `root`; default server/cli.ts) built from the files as
 * they are now, building it first when there is none; null when it cannot be built.
 */
export function compiledCli(options?: { root?: string; entry?: string; cacheDir?: string }): Promise<string | null>;
