#!/usr/bin/env bash
# Start-up time and peak RSS of `joey --version`, against references measured in the
# same run: `rg --version` (another native command-line program, the reference),
# `curl --version` (a native program that loads the same shared libraries as joey:
# libcurl and its dependencies) and /bin/true (the floor: what spawning any process
# costs here).
#
#   bench/startup.sh [JOEY_BIN] [PEAK_RSS_BIN]
#
# JOEY_BIN defaults to build/release/bin/joey and PEAK_RSS_BIN to the peak_rss built
# beside it (build/release/bench/peak_rss). Builds nothing. Needs hyperfine, rg and node.
# Bounded: 5 warm-up runs and STARTUP_RUNS (default 100) timed runs per command,
# STARTUP_RSS_RUNS (default 5) runs per command for the RSS.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
joey_bin="${1:-$repo_root/build/release/bin/joey}"
peak_rss_bin="${2:-$(dirname "$joey_bin")/../bench/peak_rss}"
runs="${STARTUP_RUNS:-100}"
rss_runs="${STARTUP_RSS_RUNS:-5}"

for tool in hyperfine rg curl node; do
  if ! command -v "$tool" >/dev/null; then
    echo "startup.sh: $tool is not on PATH (scripts/setup.sh installs it)" >&2
    exit 1
  fi
done
for binary in "$joey_bin" "$peak_rss_bin"; do
  if [[ ! -x "$binary" ]]; then
    echo "startup.sh: $binary not found; build first: cmake --preset release && cmake --build build/release" >&2
    exit 1
  fi
done

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/joey-bench-startup-XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

echo "== start-up time: hyperfine, $runs runs each (no shell), joey = $joey_bin"
hyperfine --shell=none --warmup 5 --runs "$runs" --style basic \
  --export-json "$work_dir/startup.json" \
  --command-name "joey --version" "$joey_bin --version" \
  --command-name "rg --version" "rg --version" \
  --command-name "curl --version" "curl --version" \
  --command-name "/bin/true" "/bin/true" >"$work_dir/hyperfine.txt"

# Peak RSS in KiB: the median of $rss_runs runs under peak_rss.
median_rss() {
  local values=()
  for ((run = 0; run < rss_runs; run++)); do
    "$peak_rss_bin" --output "$work_dir/rss" "$@" >/dev/null 2>&1
    values+=("$(cat "$work_dir/rss")")
  done
  printf '%s\n' "${values[@]}" | sort -n | sed -n "$(((rss_runs + 1) / 2))p"
}
joey_rss="$(median_rss "$joey_bin" --version)"
rg_rss="$(median_rss rg --version)"
curl_rss="$(median_rss curl --version)"
true_rss="$(median_rss /bin/true)"

node - "$work_dir/startup.json" "$joey_rss" "$rg_rss" "$curl_rss" "$true_rss" <<'EOF'
const [file, joeyRss, rgRss, curlRss, trueRss] = process.argv.slice(2);
const results = JSON.parse(require('fs').readFileSync(file, 'utf8')).results;
const byName = Object.fromEntries(results.map((r) => [r.command, r]));
const ms = (s) => (s * 1000).toFixed(2);
const joey = byName['joey --version'];
const rg = byName['rg --version'];
const curl = byName['curl --version'];
const floor = byName['/bin/true'];
for (const r of [joey, rg, curl, floor]) {
  console.log(`  ${r.command.padEnd(16)} median ${ms(r.median)} ms  mean ${ms(r.mean)} ± ${
      ms(r.stddev)} ms  (min ${ms(r.min)}, max ${ms(r.max)})`);
}
console.log(`  start-up: joey --version / rg --version = ${(joey.median / rg.median).toFixed(2)}x (median)`);
console.log(`  start-up: joey --version / curl --version = ${(joey.median / curl.median).toFixed(2)}x (median)`);
console.log(`  above the floor: joey ${ms(joey.median - floor.median)} ms, rg ${
    ms(rg.median - floor.median)} ms, curl ${ms(curl.median - floor.median)} ms`);
console.log(`== peak RSS (median of runs under peak_rss)`);
console.log(`  joey --version   ${joeyRss} KiB`);
console.log(`  rg --version     ${rgRss} KiB`);
console.log(`  curl --version   ${curlRss} KiB`);
console.log(`  /bin/true        ${trueRss} KiB (floor)`);
console.log(`  peak RSS: joey --version / rg --version = ${(joeyRss / rgRss).toFixed(2)}x`);
console.log(`  peak RSS: joey --version / curl --version = ${(joeyRss / curlRss).toFixed(2)}x`);
EOF
