#!/usr/bin/env bash
# Benchmark: `cityteller audit verify` over 1,000,000 chained audit events
# in SQLite, against a plain SHA-256 chain over the same canonical bytes
# (measured in the same run, on the same machine).
#
# Targets: >= 2,000,000 events/s (issue 4) and >= 0.5 x the baseline rate
# (issue 10). Usage: bench/audit_verify.sh [EVENTS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
runs=3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -q -p cityteller -p cityteller-bench
target="${CARGO_TARGET_DIR:-target}/release"

cat > "$work/cityteller.toml" <<TOML
data_dir = "$work"
[departments.utilities]
name = "Utilities"
[departments.utilities.ledger]
cash_clearing = "1010"
receivable = "1210"
fee_income = "4490"
TOML
export CITYTELLER_CONFIG="$work/cityteller.toml"
"$target/cityteller" keys init >/dev/null
"$target/cityteller" migrate >/dev/null
echo "generating $n chained events..."
"$target/cityteller-bench" audit-events "$work/cityteller.db" "$n"

best() { sort -g | head -1; }
verify_times=()
for _ in $(seq "$runs"); do
    out="$("$target/cityteller" audit verify)"
    grep -q "^audit log OK: $n events" <<<"$out" || { echo "verify failed: $out"; exit 1; }
    verify_times+=("$(sed -n 's/^verified in \([0-9.]*\) s.*/\1/p' <<<"$out")")
done
base_times=()
for _ in $(seq "$runs"); do
    out="$("$target/cityteller-bench" sha-chain "$work/cityteller.db.raw")"
    base_times+=("$(sed -n 's/.* records in \([0-9.]*\) s.*/\1/p' <<<"$out")")
done
v="$(printf '%s\n' "${verify_times[@]}" | best)"
b="$(printf '%s\n' "${base_times[@]}" | best)"
python3 - "$n" "$v" "$b" <<'PY'
import sys
n, v, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
vr, br = n / v, n / b
print(f"audit verify      : {n} events in {v:.3f} s = {vr:,.0f} events/s (best of 3; reads SQLite, decodes, re-encodes, hashes, checks)")
print(f"sha-256 chain     : {n} records in {b:.3f} s = {br:,.0f} records/s (best of 3; bytes already in memory)")
print(f"ratio             : {vr / br:.2f} x baseline (target >= 0.5)   rate target >= 2,000,000/s: {'met' if vr >= 2e6 else 'NOT met'}")
PY
