#!/usr/bin/env bash
# The benchmark: builds in release mode, starts cityteller on SQLite with
# 100,000 accounts (one open bill each), drives it from this machine and
# prints one table of figures against baselines measured in the same run.
# With DATABASE_URL=postgres://… set, the page and posting scenarios also
# run on PostgreSQL (in a fresh database beside the one named) and are
# printed beside SQLite.
#
# Usage: bench/run.sh            (BENCH_SECONDS=10 per measured scenario;
#        BENCH_SKIP_BULK=1 skips the 1M-row import and audit scenarios)
# See docs/benchmarks.md for what each scenario means and the last results.
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$SECONDS
# A progress line, stamped with the minutes and seconds since the start.
say() { printf '== [%d:%02d] %s\n' $(((SECONDS - started_at) / 60)) $(((SECONDS - started_at) % 60)) "$*"; }
secs="${BENCH_SECONDS:-10}"
# Read before the SQLite run, which starts cityteller without DATABASE_URL.
pg_admin="${DATABASE_URL:-}"
accounts=100000
import_rows=1000000
# Payments for the posting scenario, each used once: room for 20-second
# windows at the rates seen so far (SQLite up to 2,000/s, PostgreSQL about
# 500/s; preparing them on PostgreSQL takes a round trip per statement).
webhook_payments=40000
webhook_payments_pg=12000

# The load generator is our own (crates/bench); sqlite3 is the import
# baseline.
missing=()
for tool_name in sqlite3 curl python3; do
    command -v "$tool_name" >/dev/null 2>&1 || missing+=("$tool_name")
done
if [ "${#missing[@]}" -gt 0 ]; then
    pkgs="${missing[*]}"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${pkgs} (Debian packages)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs} >/dev/null
    else
        echo "bench/run.sh needs: ${pkgs} (Debian: apt-get install ${pkgs})" >&2
        exit 1
    fi
fi

say "building (release)"
cargo build --release --locked -q -p cityteller -p cityteller-bench
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
ct="$bin/cityteller"
tool="$bin/cityteller-bench"

work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
pids=()
pg_db=""
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$pg_db" ]; then
        psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
record() { tee -a "$results"; }
note() { echo "{\"scenario\":\"$1\",\"label\":\"$2\",\"value\":$3}" >>"$results"; }
now_ns() { date +%s%N; }
# Seconds since a now_ns reading.
since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
rss_kb() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
wait_http() {
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "not answering: $1" >&2
    return 1
}

say "data: $accounts accounts, one open bill each"
"$tool" receivables "$work/bills.csv" "$accounts"
# Bill-page sessions use accounts whose bills the webhook run does not pay.
tail -n 64 "$work/bills.csv.accounts" >"$work/sessions.accounts"
read -r weight_account weight_zip < <(tail -n 1 "$work/bills.csv.accounts" | tr ',' ' ')

# One cityteller with its own data folder and ports; $1 names it, $2 is an
# optional DATABASE_URL.
start_cityteller() {
    local name="$1" db="${2:-}"
    local dir="$work/$name"
    mkdir -p "$dir"
    public_port="$(free_port)"
    staff_port="$(free_port)"
    cat >"$dir/cityteller.toml" <<TOML
data_dir = "$dir"
timezone = "America/Los_Angeles"
[public]
listen = "127.0.0.1:$public_port"
base_url = "http://127.0.0.1:$public_port/"
[staff]
listen = "127.0.0.1:$staff_port"
base_url = "http://127.0.0.1:$staff_port/"
[processor]
kind = "sandbox"
sandbox_url = "http://127.0.0.1:9/"
[log]
format = "json"
[limits]
# The bill-page scenario signs 64 sessions in from one address; the
# sign-in limit stays as shipped.
lookup_per_minute = 1000
[departments.utilities]
name = "Utilities"
verifier = "zip"
min_payment = "1.00"
allow_partial = true
[departments.utilities.card_fee]
flat = "0.00"
percent = "0"
[departments.utilities.ledger]
cash_clearing = "1010"
receivable = "1210"
fee_income = "4490"
TOML
    export CITYTELLER_CONFIG="$dir/cityteller.toml"
    if [ -n "$db" ]; then export DATABASE_URL="$db"; else unset DATABASE_URL; fi
    "$ct" keys init >/dev/null
    "$ct" migrate >/dev/null
    local t0
    say "$name: importing $accounts accounts"
    t0=$(now_ns)
    "$ct" import receivables --department utilities "$work/bills.csv" >/dev/null
    note import_100k "$name" "$(since "$t0")"
    local payments="$webhook_payments"
    if [ -n "$db" ]; then payments="$webhook_payments_pg"; fi
    say "$name: $payments payments waiting for the processor's outcome"
    "$tool" prep --config "$dir/cityteller.toml" --payments "$payments" --out "$dir/payments.csv" >/dev/null
    # PostgreSQL: statistics for the tables prep just filled, as autovacuum
    # would give them some time after a bulk load (the import refreshes its
    # own tables' statistics itself).
    if [ -n "$db" ]; then psql "$db" -qc "ANALYZE" >/dev/null; fi
    "$ct" serve >"$dir/serve.log" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
    wait_http "http://127.0.0.1:$staff_port/healthz"
    public="http://127.0.0.1:$public_port"
    staff="http://127.0.0.1:$staff_port"
}

