#!/usr/bin/env bash
# The model proxy benchmark: joeyd's added latency against direct, nginx and Portkey, and
# joeyd's memory per idle open stream (bench/README.md, "Model proxy").
#
#   bench/proxy/run.sh [BUILD_DIR]
#
# Builds nothing: BUILD_DIR (default build/release) must hold bin/joeyd and
# bench/proxy_load. Installs the pinned Portkey gateway into bench/proxy/node_modules with
# `npm ci` when it is missing (never at test time). About 6 minutes with the defaults.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ ! -f "$here/node_modules/.package-lock.json" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  echo "proxy bench: installing the Portkey gateway (npm ci in bench/proxy)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
# 1,000 client connections plus as many upstream ones per proxy.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node "$here/run.mjs" "$@"
