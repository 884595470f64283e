#!/bin/bash
# Instructions the proxy's CPU executes per request, counted by valgrind's callgrind: unlike
# requests per second on a shared virtual machine, the main thread's count moves by ±2–4 % between
# runs, so two builds can be compared a few per cent apart (run each several times). Needs
# valgrind; about a minute a run.
#
#   bench/instructions/run.sh <tree with dist/ and node_modules/> [warm=4000] [n=1000] [json|stream] [what=plain]
#
# `what`: plain (aiProxy), passthrough (the bench's Express + http-proxy-middleware floor), metrics
# (with aiProxyMetrics()), tracing (with the bench's OpenTelemetry SDK, exporters that drop) or
# sdkfloor (plain, behind a middleware making only the SDK calls a GenAI instrumentation must make).
# Prints the instructions per request of the main thread (01: JavaScript, the event loop) and of
# the others (V8's compiler and garbage-collector helpers). Run `npm run build` in the tree first.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$1" && pwd); warm=${2:-4000}; n=${3:-1000}; mode=${4:-json}; what=${5:-plain}
case $what in plain | passthrough | metrics | tracing | sdkfloor) ;; *) echo "unknown server '$what': plain, passthrough, metrics, tracing or sdkfloor" >&2; exit 2 ;; esac
up=$((20000 + RANDOM % 10000)); port=$((30000 + RANDOM % 10000))
out=$(mktemp -d)
node "$here/upstream.cjs" $up & upid=$!
valgrind --tool=callgrind --callgrind-out-file=$out/cg.%p --dump-instr=no --collect-jumps=no --separate-threads=yes \
  node "$here/proxy.cjs" "$root" $up $port $what 2>$out/valgrind.log & vpid=$!
node "$here/driver.cjs" $port $vpid $warm $n $mode >/dev/null
kill $vpid $upid; wait $vpid 2>/dev/null || true
main=0; others=0
for f in $out/cg.$vpid.1-*; do
  ir=$(grep -m1 '^summary:\|^totals:' "$f" | awk '{print $2}')
  if [[ $f == *-01 ]]; then main=$ir; else others=$((others + ir)); fi
done
echo "$(basename "$root") $mode $what: $((main / n)) instructions a request on the main thread, $((others / n)) on the others"
rm -rf "$out"
