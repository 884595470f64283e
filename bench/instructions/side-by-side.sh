#!/bin/bash
# Two builds side by side, in wall-clock time: the bare passthrough and aiProxy from each tree are
# started at once, all three pinned to CPU 1 (the fake upstream and autocannon on CPU 0), then
# measured in short slots, passthrough, A, B, passthrough, A, B, …. A slow spell of the machine
# (it drifts by ±20 % within a minute) then hits both builds within seconds. Prints each slot's
# requests (0: the slot had errors, and is left out), then the median of B / A over the slots. Run
# it twice with the trees swapped: the build measured right after the passthrough reads a few per
# cent lower. OLLAMA_DURATIONS=1 gives the upstream's answer the bench's four `*_duration` fields.
#
#   bench/instructions/side-by-side.sh <tree A> <tree B> [slots=25] [seconds a slot=2] [json|stream]
#
# Each tree needs dist/ (npm run build) and node_modules/; the passthrough is tree A's.
set -e
here=$(cd "$(dirname "$0")" && pwd)
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd); slots=${3:-25}; secs=${4:-2}; mode=${5:-json}
stream=false; [ "$mode" = stream ] && stream=true
ac="$a/node_modules/.bin/autocannon"
ports=$(node -e "const n=require('node:net');Promise.all([0,1,2,3].map(()=>new Promise(r=>{const s=n.createServer().listen(0,'127.0.0.1',()=>{const p=s.address().port;s.close(()=>r(p))})}))).then(p=>console.log(p.join(' ')))")
read -r up p0 p1 p2 <<<"$ports"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
taskset -c 0 node "$here/upstream.cjs" "$up" & pids+=($!)
taskset -c 1 node "$here/proxy.cjs" "$a" "$up" "$p0" passthrough & pids+=($!)
taskset -c 1 node "$here/proxy.cjs" "$a" "$up" "$p1" plain & pids+=($!)
taskset -c 1 node "$here/proxy.cjs" "$b" "$up" "$p2" plain & pids+=($!)
sleep 1.5
body="{\"model\":\"llama2\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant. Answer in two sentences.\"},{\"role\":\"user\",\"content\":\"What is the capital of France, and what is it famous for?\"}],\"max_tokens\":256,\"temperature\":0.7,\"stream\":$stream}"
count() {
  taskset -c 0 "$ac" -j -c 32 -d "$2" -m POST -H content-type=application/json -b "$body" "http://127.0.0.1:$1/v1/chat/completions" 2>/dev/null |
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const r=JSON.parse(s);console.log(r.non2xx||r.errors?0:r.requests.total)})"
}
for p in $p0 $p1 $p2; do count "$p" 3 >/dev/null; done
echo "requests a slot: passthrough $(basename "$a") $(basename "$b")"
out=""
for _ in $(seq "$slots"); do
  line="$(count "$p0" "$secs") $(count "$p1" "$secs") $(count "$p2" "$secs")"
  echo "$line"
  out+="$line"$'\n'
done
node -e '
const [text, nameA, nameB] = process.argv.slice(1);
const rows = text.trim().split("\n").map((l) => l.split(" ").map(Number)).filter((r) => r.length === 3 && r.every((n) => n > 0));
console.log("slots measured: " + rows.length);
if (rows.length === 0) process.exit(1);
const median = (v) => { v = [...v].sort((x, y) => x - y); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
console.log(`median ${nameB} / ${nameA}: ${median(rows.map((r) => r[2] / r[1])).toFixed(3)}`);
console.log(`median ${nameA} / passthrough: ${median(rows.map((r) => r[1] / r[0])).toFixed(3)}, ${nameB} / passthrough: ${median(rows.map((r) => r[2] / r[0])).toFixed(3)}`);
' "$out" "$(basename "$a")" "$(basename "$b")"
