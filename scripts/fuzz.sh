#!/usr/bin/env bash
# Fuzz every target of fuzz/Cargo.toml for a while each, on the stable toolchain, and print
# executions, coverage and crashes per target as a Markdown table (for fuzz/README.md).
#
#   scripts/fuzz.sh MINUTES [TARGET...]   each target (or the ones named) for MINUTES minutes
#   scripts/fuzz.sh 30s [TARGET...]       ... or for a number of seconds (what CI runs)
#   scripts/fuzz.sh --list                the targets, one a line
#
# FUZZ_JOBS=N runs N targets at once (default 1: libFuzzer uses one core per target). The
# committed corpus (fuzz/corpus/<target>) is only read; new inputs go to a scratch folder
# (FUZZ_SCRATCH, default a fresh temporary one), where each target's log is kept too. A crash
# leaves its input in fuzz/artifacts/<target>/ and makes the script exit non-zero after the table.
set -euo pipefail
cd "$(dirname "$0")/.."

# The targets, read from fuzz/Cargo.toml's [[bin]] sections: the one list, shared with .ci/run.
list_targets() {
  awk '
    /^\[\[bin\]\]/ { in_bin = 1; next }
    /^\[/ { in_bin = 0 }
    in_bin && /^name *= *"/ { gsub(/^name *= *"|".*$/, ""); print }
  ' fuzz/Cargo.toml
}

if [[ "${1:-}" == "--list" ]]; then
  list_targets
  exit 0
fi
if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+s?$ ]]; then
  echo "usage: $0 MINUTES|SECONDSs [TARGET...] | --list" >&2
  exit 2
fi
if [[ "$1" == *s ]]; then
  seconds="${1%s}"
else
  seconds=$(( $1 * 60 ))
fi
shift
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(list_targets)
fi
jobs="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

scratch="${FUZZ_SCRATCH:-$(mktemp -d)}"
mkdir -p "$scratch"
echo "== building ${#targets[@]} fuzz targets (stable, --sanitizer none)"
cargo fuzz build --sanitizer none

run_one() {
  local target="$1"
  mkdir -p "$scratch/corpus-$target"
  local status=0 started
  started="$(date +%s)"
  # -timeout: one input taking this long is reported as a finding (libFuzzer's default is 20 min).
  cargo fuzz run --sanitizer none "$target" "$scratch/corpus-$target" "fuzz/corpus/$target" \
    -- -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1 || status=$?
  echo "$status" >"$scratch/$target.status"
  # The time it really ran: a crash ends a target early.
  echo "$(( $(date +%s) - started ))" >"$scratch/$target.seconds"
}

echo "== fuzzing each target for ${seconds} s, ${jobs} at a time (logs in $scratch)"
running=0
for target in "${targets[@]}"; do
  if (( running >= jobs )); then
    wait -n || true
    running=$(( running - 1 ))
  fi
  echo "   $target"
  run_one "$target" &
  running=$(( running + 1 ))
done
wait || true

failed=0
echo
echo "| Target | Seconds run | Executions | Exec/s | Coverage (edges) | Features | Corpus | Crashes |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for target in "${targets[@]}"; do
  log="$scratch/$target.log"
  status="$(cat "$scratch/$target.status" 2>/dev/null || echo 1)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  # The last status line libFuzzer printed: "#N <event> cov: C ft: F corp: K/..."
  last="$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
  crashes="$(grep -c 'Test unit written to' "$log" || true)"
  if [[ "$status" != 0 ]]; then
    failed=1
    (( crashes == 0 )) && crashes="exit $status"
  fi
  ran="$(cat "$scratch/$target.seconds" 2>/dev/null || echo '?')"
  echo "| \`$target\` | $ran | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
done

if (( failed )); then
  echo
  echo "A target failed: see its log in $scratch and its input in fuzz/artifacts/." >&2
  for target in "${targets[@]}"; do
    if [[ "$(cat "$scratch/$target.status" 2>/dev/null || echo 1)" != 0 ]]; then
      echo "--- $target (last lines of $scratch/$target.log)" >&2
      tail -30 "$scratch/$target.log" >&2
    fi
  done
  exit 1
fi
