#!/usr/bin/env bash
# Bench smoke for CI: builds every bench and runs each once in a shortened mode, Redis included.
# Time on the 2-core machine: ~10 s once the bench build is warm; a cold build of the three
# benches (aws-lc, SQLite, criterion in release) adds ~10-15 min, much of it shared with
# `cargo build --release`.
# Not a measurement: AUTHPROBE_BENCH_SMOKE=1 cuts warm-up and measurement to a fraction of a
# second per id. For real figures run `cargo bench` (README "Benchmarks").
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

# Redis for session_lookup/redis_*: from the system packages, non-interactively.
if ! command -v redis-server >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "== bench-smoke: installing redis-server"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    else
        echo "== bench-smoke: no apt-get; the Redis ids will be skipped"
    fi
fi

echo "== bench-smoke: cargo bench --no-run (every bench builds)"
# The three benches by name: plain `cargo bench --no-run` also builds the lib's and the binary's
# unit tests in release, a few minutes for no benchmark.
cargo bench --no-run --bench verify_vs_lookup --bench parsers --bench suite

export AUTHPROBE_BENCH_SMOKE=1
echo "== bench-smoke: verify_vs_lookup --quick (every group, Redis included)"
cargo bench --bench verify_vs_lookup -- --quick --noplot
echo "== bench-smoke: parsers --quick"
cargo bench --bench parsers -- --quick --noplot
echo "== bench-smoke: suite --quick"
cargo bench --bench suite -- --quick --noplot

echo "== bench-smoke: done in $((SECONDS - started)) s"
