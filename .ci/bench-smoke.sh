#!/usr/bin/env bash
# Bench smoke for CI: builds every bench and runs each once in a shortened mode, Redis included.
# Measured on the 2-core CI machine: ~N s when the release build is warm (see README "Benchmarks").
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
cargo bench --no-run

export AUTHPROBE_BENCH_SMOKE=1
echo "== bench-smoke: verify_vs_lookup --quick (every group, Redis included)"
cargo bench --bench verify_vs_lookup -- --quick --noplot
echo "== bench-smoke: parsers --quick"
cargo bench --bench parsers -- --quick --noplot
echo "== bench-smoke: suite --quick"
cargo bench --bench suite -- --quick --noplot

echo "== bench-smoke: done in $((SECONDS - started)) s"
