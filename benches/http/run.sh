#!/usr/bin/env bash
# HTTP benchmark of session back-ends (issues 4 and 5). See benches/http/README.md.
#
#   bash benches/http/run.sh                      # axum; DURATION=10 ROUNDS=3
#   DURATION=8 ROUNDS=3 bash benches/http/run.sh
#   bash benches/http/actix.sh                    # the same for actix-web (FRAMEWORK=actix)
#
# Environment (defaults in brackets):
#   FRAMEWORK [axum]  axum (src/bin/bench_server.rs: none, sealed, private-jar, tower-sessions)
#                     or actix (src/bin/bench_server_actix.rs: none, sealed, actix-session)
#   DURATION [10]     seconds of each measured wrk run
#   ROUNDS [3]        rounds; every case runs once per round, cases alternating
#   WARMUP [2]        seconds of wrk warm-up before each measured run (not counted)
#   CONNECTIONS [32]  wrk connections (one wrk thread)
#   SERVER_CPU [0]    core the server is pinned to (taskset)
#   CLIENT_CPU [1]    core wrk is pinned to
#   PORT [18080]      loopback port
#   SEED_BYTES [1024] extra session data for the "1 KiB" cases
#   EXTRA [0]         1: also run diagnostic cases (layer without touching the session, peers' /me)
#   PAIRED [1]        1: also run the baseline between every two cases, for drift-free ratios
#   ONLY []           run only the cases whose label matches this extended regex (and the baseline)
#   NO_BUILD [0]      1: skip `cargo build` (use the binary already built)
#   RESULTS []        also write the final table to this file
set -euo pipefail

FRAMEWORK=${FRAMEWORK:-axum}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}
SEED_BYTES=${SEED_BYTES:-1024}
EXTRA=${EXTRA:-0}
NO_BUILD=${NO_BUILD:-0}
PAIRED=${PAIRED:-1}
ONLY=${ONLY:-}
RESULTS=${RESULTS:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BASE="http://127.0.0.1:${PORT}"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------
apt_install() {
    command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available; install $1"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    if ! $sudo apt-get install -y "$@" >/dev/null 2>&1; then
        $sudo apt-get update -qq
        $sudo apt-get install -y "$@" >/dev/null
    fi
}
command -v wrk >/dev/null || { log "installing wrk"; apt_install wrk; }
command -v curl >/dev/null || { log "installing curl"; apt_install curl; }
command -v taskset >/dev/null || { log "installing util-linux (taskset)"; apt_install util-linux; }
NCPU=$(nproc)
if [ "$NCPU" -lt 2 ]; then
    log "warning: only $NCPU core; server and wrk will share it"
    SERVER_CPU=0
    CLIENT_CPU=0
fi

PACKAGE=sealed-session-http-bench

# --- what is measured, per framework ---------------------------------------------------------
# label | variant | path | seed bytes (0: none) | expected body
case "$FRAMEWORK" in
    axum)
        FEATURE=axum SERVER=bench_server WORKER="one tokio worker"
        PEERS=(private-jar tower-sessions) ;;
    actix)
        FEATURE=actix SERVER=bench_server_actix WORKER="one actix-web worker"
        PEERS=(actix-session) ;;
    *) die "FRAMEWORK must be axum or actix, not '$FRAMEWORK'" ;;
esac
# The peer the 1 KiB target is measured against (the first one listed).
PEER=${PEERS[0]}

# --- build -------------------------------------------------------------------------------------
# The servers are the binaries of this folder's crate (sealed-session-http-bench), a workspace
# member: the peers they link are not dependencies of sealed-session itself.
if [ "$NO_BUILD" != 1 ]; then
    log "building: cargo build --release -p $PACKAGE --features $FEATURE --bin $SERVER"
    cargo build --release -p "$PACKAGE" --features "$FEATURE" --bin "$SERVER" >&2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)}
BIN="$TARGET_DIR/release/$SERVER"
[ -x "$BIN" ] || die "$BIN was not built"

# --- cases -------------------------------------------------------------------------------------
CASES=(
    "none /counter|none|/counter|0|{\"count\":2}"
    "sealed /counter|sealed|/counter|0|{\"count\":2}"
    "sealed /me (read-only)|sealed|/me|0|{\"count\":1}"
)
for peer in "${PEERS[@]}"; do CASES+=("$peer /counter|$peer|/counter|0|{\"count\":2}"); done
CASES+=("sealed /counter +1 KiB|sealed|/counter|${SEED_BYTES}|{\"count\":2}")
for peer in "${PEERS[@]}"; do
    CASES+=("$peer /counter +1 KiB|$peer|/counter|${SEED_BYTES}|{\"count\":2}")