stop_cityteller() {
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null || true
}

run_scenarios() {
    local name="$1" db="${2:-}"
    say "$name: starting cityteller"
    start_cityteller "$name" "$db"
    sleep 2
    note rss_idle_kb "$name" "$(rss_kb "$serve_pid" VmRSS)"
    say "$name: static page (baseline), 64 connections"
    "$tool" load --label "$name" -d "$secs" get "$public/static/app.css" | record
    say "$name: bill page after look-up, 64 connections"
    "$tool" load --label "$name" -d "$secs" bills --base "$public" --accounts "$work/sessions.accounts" | record
    say "$name: signed webhooks → ledger postings, 64 senders"
    "$tool" load --label "$name" -d "$secs" webhooks --url "$public/webhooks/sandbox" \
        --keys "$work/$name/keys.toml" --payments "$work/$name/payments.csv" | record
    if [ -z "$db" ]; then
        say "$name: bill page during a sign-in flood (1,000 connections)"
        "$tool" load --label "$name" -d "$secs" bills --base "$public" --accounts "$work/sessions.accounts" \
            --flood-login "$staff/login" --flood-connections 1000 | record
        say "$name: page weight"
        "$tool" weight --base "$public" --account "$weight_account" --zip "$weight_zip" | record
    fi
    note rss_peak_kb "$name" "$(rss_kb "$serve_pid" VmHWM)"
    say "$name: ledger check after the run"
    "$ct" ledger check | tail -n 1
    stop_cityteller
    say "$name: baseline: one INSERT per request, own fsynced transaction, 64 connections"
    local port url
    port="$(free_port)"
    if [ -n "$db" ]; then url="$db"; else url="sqlite://$work/$name/baseline.db"; fi
    "$tool" baseline --database "$url" --listen "127.0.0.1:$port" >/dev/null &
    local bpid=$!
    pids+=("$bpid")
    sleep 0.5
    for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    "$tool" load --label "$name" -d "$secs" insert "http://127.0.0.1:$port/insert" | record
    kill "$bpid"
    wait "$bpid" 2>/dev/null || true
}

run_scenarios sqlite

if [ -n "$pg_admin" ]; then
    pg_db="cityteller_bench_$$"
    psql "$pg_admin" -qc "CREATE DATABASE \"$pg_db\"" >/dev/null
    pg_url="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$pg_admin" "$pg_db")"
    run_scenarios postgres "$pg_url"
    unset DATABASE_URL
fi

if [ -n "${BENCH_SKIP_BULK:-}" ]; then
    python3 bench/summary.py "$results" || true
    exit 0
fi

say "import: $import_rows receivables from CSV (validated, all-or-nothing)"
"$tool" receivables "$work/big.csv" "$import_rows"
mkdir -p "$work/import"
cat >"$work/import/cityteller.toml" <<TOML
data_dir = "$work/import"
[departments.utilities]
name = "Utilities"
[departments.utilities.ledger]
cash_clearing = "1010"
receivable = "1210"
fee_income = "4490"
TOML
export CITYTELLER_CONFIG="$work/import/cityteller.toml"
"$ct" keys init >/dev/null
"$ct" migrate >/dev/null
sync
t0=$(now_ns)
"$ct" import receivables --department utilities "$work/big.csv" >/dev/null
note import_1m cityteller "$(since "$t0")"
sync
say "import baseline: sqlite3 .import of the same file"
t0=$(now_ns)
sqlite3 "$work/bare.db" ".import --csv $work/big.csv bare"
note import_1m sqlite3 "$(since "$t0")"
echo "   rows in the bare table: $(sqlite3 "$work/bare.db" 'SELECT COUNT(*) FROM bare')"

say "audit verify over 1,000,000 events"
bench/audit_verify.sh 1000000 | tee "$work/audit.txt"
note audit_verify_s cityteller "$(sed -n 's/^audit verify *: [0-9]* events in \([0-9.]*\) s.*/\1/p' "$work/audit.txt")"
note audit_verify_s sha256 "$(sed -n 's/^sha-256 chain *: [0-9]* records in \([0-9.]*\) s.*/\1/p' "$work/audit.txt")"

say "done"
echo
python3 bench/summary.py "$results"
