// The `heartbeat` command compiled ahead: one esbuild bundle of server/cli.ts with the client
// commands, the SDK and the packages they use, which plain Node starts in a fraction of the time tsx
// takes to transpile the sources. It is built at install (npm's postinstall runs this file) and
// again by the first command after a source changed: a bundle is used only while every file it was
// built from is as it was read for it (own files by content, packages by size and modification
// time). Dynamic imports stay out of it: server/cli.ts loads the server that way, through tsx, only
// for the commands that need it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILDER = fileURLToPath(import.meta.url);
const ENTRY = 'server/cli.ts';
/** Where bundles are kept; HEARTBEAT_CLI_CACHE_DIR moves it. */
const CACHE_DIR = process.env.HEARTBEAT_CLI_CACHE_DIR || join(ROOT, 'node_modules', '.cache', 'heartbeat');
/** Files esbuild reads besides the modules, which change what it writes. */
const SETTINGS_FILES = ['tsconfig.json', 'package.json'];
/** An older bundle may still be starting in another process: it is removed once surely unused. */
const PRUNE_AFTER_MS = 60_000;
const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx', '.json': 'json' };

/**
 * The path of a bundle of `entry` built from the files as they are now, building it first when
 * there is none; null when it cannot be built (the caller then runs the sources through tsx).
 */
export async function compiledCli({ root = ROOT, entry = ENTRY, cacheDir = CACHE_DIR } = {}) {
  const manifestPath = join(cacheDir, `${entryName(entry)}.json`);
  try {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const bundle = join(cacheDir, manifest.bundle);
    if (manifest.fingerprint === (await fingerprint(root, manifest.inputs)) && existsSync(bundle)) return bundle;
  } catch {
    // No bundle yet, or a manifest this version of the file does not read: build it.
  }
  try {
    return await buildBundle({ root, entry, cacheDir, manifestPath });
  } catch {
    return null;
  }
}

/** `server/cli.ts` -> `server-cli`: what the entry's bundles and manifest are named after. */
const entryName = (entry) => entry.replace(/\.[cm]?[jt]sx?$/, '').replace(/[^\w-]+/g, '-');

/** Whether `file` (relative to the root) belongs to an installed package rather than to the project. */
const isPackageFile = (file) => file.split('/').includes('node_modules');

/** `file` as esbuild's metafile names it: relative to the root, with forward slashes. */
const inputName = (root, path) => relative(root, path).split(sep).join('/');

/**
 * A hash of the builder, the settings files and `inputs`: own files by content, packages by size
 * and modification time. `read` holds what the build itself read, so that a file changed during the
 * build makes the bundle stale instead of passing for the new version.
 */
async function fingerprint(root, inputs, read = new Map()) {
  const hash = createHash('sha256');
  hash.update(await readFile(BUILDER));
  for (const file of [...SETTINGS_FILES, ...inputs]) {
    hash.update(`\0${file}\0`);
    const seen = read.get(file);
    if (seen !== undefined) hash.update(seen);
    else if (isPackageFile(file)) hash.update(await packageStamp(join(root, file)));
    else hash.update(await readFile(join(root, file)).catch(() => 'missing'));
  }
  return hash.digest('hex');
}

const packageStamp = async (path) => {
  const { size, mtimeMs } = await stat(path);
  return `${size}:${mtimeMs}`;
};

async function buildBundle({ root, entry, cacheDir, manifestPath }) {
  const { build } = await import('esbuild');
  await mkdir(cacheDir, { recursive: true });
  // Each bundle has a name of its own, written before the manifest that names it: a reader of the
  // manifest never finds it paired with another build's bundle.
  const name = `${entryName(entry)}-${process.pid}-${Date.now().toString(36)}.mjs`;
  const outfile = join(cacheDir, name);
  const read = new Map();
  // The settings are read before esbuild reads them: a change during the build makes it stale.
  for (const file of SETTINGS_FILES) read.set(file, await readFile(join(root, file)).catch(() => 'missing'));
  const result = await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Packages written as CommonJS call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __heartbeatRequire } from 'node:module'; const require = __heartbeatRequire(import.meta.url);" },
    plugins: [dynamicImportsStayOut(cacheDir), recordWhatIsRead(root, read)],
  });
  const inputs = Object.keys(result.metafile.inputs).filter((file) => !isAbsolute(file) && !file.includes(':'));
  const manifest = { bundle: name, fingerprint: await fingerprint(root, inputs, read), inputs };
  await writeAtomically(outfile, result.outputFiles[0].contents);
  await writeAtomically(manifestPath, JSON.stringify(manifest));
  await pruneOldBundles(cacheDir, entryName(entry), name);
  return outfile;
}

/**
 * Dynamic imports load at run time from the files themselves (the server's TypeScript modules
 * through tsx, tsx itself, pino), by a path relative to the bundle: valid wherever the checkout is.
 */
function dynamicImportsStayOut(cacheDir) {
  return {
    name: 'dynamic-imports-stay-out',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === 'resolving') return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
        if (resolved.errors.length) return { errors: resolved.errors };
        const path = relative(cacheDir, resolved.path).split(sep).join('/');
        return { path: path.startsWith('.') ? path : `./${path}`, external: true };
      });
    },
  };
}

/** Records each input as the build reads it: own files' contents (handed to esbuild), packages' stamps. */
function recordWhatIsRead(root, read) {
  return {
    name: 'record-what-is-read',
    setup(build) {
      build.onLoad({ filter: /.*/ }, async (args) => {
        const file = inputName(root, args.path);
        if (isPackageFile(file)) {
          read.set(file, await packageStamp(args.path));
          return undefined;
        }
        const contents = await readFile(args.path);
        read.set(file, contents);
        return { contents, loader: LOADERS[extname(args.path)] ?? 'default' };
      });
    },
  };
}

/** Written under a temporary name, then renamed: a reader sees the whole file or none. */
async function writeAtomically(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

async function pruneOldBundles(cacheDir, prefix, keep) {
  for (const file of await readdir(cacheDir)) {
    if (file === keep || !file.startsWith(`${prefix}-`) || !/\.mjs(\.\d+\.tmp)?$/.test(file)) continue;
    const path = join(cacheDir, file);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > PRUNE_AFTER_MS) await rm(path, { force: true });
  }
}

// `node bin/cli-bundle.js` (npm's postinstall): build it now, so that the first command starts
// quickly. A failure is not the install's: the command builds it then, or runs the sources.
if (process.argv[1] && resolve(process.argv[1]) === BUILDER) {
  const bundle = await compiledCli();
  process.stdout.write(bundle ? `heartbeat: CLI compiled to ${relative(ROOT, bundle)}\n` : 'heartbeat: could not compile the CLI ahead; it will run from the sources\n');
}
