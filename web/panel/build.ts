// Builds the panel with esbuild into web/panel/dist (index.html + content-hashed assets) and
// rebuilds only when the sources changed. Run directly: `node --import tsx web/panel/build.ts`.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PANEL_SRC = join(HERE, 'src');
export const PANEL_DIST = join(HERE, 'dist');
const STAMP = 'build.json';

export interface PanelBuildOptions {
  srcDir?: string;
  outDir?: string;
  /** Rebuild even when the stamp says the output is current. */
  force?: boolean;
}

export interface PanelBuildResult {
  outDir: string;
  /** False when the existing output already matched the sources. */
  built: boolean;
  /** Asset file names (under outDir/assets) the index references. */
  assets: { js: string; css: string | null };
  durationMs: number;
}

interface Stamp {
  hash: string;
  assets: { js: string; css: string | null };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Identifies one build: the panel sources, this script and the versions of what gets bundled. */
async function sourceHash(srcDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [...(await listFiles(srcDir)), fileURLToPath(import.meta.url)]) {
    hash.update(relative(HERE, file)).update('\0').update(await readFile(file)).update('\0');
  }
  const esbuild = await import('esbuild');
  hash.update(esbuild.version);
  const uplotPkg = fileURLToPath(import.meta.resolve('uplot/package.json'));
  hash.update(await readFile(uplotPkg));
  return hash.digest('hex').slice(0, 16);
}

async function readStamp(outDir: string): Promise<Stamp | null> {
  try {
    return JSON.parse(await readFile(join(outDir, STAMP), 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

/** Writes through a temporary name and a rename, so a node serving the directory never reads half a file. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function indexHtml(template: string, assets: { js: string; css: string | null }): string {
  const css = assets.css ? `<link rel="stylesheet" href="assets/${assets.css}">` : '';
  return template.replace('<!-- panel:css -->', css).replace('<!-- panel:js -->', `<script type="module" src="assets/${assets.js}"></script>`);
}

export async function buildPanel(opts: PanelBuildOptions = {}): Promise<PanelBuildResult> {
  const started = performance.now();
  const srcDir = opts.srcDir ?? PANEL_SRC;
  const outDir = opts.outDir ?? PANEL_DIST;
  const hash = await sourceHash(srcDir);
  const stamp = await readStamp(outDir);
  if (!opts.force && stamp?.hash === hash) {
    return { outDir, built: false, assets: stamp.assets, durationMs: performance.now() - started };
  }

  const esbuild = await import('esbuild');
  const assetsDir = join(outDir, 'assets');
  const result = await esbuild.build({
    entryPoints: [join(srcDir, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    outdir: assetsDir,
    write: false,
    logLevel: 'silent',
    // Lets a copy of the sources elsewhere (tests) resolve this checkout's packages.
    nodePaths: [join(HERE, '..', '..', 'node_modules')],
    legalComments: 'linked',
  });
  await mkdir(assetsDir, { recursive: true });
  const names = new Set<string>();
  for (const file of result.outputFiles) {
    names.add(basename(file.path));
    await writeAtomic(file.path, file.contents);
  }
  const js = [...names].find((n) => n.endsWith('.js'));
  if (!js) throw new Error('panel build produced no script');
  const assets = { js, css: [...names].find((n) => n.endsWith('.css')) ?? null };
  const template = await readFile(join(srcDir, 'index.html'), 'utf8');
  await writeAtomic(join(outDir, 'index.html'), indexHtml(template, assets));
  await writeAtomic(join(outDir, STAMP), JSON.stringify({ hash, assets } satisfies Stamp));
  // Older builds' assets go; the hashed names of this build are all the index needs.
  for (const old of await readdir(assetsDir)) {
    if (!names.has(old) && !old.endsWith('.tmp')) await rm(join(assetsDir, old), { force: true });
  }
  return { outDir, built: true, assets, durationMs: performance.now() - started };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildPanel({ force: process.argv.includes('--force') }).then(
    (r) => process.stdout.write(`panel ${r.built ? 'built' : 'already current'} in ${Math.round(r.durationMs)} ms: ${r.outDir} (${r.assets.js}${r.assets.css ? `, ${r.assets.css}` : ''})\n`),
    (err: unknown) => {
      process.stderr.write(`panel build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
