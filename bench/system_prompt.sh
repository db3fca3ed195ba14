#!/usr/bin/env bash
# The size of what joey sends before the user's first word: the system prompt, for an
# empty workspace and for a given one (default: this repository), next to the tool
# definitions sent with every request, which are the reference. Sizes come from
# `joey system-prompt`, which estimates tokens as bytes / 4.
#
#   bench/system_prompt.sh [JOEY_BIN] [WORKSPACE]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
joey_bin="${1:-$repo_root/build/release/bin/joey}"
workspace="${2:-$repo_root}"
if [[ ! -x "$joey_bin" ]]; then
  echo "system_prompt.sh: $joey_bin not found; build first: cmake --preset release && cmake --build build/release" >&2
  exit 1
fi

empty_dir="$(mktemp -d "${TMPDIR:-/tmp}/joey-bench-prompt-XXXXXX")"
trap 'rm -rf "$empty_dir"' EXIT

# Prints "<label>: <joey's size line>" and the prompt / tool definitions ratio.
measure() {
  local label="$1" dir="$2" line prompt_tokens tool_tokens
  line="$("$joey_bin" system-prompt --cwd "$dir" 2>&1 >/dev/null | grep 'system prompt')"
  prompt_tokens="$(sed -E 's/.*system prompt ≈ ([0-9]+) tokens.*/\1/' <<<"$line")"
  tool_tokens="$(sed -E 's/.*tool definitions ≈ ([0-9]+) tokens.*/\1/' <<<"$line")"
  echo "  $label: ${line#joey: }"
  awk -v p="$prompt_tokens" -v t="$tool_tokens" -v l="$label" \
    'BEGIN { printf "  %s: system prompt / tool definitions = %.2fx\n", l, p / t }'
}

echo "== system prompt size (tokens ≈ bytes / 4)"
measure "empty workspace" "$empty_dir"
measure "${2:-this repository}" "$workspace"
