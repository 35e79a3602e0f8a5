#!/usr/bin/env bash
# CI smoke run of the cargo-fuzz targets in fuzz/: builds them all, runs each for a fixed short
# time from its committed seed corpus, and fails if any target crashes (panic, failed property,
# timeout or OOM). Works from a clean clone; installs cargo-fuzz when it is missing.
#
#   .ci/fuzz-smoke.sh                      # every target, 20 s each, two at a time
#   FUZZ_JOBS=1 .ci/fuzz-smoke.sh          # one at a time (for exec/s figures on a busy machine)
#   FUZZ_SECONDS=60 .ci/fuzz-smoke.sh jwt_decode spec_load
#   FUZZ_SANITIZER=address FUZZ_TOOLCHAIN=nightly .ci/fuzz-smoke.sh   # with ASan (slower)
#   FUZZ_BUILD_ONLY=1 .ci/fuzz-smoke.sh    # install cargo-fuzz and build the targets, run none
#                                          # (.ci/run does this while the tests run)
#
# Defaults: stable toolchain and `-s none` (no sanitizer): the targets and the code they reach
# are safe Rust, so ASan adds nothing but halves exec/s. Crash inputs land in
# fuzz/artifacts/<target>/; turn each into a test in tests/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
SANITIZER="${FUZZ_SANITIZER:-none}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-stable}"
export CARGO_TERM_COLOR=never
start=$(date +%s)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (takes a few minutes)"
    cargo install cargo-fuzz --locked
fi

fuzz() { cargo "+$TOOLCHAIN" fuzz "$@"; }

echo "== build (sanitizer: $SANITIZER, toolchain: $TOOLCHAIN)"
fuzz build -s "$SANITIZER" -O
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
    echo "== fuzz targets built in $(($(date +%s) - start)) s"
    exit 0
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(fuzz list)
fi

dict_for() {
    case "$1" in
        set_cookie_*) echo dict/set_cookie.dict ;;
        jwt_decode) echo dict/jwt.dict ;;
        jwks_parse) echo dict/jwks.dict ;;
        spec_load | profile_load) echo dict/yaml.dict ;;
        session_decode) echo dict/session.dict ;;
        *) echo "" ;;
    esac
}

# One target: its log in target/smoke-T.log; a crash leaves target/smoke-T.failed.
smoke_one() {
    local t=$1
    local work="target/smoke-corpus/$t"
    mkdir -p "$work" "corpus/$t"
    rm -f "target/smoke-$t.failed"
    local args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    local d
    d=$(dict_for "$t")
    if [ -n "$d" ]; then args+=(-dict="$d"); fi
    case "$t" in set_cookie_*) args+=(-max_len=8192) ;; esac
    # New inputs go to the scratch corpus (first directory); the committed seeds stay as they are.
    if ! fuzz run -s "$SANITIZER" -O "$t" "$work" "corpus/$t" -- "${args[@]}" 2>"target/smoke-$t.log"; then
        touch "target/smoke-$t.failed"
    fi
}

# FUZZ_JOBS targets at a time (default 2: each libFuzzer run is one process on one core).
JOBS="${FUZZ_JOBS:-2}"
echo "== running ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    smoke_one "$t" &
done
wait

failed=()
for t in "${targets[@]}"; do
    echo "== $t"
    if [ -e "target/smoke-$t.failed" ]; then
        tail -n 40 "target/smoke-$t.log"
        failed+=("$t")
    fi
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' "target/smoke-$t.log" || true
done

echo "== fuzz smoke took $(($(date +%s) - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke passed: ${targets[*]}"
