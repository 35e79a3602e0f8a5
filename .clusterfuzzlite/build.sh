#!/bin/bash -eu
# ClusterFuzzLite/OSS-Fuzz build script: builds every cargo-fuzz target in fuzz/ and copies it
# to $OUT with its seed corpus (<target>_seed_corpus.zip), dictionary (<target>.dict) and
# libFuzzer options (<target>.options). Runs inside the builder image, which sets $SRC, $OUT
# and the sanitizer flags; can be tried outside it with SRC/OUT pointing at temporary dirs.
cd "$SRC/authprobe/fuzz"

# -O: release with debug assertions, as `cargo fuzz run -O` locally. The builder's cargo-fuzz
# picks up $SANITIZER (address) from the environment through RUSTFLAGS; outside the image pass
# CFL_SANITIZER=none to build without one.
cargo fuzz build -O ${CFL_SANITIZER:+-s "$CFL_SANITIZER"}

build_dir=target/x86_64-unknown-linux-gnu/release
dict_for() {
    case "$1" in
        set_cookie_*) echo dict/set_cookie.dict ;;
        jwt_decode) echo dict/jwt.dict ;;
        jwks_parse) echo dict/jwks.dict ;;
        spec_load | profile_load) echo dict/yaml.dict ;;
        *) echo "" ;;
    esac
}

for target in $(cargo fuzz list); do
    cp "$build_dir/$target" "$OUT/"
    if [ -d "corpus/$target" ] && [ -n "$(ls -A "corpus/$target")" ]; then
        (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
    dict=$(dict_for "$target")
    if [ -n "$dict" ]; then
        cp "$dict" "$OUT/$target.dict"
    fi
    max_len=65536
    case "$target" in set_cookie_*) max_len=8192 ;; esac
    printf '[libfuzzer]\nmax_len = %s\ntimeout = 10\n' "$max_len" > "$OUT/$target.options"
done
