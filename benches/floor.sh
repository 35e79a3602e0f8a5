#!/usr/bin/env bash
# The physical floor: the raw primitives under each JWT algorithm, measured by `openssl speed`
# on this machine (HMAC over 256 bytes ~ a token's signing input; RSA/ECDSA/Ed25519 verify).
# Writes the human-readable output to OUT (default docs/bench/openssl-speed.txt), where
# `bench_report` (authprobe bench-report) reads it to put each jwt_verify/<ALG> beside its
# primitive. Takes ~12 s with the default SECONDS_PER_ALG=1.
set -euo pipefail
out="${1:-docs/bench/openssl-speed.txt}"
secs="${SECONDS_PER_ALG:-1}"
if ! command -v openssl >/dev/null 2>&1; then
    echo "floor.sh: openssl not on PATH, physical floor skipped" >&2
    exit 0
fi
mkdir -p "$(dirname "$out")"
{
    echo "# openssl speed on $(uname -m), $(date -u +%Y-%m-%d), $(openssl version)"
    openssl speed -elapsed -seconds "$secs" -bytes 256 -hmac sha256 2>/dev/null
    openssl speed -elapsed -seconds "$secs" -bytes 256 -hmac sha512 2>/dev/null
    openssl speed -elapsed -seconds "$secs" rsa2048 rsa4096 ecdsap256 ecdsap384 ed25519 2>/dev/null
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "floor.sh: wrote $out"
