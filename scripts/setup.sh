#!/usr/bin/env bash
# Installs everything joey needs to build, run and test, on Debian 12.
# Idempotent: installs only what is missing; quiet when nothing is.
#   scripts/setup.sh            build + run + test dependencies
#   scripts/setup.sh --runtime  only what building and running the agent needs
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_packages=(
  build-essential cmake ninja-build ccache pkg-config git ripgrep
  libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libtomlplusplus-dev libyaml-cpp-dev libedit-dev bubblewrap
  libsecret-tools bsdutils
  libssl-dev libboost-dev libsodium-dev libpq-dev libjemalloc-dev
)
test_packages=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev llvm-14 nodejs npm hyperfine
  dbus-daemon gnome-keyring sqlite3 openssl postgresql-15
  nginx wrk
)

packages=("${runtime_packages[@]}")
if [[ "${1:-}" != "--runtime" ]]; then packages+=("${test_packages[@]}"); fi

missing=()
for package in "${packages[@]}"; do
  # node and npm may come from outside Debian (e.g. a newer Node); accept those.
  if [[ "$package" == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ "$package" == npm ]] && command -v npm >/dev/null; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "joey setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # nginx is only the proxy benchmark's upstream and floor (bench/proxy), run under its own
  # prefix: its package must not start a system service on port 80. A policy-rc.d that
  # answers 101 tells invoke-rc.d and deb-systemd-invoke not to start it; one we add is
  # removed again, whatever the install does.
  nginx_new=""
  [[ " ${missing[*]} " == *" nginx "* ]] && nginx_new=1
  if [[ -n "$nginx_new" && ! -e /usr/sbin/policy-rc.d ]]; then
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\n# joey setup: start no service while packages install\nexit 101\n' |
      $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
  fi
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  if [[ -n "$nginx_new" ]]; then
    if [[ -d /run/systemd/system ]]; then $sudo systemctl disable --now nginx >/dev/null 2>&1 || true; fi
    if [[ -s /run/nginx.pid ]]; then $sudo nginx -s quit >/dev/null 2>&1 || true; fi
  fi
fi

if [[ "${1:-}" != "--runtime" ]]; then
  # npm packages for the tests, pinned by package-lock.json; reinstalled only when
  # the lockfile changed since the last install.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "joey setup: installing npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
fi
