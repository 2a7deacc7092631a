// Fastify plugin that serves the panel: index.html at `/`, the bundled assets at `/assets/*`.
// Builds the bundle at registration when the sources are newer than dist (cached by a stamp), so a
// fresh clone shows a working panel after `npm install && npm start`.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Access } from '../types.js';
import { PANEL_DIST, PANEL_SRC, buildPanel } from './build.js';

export interface PanelPluginOptions {
  distDir?: string;
  srcDir?: string;
  /** Build (when stale) at registration; default true when the sources are present. */
  build?: boolean;
}

const OPEN: { access: Access } = { access: 'open' };

// The panel loads nothing from anywhere but this node.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function notBuiltPage(reason: string): string {
  const esc = reason.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>Ballast panel not built</title>
<body style="font:15px system-ui;margin:3em;max-width:44em">
<h1>Ballast: the panel is not built</h1>
<p>This node found no usable build of the web panel. Build it once with</p>
<pre>node --import tsx web/panel/build.ts</pre>
<p>then reload this page. The REST API under <code>/api/v1</code> and <code>/metrics</code> work without it.</p>
<p>Reason: <code>${esc}</code></p>`;
}

export const panelPlugin: FastifyPluginAsync<PanelPluginOptions> = async (app: FastifyInstance, opts) => {
  const distDir = opts.distDir ?? PANEL_DIST;
  const srcDir = opts.srcDir ?? PANEL_SRC;
  const indexPath = join(distDir, 'index.html');
  let problem: string | null = null;

  if ((opts.build ?? true) && existsSync(srcDir)) {
    try {
      const r = await buildPanel({ srcDir, outDir: distDir });
      if (r.built) app.log.info({ ms: Math.round(r.durationMs), assets: r.assets }, 'built the web panel');
    } catch (err) {
      // A panel that cannot build must not keep the node (and its API) from starting.
      problem = err instanceof Error ? err.message : String(err);
      app.log.warn({ err }, 'web panel build failed; serving the previous build if there is one');
    }
  }
  if (!existsSync(indexPath)) problem ??= `${indexPath} does not exist`;
  else problem = null;

  const assetsDir = join(distDir, 'assets');
  await mkdir(assetsDir, { recursive: true });
  // serve: false and our own route, so the route carries the API's access rule (open: the login
  // page needs its script before anyone is logged in). @fastify/static still does the sending:
  // content types, ETag, ranges, and refusing paths that leave the root.
  await app.register(fastifyStatic, { root: assetsDir, serve: false });
  // Hooks here stay inside this plugin's context: only the panel's own responses get these.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  app.get<{ Params: { '*': string } }>('/assets/*', { config: OPEN }, (req, reply) =>
    // Asset names carry a content hash, so a browser may keep them forever.
    reply.sendFile(req.params['*'], assetsDir, { immutable: true, maxAge: '365d', index: false, dotfiles: 'deny' }),
  );

  app.get('/', { config: OPEN }, async (_req, reply) => {
    reply.header('cache-control', 'no-cache').header('content-security-policy', CSP);
    if (problem) return reply.code(503).type('text/html; charset=utf-8').send(notBuiltPage(problem));
    return reply.type('text/html; charset=utf-8').send(await readFile(indexPath, 'utf8'));
  });
};
