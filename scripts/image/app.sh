#!/usr/bin/env bash
# Stages Ballast as an installed appliance ships it (dist/ + bin/ + package.json + production
# node_modules + the web panel bundle) and packs it into one tarball for the image build.
#
# Usage: scripts/image/app.sh OUTPUT.tar.gz
# Env:   APP_REF  a git commit to build (e.g. HEAD) instead of the work tree as it is
# Compiles into the staging directory, never into the work tree's dist/, and prunes a copy of the work
# tree's node_modules (npm prune --omit=dev --offline), so it needs neither the registry nor a clean tree.
set -euo pipefail

out=$(realpath -m "${1:?usage: app.sh OUTPUT.tar.gz}")
tree=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(dirname "$out")/app-stage
root=$tree
log() { printf 'app: %s\n' "$*" >&2; }

[ -d "$tree/node_modules" ] || { log "no node_modules in $tree: run npm install first"; exit 1; }
rm -rf "$stage"
mkdir -p "$stage"
if [ -n "${APP_REF:-}" ]; then
  # A commit, exactly: unaffected by files in progress in the work tree. Same node_modules (same lock file).
  root=$(dirname "$out")/app-src
  rm -rf "$root"
  mkdir -p "$root"
  git -C "$tree" archive "$APP_REF" | tar -x -C "$root"
  ln -s "$tree/node_modules" "$root/node_modules"
  log "building commit $(git -C "$tree" rev-parse --short "$APP_REF")"
fi
started=$(date +%s)

log "compiling (tsconfig.build.json)"
# Emit only: `npm run lint` (CI's first step) type-checks the same sources; checking again here took
# most of the minute and a half this step used to take on a loaded machine.
"$root/node_modules/.bin/tsc" -p "$root/tsconfig.build.json" --noCheck --outDir "$stage/dist"
[ -f "$stage/dist/cli/ballast.js" ] || { log "the build did not produce dist/cli/ballast.js"; exit 1; }

# The panel bundle: the compiled plugin looks for it beside itself (dist/web/panel/dist). Optional: a node
# without it still serves the API and /metrics, and says how to build the panel.
if [ -f "$root/web/panel/build.ts" ]; then
  panel_out="$stage/dist/web/panel/dist"
  if (cd "$root" && node --import tsx -e \
    "const m = await import('./web/panel/build.ts'); await m.buildPanel({ outDir: process.argv[1] });" \
    "$panel_out") >"$stage/panel-build.log" 2>&1; then
    log "panel bundle built"
  else
    log "panel bundle did not build (see $stage/panel-build.log); the image serves the API without it"
  fi
  rm -f "$stage/panel-build.log"
fi

cp -a "$root/bin" "$root/package.json" "$root/package-lock.json" "$stage/"
mkdir -p "$stage/docs"
if [ -f "$root/docs/IMAGE.md" ]; then cp "$root/docs/IMAGE.md" "$stage/docs/"; fi
# The work tree's node_modules may be a symlink (git worktrees share one): copy what it points at, never
# the link, or the prune below would strip the shared tree's dev dependencies.
mkdir -p "$stage/node_modules"
cp -a "$(readlink -f "$tree/node_modules")/." "$stage/node_modules/"
[ ! -L "$stage/node_modules" ] || { log "stage node_modules is a symlink: refusing to prune"; exit 1; }
(cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund) >"$(dirname "$out")/npm-prune.log" 2>&1 ||
  { log "npm prune failed: see $(dirname "$out")/npm-prune.log"; exit 1; }
# The cli/ sources must not ship: bin/ballast.js runs them through tsx when they are there.
[ ! -e "$stage/cli" ] || { log "stage has cli/ sources"; exit 1; }

version=$(node -p "require('$root/package.json').version")
commit=$(git -C "$tree" rev-parse --short "${APP_REF:-HEAD}" 2>/dev/null || echo unknown)
dirty=
if [ -z "${APP_REF:-}" ]; then dirty=$(git -C "$tree" status --porcelain 2>/dev/null | head -n1); fi
printf 'ballast %s (%s%s) built %s\n' "$version" "$commit" "${dirty:+, dirty}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$stage/VERSION"

tar -czf "$out.tmp" -C "$stage" .
mv "$out.tmp" "$out"
if [ -n "${APP_REF:-}" ]; then rm -rf "$root"; fi
log "wrote $out ($(du -h "$out" | cut -f1); $(du -sh "$stage/node_modules" | cut -f1) node_modules) in $(($(date +%s) - started)) s"
