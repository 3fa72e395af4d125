#!/usr/bin/env bash
# Integration tests of the demo echo server, on loopback only, bounded in time:
# 200 concurrent connections with payloads of 1 B to 1 MB verified byte for byte;
# 64 MB streamed through socat and compared by checksum; resets mid-echo, a
# non-reading client (resident memory bounded, backpressure engaged), half-close,
# silent clients, --max-connections; graceful SIGTERM with a clean pool.
set -uo pipefail
server="$1"; loadgen="$2"; abuse="$3"; mode="${4:-threads}"
if [[ "$mode" == "nothreads" ]]; then
    echo "skipped: the demo server needs the thread-safe libmemkit"; exit 0
fi
work=$(mktemp -d)
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
start() { # start NAME ARGS...: starts a server, sets PID_$NAME and PORT_$NAME
    local name="$1"; shift
    rm -f "$work/$name.log" # a look before the background child truncates it would read an older server's port
    "$server" --port 0 "$@" > "$work/$name.log" 2>&1 &
    local pid=$!
    local port=
    for _ in $(seq 100); do
        port=$(grep -so "listening on 127.0.0.1:[0-9]*" "$work/$name.log" | head -1 | cut -d: -f2)
        [[ -n "$port" ]] && break
        sleep 0.1
    done
    [[ -n "$port" ]] || { echo "FAIL: $name did not start"; cat "$work/$name.log"; exit 1; }
    eval "PID_$name=$pid; PORT_$name=$port"
}
stats() { # stats NAME: asks for statistics, prints the newest stats block
    local pid_var="PID_$1"
    local before
    before=$(grep -c "stats(SIGUSR1)" "$work/$1.log")
    kill -USR1 "${!pid_var}"
    for _ in $(seq 50); do [[ $(grep -c "stats(SIGUSR1)" "$work/$1.log") -gt $before ]] && break; sleep 0.1; done
    tac "$work/$1.log" | sed "/stats(SIGUSR1)/q" | tac
}
live_after_settling() { # the live buffer count once clients have gone (waits up to 10 s)
    local live
    for _ in $(seq 50); do
        live=$(stats "$1" | grep -o "live_buffers=[0-9]*" | cut -d= -f2)
        [[ "$live" == "0" ]] && break
        sleep 0.2
    done
    echo "$live"
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

start main --threads 2
echo "server on port $PORT_main (pid $PID_main)"

"$loadgen" --port "$PORT_main" --connections 200 --messages 2 --size 1-1048576 --seed 42 > "$work/load.txt" 2>&1
check "200 connections x 2 random payloads of 1 B..1 MB echoed byte for byte" '[[ $? -eq 0 ]]'
cat "$work/load.txt"
grep -q "400 messages" "$work/load.txt" || { echo "FAIL: not every message came back"; fail=1; }

head -c 64M /dev/urandom > "$work/in.bin"
timeout 120 socat -t 30 -T 60 - "TCP:127.0.0.1:$PORT_main" < "$work/in.bin" > "$work/out.bin"
check "64 MB through socat, same sha256" \
    '[[ "$(sha256sum < "$work/in.bin")" == "$(sha256sum < "$work/out.bin")" ]]'

stats main > "$work/stats_after_load.txt"
check "statistics carry the UTC time and uptime, and count the reads echoed" \
    'grep -qE "stats\(SIGUSR1\) at 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z uptime=[0-9]+\.[0-9]s: .* reads=[1-9]" "$work/stats_after_load.txt"'

check "libuv's allocations and the server's objects come from mem_malloc (uv_replace_allocator)" \
    'grep -qE "objects \(libuv and the server.s, mem_malloc\): live=[0-9]+ live_bytes=[0-9]+ peak_bytes=[1-9]" "$work/stats_after_load.txt"'

baseline=$(rss_kb "$PID_main")
"$abuse" "$PORT_main" stall 268435456 3 > "$work/stall.txt" &
stall_pid=$!
sleep 2.5
during=$(rss_kb "$PID_main")
stats main > "$work/stats_stall.txt"
wait $stall_pid
cat "$work/stall.txt"
echo "resident memory: ${baseline} kB before, ${during} kB while a client sends without reading"
check "a non-reading client is paused by backpressure" 'grep -qE "backpressure_pauses=[1-9]" "$work/stats_stall.txt"'
check "resident memory grows by less than 64 MB while a client does not read" \
    '[[ $((during - baseline)) -lt 65536 ]]'

"$abuse" "$PORT_main" reset 50
"$abuse" "$PORT_main" silent 50
"$abuse" "$PORT_main" halfclose 1000000
check "half-close echoes everything, then EOF" '[[ $? -eq 0 ]]'
check "live containers back to 0 after resets, stalls, silent and half-closed clients" \
    '[[ "$(live_after_settling main)" == "0" ]]'

start limited --max-connections 5
"$abuse" "$PORT_limited" silent 10 > /dev/null
check "--max-connections 5 refuses (closes) the other 5 of 10" 'stats limited | grep -q "refused=5"'
kill -TERM "$PID_limited"; wait "$PID_limited"

kill -TERM "$PID_main"
wait "$PID_main"
status=$?
tail -6 "$work/main.log"
check "SIGTERM: exit status 0" '[[ $status -eq 0 ]]'
check "SIGTERM: pool validates with zero live containers" \
    'grep -q "final: live_containers=0 validate=ok" "$work/main.log"'
rm -rf "$work"
[[ $fail -eq 0 ]] && echo "PASS: demo server integration tests"
exit $fail
