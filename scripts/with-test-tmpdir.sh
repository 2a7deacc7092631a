#!/usr/bin/env bash
# Runs a test command with TMPDIR set to a fresh directory that is removed afterwards, whatever the
# outcome: the tests' data dirs, configs, sockets and browser profiles (many made by child processes
# that a failed test cannot clean up) go with it instead of piling up in /tmp run after run.
set -euo pipefail
dir=$(mktemp -d "${TMPDIR:-/tmp}/ballast-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
TMPDIR=$dir "$@"
