#!/usr/bin/env bash
# Long local fuzzing campaigns for the cargo-fuzz targets in this directory.
#
#   fuzz/campaign.sh run TARGET [DURATION_S] [WORKERS]   # fork mode, working corpus in target/campaign/
#   fuzz/campaign.sh all [DURATION_S] [WORKERS]          # every target in turn
#   fuzz/campaign.sh cmin TARGET                         # minimise the working corpus (cargo fuzz cmin)
#   fuzz/campaign.sh merge TARGET                        # merge it into a fresh minimal set
#   fuzz/campaign.sh coverage TARGET                     # cargo fuzz coverage + llvm-cov report
#
# The working corpus lives in target/campaign/<target>/ (gitignored) and always includes the
# committed seeds from corpus/<target>/. Crashes land in artifacts/<target>/: turn each into a
# regression test in tests/fuzz_regressions.rs with its input under tests/data/fuzz/<target>/.
# Environment: FUZZ_SANITIZER (default none; `address` needs nightly), FUZZ_TOOLCHAIN
# (default nightly: `cargo fuzz coverage` needs it; stable works for run/cmin with -s none).
set -euo pipefail
cd "$(dirname "$0")"

SANITIZER="${FUZZ_SANITIZER:-none}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
fuzz() { cargo "+$TOOLCHAIN" fuzz "$@"; }

dict_for() {
    case "$1" in
        set_cookie_*) echo dict/set_cookie.dict ;;
        jwt_decode) echo dict/jwt.dict ;;
        jwks_parse) echo dict/jwks.dict ;;
        spec_load | profile_load) echo dict/yaml.dict ;;
        *) echo "" ;;
    esac
}

libfuzzer_args() {
    local t=$1 args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    local d
    d=$(dict_for "$t")
    if [ -n "$d" ]; then args+=(-dict="$d"); fi
    case "$t" in set_cookie_*) args+=(-max_len=8192) ;; *) args+=(-max_len=65536) ;; esac
    printf '%s\n' "${args[@]}"
}

work_dir() { local w="target/campaign/$1"; mkdir -p "$w"; echo "$w"; }

run() {
    local t=$1 secs=${2:-3600} workers=${3:-$(nproc)}
    local w
    w=$(work_dir "$t")
    mapfile -t args < <(libfuzzer_args "$t")
    echo "== $t: ${secs}s, $workers workers (fork mode), corpus $w"
    # -fork=N runs N child processes that share the corpus and survive crashes
    # (-ignore_crashes=1 keeps going, each crash is still written to artifacts/).
    fuzz run -s "$SANITIZER" -O "$t" "$w" "corpus/$t" -- \
        "${args[@]}" -fork="$workers" -ignore_crashes=1 -max_total_time="$secs"
}

cmin() {
    local t=$1
    local w
    w=$(work_dir "$t")
    fuzz cmin -s "$SANITIZER" -O "$t" "$w"
}

merge() {
    local t=$1
    local w new
    w=$(work_dir "$t")
    new="$w.merged"
    rm -rf "$new"
    mkdir -p "$new"
    mapfile -t args < <(libfuzzer_args "$t")
    fuzz run -s "$SANITIZER" -O "$t" "$new" "$w" "corpus/$t" -- "${args[@]}" -merge=1
    rm -rf "$w"
    mv "$new" "$w"
    echo "== $t: $(find "$w" -type f | wc -l) inputs after merge"
}

coverage() {
    local t=$1
    local w
    w=$(work_dir "$t")
    cargo +nightly fuzz coverage "$t" "$w" "corpus/$t"
    local sysroot llvm_cov bin profdata
    sysroot=$(rustc +nightly --print sysroot)
    llvm_cov=$(find "$sysroot" -name llvm-cov -type f 2>/dev/null | head -n1)
    if [ -z "$llvm_cov" ]; then llvm_cov=$(command -v llvm-cov || true); fi
    bin=target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$t
    profdata=coverage/$t/coverage.profdata
    if [ -z "$llvm_cov" ]; then
        echo "llvm-cov not found (rustup component add llvm-tools-preview); profile data: $profdata"
        return 0
    fi
    "$llvm_cov" report "$bin" -instr-profile="$profdata" \
        -ignore-filename-regex='/.cargo/registry|/rustc/|fuzz_targets' | tail -n 40
    "$llvm_cov" show "$bin" -instr-profile="$profdata" -format=html \
        -ignore-filename-regex='/.cargo/registry|/rustc/' -output-dir="coverage/$t/html" >/dev/null
    echo "== html report: fuzz/coverage/$t/html/index.html"
}

cmd=${1:-}
shift || true
case "$cmd" in
    run) run "$@" ;;
    all)
        for t in $(fuzz list); do run "$t" "${1:-600}" "${2:-$(nproc)}" || true; done
        ;;
    cmin) cmin "$@" ;;
    merge) merge "$@" ;;
    coverage) coverage "$@" ;;
    *)
        sed -n '2,14p' "$0"
        exit 2
        ;;
esac
