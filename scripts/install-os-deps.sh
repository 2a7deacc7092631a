#!/usr/bin/env bash
# Installs the Debian packages Ballast's tests and lab need, only those missing.
set -euo pipefail
need=()
{ command -v ip && command -v tc && command -v ss; } >/dev/null 2>&1 || need+=(iproute2)
command -v arping >/dev/null 2>&1 || need+=(iputils-arping)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
# nginx: the benchmark's proxy_cache reference, run by the benchmark as its own process.
{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || need+=(nginx-light)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "install-os-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Never let a package start its system service (nginx would listen on port 80 of every address).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "install-os-deps: ok"
