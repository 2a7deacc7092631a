#!/usr/bin/env node
// Entry shim: an installed appliance ships compiled JavaScript (dist/); a source checkout runs the
// TypeScript directly through tsx, so there is never a stale build to trip over.
import { existsSync } from 'node:fs';

const source = new URL('../cli/ballast.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/ballast.js', import.meta.url).href);
}