done
if [ "$EXTRA" = 1 ]; then
    CASES+=(
        "none /me|none|/me|0|{\"count\":1}"
        "sealed /plain (session untouched)|sealed|/plain|0|{\"count\":0}"
        "sealed /me +1 KiB|sealed|/me|${SEED_BYTES}|{\"count\":1}"
    )
    for peer in "${PEERS[@]}"; do CASES+=("$peer /me|$peer|/me|0|{\"count\":1}"); done
fi

if [ -n "$ONLY" ]; then
    # Keep the baseline (first) and the cases whose label matches $ONLY.
    kept=("${CASES[0]}")
    for case in "${CASES[@]:1}"; do
        if grep -qE -- "$ONLY" <<<"${case%%|*}"; then kept+=("$case"); fi
    done
    CASES=("${kept[@]}")
    [ "${#CASES[@]}" -gt 1 ] || die "ONLY=$ONLY matches no case"
fi

# --- one run -----------------------------------------------------------------------------------
SERVER_PID=""
WORK=$(mktemp -d)
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
    taskset -c "$SERVER_CPU" "$BIN" "$1" "127.0.0.1:${PORT}" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if curl -sf -o /dev/null "$BASE/plain"; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/server.log" >&2
    die "$SERVER $1 did not start on port $PORT"
}

# Obtain the session cookie once: /counter (count 1), or /seed then /counter for the 1 KiB case.
# Prints the Cookie header value ("" for the `none` server).
obtain_cookie() {
    local seed=$1 jar="$WORK/jar"
    rm -f "$jar"
    if [ "$seed" != 0 ]; then
        curl -sf -o /dev/null -c "$jar" -b "$jar" "$BASE/seed?bytes=${seed}"
    fi
    curl -sf -o /dev/null -c "$jar" -b "$jar" "$BASE/counter"
    # Netscape jar: name in field 6, value in field 7.
    awk -F'\t' '$6 == "session" { v = $7 } END { if (v != "") print "session=" v }' "$jar"
}

# run_case LABEL VARIANT PATH SEED EXPECTED: sets RPS to the measured requests per second. Runs in
# this shell (not a subshell) so the EXIT trap always sees the server to stop.
RPS=""
CPU_US=""
CLK_TCK=$(getconf CLK_TCK)
# The server's user + system CPU time so far, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }
run_case() {
    local variant=$2 path=$3 seed=$4 expected=$5 cookie body out
    start_server "$variant"
    cookie=$(obtain_cookie "$seed")
    if [ "$variant" != none ] && [ -z "$cookie" ]; then
        stop_server
        die "$1: no session cookie was set"
    fi
    local header=()
    if [ -n "$cookie" ]; then header=(-H "Cookie: ${cookie}"); fi
    body=$(curl -sf "${header[@]}" "$BASE$path")
    [ "$body" = "$expected" ] || { stop_server; die "$1: body $body, expected $expected"; }
    if [ "$WARMUP" != 0 ]; then
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${header[@]}" \
            "$BASE$path" >/dev/null
    fi
    local ticks0 ticks1
    ticks0=$(cpu_ticks)
    out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${header[@]}" \
        "$BASE$path")
    ticks1=$(cpu_ticks)
    stop_server
    if grep -q 'Non-2xx' <<<"$out"; then
        log "$out"
        die "$1: the server answered errors"
    fi
    if grep -q 'Socket errors' <<<"$out"; then
        log "warning: $1: $(grep 'Socket errors' <<<"$out")"
    fi
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    [ -n "$RPS" ] || { log "$out"; die "$1: could not parse wrk output"; }
    local requests
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    CPU_US=$(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
}

# --- rounds, alternating -----------------------------------------------------------------------
# Every round runs every case once, in order. With PAIRED=1 the baseline (the first case, `none
# /counter`) also runs between every two cases, and each case's "paired ratio" is its req/s over
# the mean of the baseline runs just before and just after it: drift on the machine over minutes
# then cancels out of the ratio.
declare -A SAMPLES CPU_SAMPLES PAIRED_SAMPLES
BASE_LABEL=${CASES[0]%%|*}
log "cases: ${#CASES[@]}, rounds: $ROUNDS, ${DURATION}s each (+${WARMUP}s warm-up), wrk -t1 -c$CONNECTIONS, paired: $PAIRED"
log "server on core $SERVER_CPU ($WORKER), wrk on core $CLIENT_CPU; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure() {
    local label variant path seed expected
    IFS='|' read -r label variant path seed expected <<<"$1"
    run_case "$label" "$variant" "$path" "$seed" "$expected"
    SAMPLES[$label]="${SAMPLES[$label]:-} $RPS"
    CPU_SAMPLES[$label]="${CPU_SAMPLES[$label]:-} $CPU_US"
    log "round $round/$ROUNDS  $(printf '%-40s' "$label") $(printf '%10.0f' "$RPS") req/s" \
        " $(printf '%6.2f' "$CPU_US") µs server CPU/req"
}
for round in $(seq 1 "$ROUNDS"); do
    measure "${CASES[0]}"
    prev_base=$RPS
    for case in "${CASES[@]:1}"; do
        measure "$case"
        if [ "$PAIRED" = 1 ]; then
            rps=$RPS
            measure "${CASES[0]}"
            PAIRED_SAMPLES[${case%%|*}]="${PAIRED_SAMPLES[${case%%|*}]:-} $(awk -v a="$rps" \
                -v b="$prev_base" -v c="$RPS" 'BEGIN { printf "%.4f", 2 * a / (b + c) }')"
            prev_base=$RPS
        fi
    done
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk -v f="$1" 'NR == 1 { lo = $1 } { hi = $1 } END {
    printf f "–" f, lo, hi }'; }

