// The panel plugin on a real fastify server: builds on demand into a fresh directory, serves the
// index and hashed assets with the right caching and CSP, reuses a current build, rebuilds after a
// source change, and explains how to build when there is nothing to serve.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { PANEL_SRC, buildPanel } from '../../web/panel/build.js';
import { panelPlugin, type PanelPluginOptions } from '../../web/panel/plugin.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ballast-panel-'));
  dirs.push(d);
  return d;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function serve(opts: PanelPluginOptions) {
  const app = Fastify();
  await app.register(panelPlugin, opts);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  assert.ok(addr && typeof addr === 'object');
  return { app, base: `http://127.0.0.1:${addr.port}` };
}

describe('panel plugin', () => {
  it('builds on first start and serves index and assets', async () => {
    const distDir = join(await tempDir(), 'dist');
    const { app, base } = await serve({ distDir });
    try {
      const index = await fetch(`${base}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const html = await index.text();
      const js = /src="assets\/(main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
      const css = /href="assets\/(main-[A-Z0-9]+\.css)"/.exec(html)?.[1];
      assert.ok(js && css, html);
      const script = await fetch(`${base}/assets/${js}`);
      assert.equal(script.status, 200);
      assert.match(script.headers.get('content-type') ?? '', /javascript/);
      assert.match(script.headers.get('cache-control') ?? '', /immutable/);
      assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
      const body = await script.text();
      assert.ok(body.length > 20_000, `bundle is ${body.length} bytes`); // uPlot is in it
      // Everything is bundled: the script names no other origin (no CDN).
      assert.doesNotMatch(body, /https?:\/\//);
      assert.equal((await fetch(`${base}/assets/${css}`)).status, 200);
      assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
      for (const escape of ['%2e%2e/build.json', '..%2fbuild.json', '%2e%2e%2findex.html']) {
        const res = await fetch(`${base}/assets/${escape}`);
        assert.ok(res.status === 403 || res.status === 404, `${escape}: ${res.status}`);
      }
    } finally {
      await app.close();
    }
  });

  it('reuses a current build and rebuilds after a source change', async () => {
    const root = await tempDir();
    const srcDir = join(root, 'src');
    const outDir = join(root, 'dist');
    await cp(PANEL_SRC, srcDir, { recursive: true });
    const first = await buildPanel({ srcDir, outDir });
    assert.equal(first.built, true);
    const mtime = (await stat(join(outDir, 'index.html'))).mtimeMs;
    const again = await buildPanel({ srcDir, outDir });
    assert.equal(again.built, false);
    assert.deepEqual(again.assets, first.assets);
    assert.equal((await stat(join(outDir, 'index.html'))).mtimeMs, mtime);

    const units = join(srcDir, 'units.ts');
    await writeFile(units, `${await readFile(units, 'utf8')}\nexport const changedForTest = 1;\n`);
    await writeFile(join(srcDir, 'styles.css'), `${await readFile(join(srcDir, 'styles.css'), 'utf8')}\n.changed-for-test { color: red; }\n`);
    const rebuilt = await buildPanel({ srcDir, outDir });
    assert.equal(rebuilt.built, true);
    assert.notEqual(rebuilt.assets.css, first.assets.css);
    // The previous build's files are gone; the new index names the new ones.
    await assert.rejects(stat(join(outDir, 'assets', first.assets.css ?? 'missing')));
    assert.match(await readFile(join(outDir, 'index.html'), 'utf8'), new RegExp(rebuilt.assets.css ?? 'missing'));
  });

  it('says how to build when there are no sources and no build', async () => {
    const root = await tempDir();
    const { app, base } = await serve({ distDir: join(root, 'dist'), srcDir: join(root, 'no-src') });
    try {
      const res = await fetch(`${base}/`);
      assert.equal(res.status, 503);
      const html = await res.text();
      assert.match(html, /the panel is not built/);
      assert.match(html, /node --import tsx web\/panel\/build\.ts/);
    } finally {
      await app.close();
    }
  });

  it('a failing build does not stop the app and serves the previous build', async () => {
    const root = await tempDir();
    const srcDir = join(root, 'src');
    const distDir = join(root, 'dist');
    await cp(PANEL_SRC, srcDir, { recursive: true });
    await buildPanel({ srcDir, outDir: distDir });
    await writeFile(join(srcDir, 'main.ts'), 'import { nothing } from "./does-not-exist.js";\nnothing();\n');
    const { app, base } = await serve({ distDir, srcDir });
    try {
      const res = await fetch(`${base}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /assets\/main-/);
    } finally {
      await app.close();
    }
  });
});
