#!/usr/bin/env bash
# Side by side: the demo server with libmemkit buffers vs plain malloc/free, same
# load generator settings, 1 and 2 server threads, under two loads: request/response
# (one message in flight per connection) and pipelined (8 in flight); then resident
# memory of the memkit build over 10 million messages. Prints markdown for
# docs/demo_server.md. The two builds run in 7 adjacent pairs; each figure is the
# median of the 7 runs, and the ratio is the median of the 7 pairs' ratios (a pair
# runs within seconds, so a shared VM's speed changing from one minute to the next
# moves both of its runs alike), with how many pairs the memkit build won. Besides
# messages/s and p99 it reports the server's CPU time per message (user + system,
# from /proc/PID/stat) and its read calls per message (/proc/PID/io's syscr, which
# counts without slowing the calls as strace does): with messages pipelined, a
# server that finishes an event-loop pass sooner finds fewer bytes waiting, so it
# makes more, smaller reads and writes per message.
# Usage: demo_server/compare.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
work=$(mktemp -d)
trap 'pkill -f "$work/" 2>/dev/null || true; rm -rf "$work"' EXIT
bazel build -c opt //demo_server:demo_server //demo_server:loadgen >/dev/null 2>&1
cp bazel-bin/demo_server/demo_server "$work/server_memkit"
cp bazel-bin/demo_server/loadgen "$work/loadgen"
bazel build -c opt --define demo_buffers=malloc //demo_server:demo_server >/dev/null 2>&1
cp bazel-bin/demo_server/demo_server "$work/server_malloc"
load=(--connections 32 --size 64-4096 --duration "$seconds" --seed 7)

start() { # start BINARY THREADS -> sets pid, port
    # The log goes first: the shell truncates it only once the background child runs,
    # and a look before that would read the previous server's port.
    rm -f "$work/server.log"
    "$1" --port 0 --threads "$2" > "$work/server.log" 2>&1 &
    pid=$!
    port=
    for _ in $(seq 100); do
        port=$(grep -so "listening on 127.0.0.1:[0-9]*" "$work/server.log" | cut -d: -f2) || true
        [[ -n $port ]] && return
        sleep 0.1
    done
    echo "compare.sh: $1 did not start" >&2
    exit 1
}
ticks_per_second=$(getconf CLK_TCK)
measure() { # measure BINARY THREADS PIPELINE -> "msgs/s p99_us server_cpu_us_per_msg reads_per_msg"
    start "$1" "$2"
    "$work/loadgen" --port "$port" --pipeline "$3" "${load[@]}" > "$work/load.txt"
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    reads=$(awk '/^syscr:/ {print $2}' "/proc/$pid/io")
    kill -TERM "$pid"; wait "$pid"
    awk -v ticks="$ticks" -v hz="$ticks_per_second" -v seconds="$seconds" -v reads="$reads" \
        '/messages\/s/ {gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "messages/s") m = $(i-1); if ($i == "p99") p = $(i+1) } }
         END { printf "%s %s %.2f %.3f\n", m, p, ticks / hz / (m * seconds) * 1e6, reads / (m * seconds) }' "$work/load.txt"
}

echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(awk -F': ' '/^model name/ && !n { n = $2 } /^cpu family/ && !f { f = $2 } /^model\t/ && !m { m = $2 }
                  END { printf "%s, family %s model %s", n, f, m }' /proc/cpuinfo)"
echo "Load: loadgen ${load[*]} --pipeline 1 or 8"
echo
echo "| pipeline | server threads | memkit msgs/s | malloc msgs/s | ratio (pairs won) | memkit p99 (us) | malloc p99 (us) | memkit server CPU (us/msg) | malloc server CPU (us/msg) | memkit reads/msg | malloc reads/msg |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
pairs=7
median() { sort -g | sed -n "$(( (pairs + 1) / 2 ))p"; }
column() { awk -v n="$1" '{print $n}' "$2" | median; }
for pipeline in 1 8; do
    for threads in 1 2; do
        : > "$work/memkit.txt"; : > "$work/malloc.txt"
        for pair in $(seq "$pairs"); do # the order alternates too, so neither build always runs first
            order=(memkit malloc)
            (( pair % 2 )) || order=(malloc memkit)
            for build in "${order[@]}"; do
                measure "$work/server_$build" "$threads" "$pipeline" >> "$work/$build.txt"
            done
        done
        paste -d' ' "$work/memkit.txt" "$work/malloc.txt" | awk '{ printf "%.4f\n", $1 / $5 }' > "$work/ratios.txt"
        ratio=$(median < "$work/ratios.txt" | awk '{ printf "%.2f", $1 }')
        won=$(awk '$1 >= 1' "$work/ratios.txt" | wc -l)
        row="| $pipeline | $threads | $(column 1 "$work/memkit.txt") | $(column 1 "$work/malloc.txt") | $ratio ($won of $pairs)"
        for n in 2 3 4; do row+=" | $(column "$n" "$work/memkit.txt") | $(column "$n" "$work/malloc.txt")"; done
        echo "$row |"
    done
done

echo
echo "Resident memory of the memkit build (2 threads) over 10 million messages (50 connections x 200000, pipeline 8, 64-4096 B):"
echo
start "$work/server_memkit" 2
"$work/loadgen" --port "$port" --connections 50 --pipeline 8 --messages 200000 --size 64-4096 --seed 9 > "$work/long.txt" &
lg=$!
echo "| seconds | resident kB |"
echo "| --- | --- |"
t=0
while kill -0 "$lg" 2>/dev/null; do
    if (( t % 10 == 0 )); then echo "| $t | $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") |"; fi
    sleep 1; t=$((t + 1))
done
wait "$lg"
echo "| $t (end) | $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") |"
echo
sed 's/^/    /' "$work/long.txt"
kill -TERM "$pid"; wait "$pid"
grep -E "final:" "$work/server.log" | sed 's/^/    /'