declare -A MEDIAN CPU_MEDIAN RATIO
for case in "${CASES[@]}"; do
    label=${case%%|*}
    MEDIAN[$label]=$(median <<<"${SAMPLES[$label]}")
    CPU_MEDIAN[$label]=$(median <<<"${CPU_SAMPLES[$label]}")
done
BASELINE=${MEDIAN[$BASE_LABEL]}
CPU_BASELINE=${CPU_MEDIAN[$BASE_LABEL]}
ratio() { awk -v a="$1" -v b="$BASELINE" 'BEGIN { printf "%.2f", a / b }'; }
cpu_ratio() { awk -v a="$1" -v b="$CPU_BASELINE" 'BEGIN { printf "%.2f", b / a }'; }
paired() { # label -> "median (lo–hi)"
    if [ -z "${PAIRED_SAMPLES[$1]:-}" ]; then echo "1.00"; return; fi
    printf '%.2f (%s)' "$(median <<<"${PAIRED_SAMPLES[$1]}")" "$(spread %.2f <<<"${PAIRED_SAMPLES[$1]}")"
}
# The ratio the targets are checked on: the paired one when measured, else the ratio of medians.
for case in "${CASES[@]}"; do
    label=${case%%|*}
    if [ "$PAIRED" = 1 ] && [ -n "${PAIRED_SAMPLES[$label]:-}" ]; then
        RATIO[$label]=$(median <<<"${PAIRED_SAMPLES[$label]}")
    else
        RATIO[$label]=$(ratio "${MEDIAN[$label]}")
    fi
done

ok() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0.005 >= b) ? "met" : "MISSED" }'; }
target_for() {
    case "$1" in
        "sealed /counter") echo "≥ 0.85: $(ok "${RATIO[$1]}" 0.85)" ;;
        "sealed /me (read-only)") echo "≥ 0.90: $(ok "${RATIO[$1]}" 0.90)" ;;
        "sealed /counter +1 KiB")
            local peer=${RATIO["$PEER /counter +1 KiB"]:-} twice
            if [ -z "$peer" ]; then echo "≥ 2 × ${PEER}'s (not run)"; return; fi
            twice=$(awk -v r="$peer" 'BEGIN { printf "%.2f", 2 * r }')
            echo "≥ 2 × ${PEER}'s = ${twice}: $(ok "${RATIO[$1]}" "$twice")" ;;
        "tower-sessions /counter +1 KiB") echo "(data kept server-side: its cookie stays 22 chars)" ;;
        *) echo "" ;;
    esac
}

{
    echo
    echo "HTTP benchmark: ${ROUNDS} rounds × ${DURATION} s, wrk -t1 -c${CONNECTIONS} on core ${CLIENT_CPU}, server ($WORKER) on core ${SERVER_CPU}; median per case, ratios to \`${BASE_LABEL}\`."
    echo
    if [ "$PAIRED" = 1 ]; then
        echo "| case | req/s (median) | range | ratio to none | paired ratio (range) | server CPU µs/req | CPU ratio | target (on the paired ratio) |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    else
        echo "| case | req/s (median) | range | ratio to none | server CPU µs/req | CPU ratio | target |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
    fi
    for case in "${CASES[@]}"; do
        label=${case%%|*}
        row="| $label | $(printf '%.0f' "${MEDIAN[$label]}") | $(spread %.0f <<<"${SAMPLES[$label]}") | $(ratio "${MEDIAN[$label]}") |"
        if [ "$PAIRED" = 1 ]; then row="$row $(paired "$label") |"; fi
        row="$row $(printf '%.2f' "${CPU_MEDIAN[$label]}") | $(cpu_ratio "${CPU_MEDIAN[$label]}") | $(target_for "$label") |"
        echo "$row"
    done
    echo
    echo "ratio to none: the case's median req/s over the baseline's median."
    if [ "$PAIRED" = 1 ]; then
        echo "paired ratio: median over rounds of the case's req/s over the mean of the baseline runs just before and after it."
    fi
    echo "CPU ratio: the baseline's server CPU time per request over the case's; less disturbed by other processes than req/s."
    echo "load (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | if [ -n "$RESULTS" ]; then tee "$RESULTS"; else cat; fi
