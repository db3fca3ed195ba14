#!/usr/bin/env bash
# Runs every benchmark in sequence and prints a summary of the ratios.
#
#   bench/run.sh [BUILD_DIR]
#
# Builds nothing: BUILD_DIR (default build/release) must already hold bin/joey and the
# benchmark binaries, i.e. run `cmake --preset release && cmake --build build/release`
# first. Takes about four minutes on 2 cores. Everything is bounded in runs and time,
# listens only on 127.0.0.1, and cleans up its temporary directories.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$(cd "${1:-$repo_root/build/release}" 2>/dev/null && pwd)" || {
  echo "run.sh: ${1:-$repo_root/build/release} does not exist; run: cmake --preset release && cmake --build build/release" >&2
  exit 1
}
joey_bin="$build_dir/bin/joey"
peak_rss_bin="$build_dir/bench/peak_rss"
search_bin="$build_dir/bench/search_files_benchmark"
history_bin="$build_dir/bench/history_search_benchmark"
checkpoint_bin="$build_dir/bench/checkpoint_benchmark"
cloud_api_bin="$build_dir/bench/cloud_api_benchmark"
task_search_bin="$build_dir/bench/task_search_benchmark"
for binary in "$joey_bin" "$peak_rss_bin" "$search_bin" "$history_bin" "$checkpoint_bin" "$cloud_api_bin" \
  "$task_search_bin"; do
  if [[ ! -x "$binary" ]]; then
    echo "run.sh: $binary not found; run: cmake --preset release && cmake --build build/release" >&2
    exit 1
  fi
done

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/joey-bench-run-XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

echo "joey bench: $("$joey_bin" --version), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
"$repo_root/bench/system_prompt.sh" "$joey_bin" | tee "$log_dir/prompt.txt"
echo
"$repo_root/bench/startup.sh" "$joey_bin" "$peak_rss_bin" | tee "$log_dir/startup.txt"
echo
(cd "$repo_root" && node bench/one_turn.mjs "$joey_bin" "$peak_rss_bin") | tee "$log_dir/one_turn.txt"
echo
echo "== search_files against rg"
"$search_bin" | tee "$log_dir/search.txt"
echo
echo "== history search against the same FTS5 query through sqlite3"
"$history_bin" | tee "$log_dir/history.txt"
echo
echo "== checkpoints against git add -A && git commit"
"$checkpoint_bin" | tee "$log_dir/checkpoint.txt"
echo
echo "== joeyd GET /api/me against /healthz (PostgreSQL too when JOEY_BENCH_POSTGRES_URL is set)"
"$cloud_api_bin" 2>/dev/null | tee "$log_dir/cloud_api.txt"
echo
# 100,000 messages keeps run.sh short; `task_search_benchmark` alone defaults to 1,000,000.
echo "== joeyd task search (blind index) against plaintext full-text search, 100,000 messages"
"$task_search_bin" "${JOEY_BENCH_TASK_MESSAGES:-100000}" 2>/dev/null | tee "$log_dir/task_search.txt"
echo; echo "== model proxy: added latency over direct, against nginx proxy_pass and Portkey (bench/proxy)"; "$repo_root/bench/proxy/run.sh" "$build_dir" | tee "$log_dir/proxy.txt"

echo
echo "== summary (ratios against the reference measured in the same run)"
grep -h -E ' = [0-9.]+x' "$log_dir/prompt.txt" "$log_dir/startup.txt" "$log_dir/one_turn.txt" \
  "$log_dir/search.txt" "$log_dir/history.txt" "$log_dir/checkpoint.txt" | sed -E 's/^ +/  /; s/^([a-z_]+ +search_files)/  \1/'
grep -h 'ratio' "$log_dir/cloud_api.txt" | sed -E 's/^/  joeyd /'
grep -h -E 'ratio|upload' "$log_dir/task_search.txt" | sed -E 's/^/  joeyd task search /'
