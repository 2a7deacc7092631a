// Compiles Ballast's TypeScript to JavaScript for the benchmark, as an installed appliance runs it
// (bin/ballast.js runs dist/ when there is no source): the source path goes through tsx, whose
// keep-names transform wraps every closure in a __name() call, a per-request cost the shipped code
// does not pay. esbuild (a dev dependency) transpiles file by file, no bundling, in about a second,
// where `tsc -p tsconfig.build.json` takes a minute or more on a busy 2-core machine; both emit
// ES2022 modules with the same relative imports, so worker-supervisor.ts finds worker.js beside it.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What `ballast start` imports; the panel's browser sources have their own build and are not needed to balance traffic. */
const SOURCES = ['cli', 'config', 'lb', 'cluster', 'web'];
const SKIP = /(^|\/)(node_modules|panel\/src|panel\/dist)(\/|$)|\.d\.ts$/;

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !SKIP.test(f))
    .map((f) => join(ROOT, dir, f));
}

/** Compiles into OUT (under the ignored dist/, so node_modules resolves) and answers the CLI entry. */
export async function buildBallast(): Promise<string> {
  const out = join(ROOT, 'dist', 'bench-build');
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: SOURCES.flatMap(tsFiles),
    outdir: out,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    bundle: false,
    sourcemap: false,
    logLevel: 'error',
  });
  return join(out, 'cli', 'ballast.js');
}
