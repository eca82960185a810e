#!/usr/bin/env bash
# The project's benchmark driver: runs every benchmark (no tests) with
# allocation counts, several times, so the output can be compared with
# benchstat (go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt).
#
#   scripts/bench.sh                 # all benchmarks, 5 runs each
#   scripts/bench.sh -count 10       # extra flags go to go test
#   scripts/bench.sh > new.txt
#   scripts/bench.sh token [RUNS]    # only the whole-process token benchmark
#
# What the numbers mean:
#   BenchmarkTokenCacheHit        cost of Token() when the cached token is
#                                 good (memory, and through the file + lock);
#                                 fails if Entra ID is asked at all
#   BenchmarkSendBatch1000        msgs/s for 1,000 small messages over one
#                                 connection to the loopback fake Office 365
#   BenchmarkSend30MBAttachment   peak-heap-MB while a 30 MB attachment is
#                                 sent (streamed, so far below 30)
#   BenchmarkPrepare              sendmail message preparation throughput
#   BenchmarkEnqueue10            msgs/s into the relay's spool from 10
#                                 goroutines, each durable (fsync) first
#   BenchmarkSpool10000           heap held by List and Claim with 10,000
#                                 queued 10 KB messages (bodies never read)
#   BenchmarkDeliver              msgs/s from the spool to the loopback
#                                 fake Office 365, pacing off
#   BenchmarkAcceptIntoSpool      msgs/s the relay accepts into the spool from
#                                 10 SMTP clients (STARTTLS, AUTH PLAIN), each
#                                 durable (fsync) before its 250
#   BenchmarkRelayEndToEnd        msgs/s from 10 SMTP clients through the relay,
#                                 the spool and the Deliverer (pacing off) to
#                                 the loopback fake Office 365
#   BenchmarkTransports           msgs/s over SMTP (smtptest) and over
#                                 Microsoft Graph (graphtest), one and ten
#                                 messages per call
#   BenchmarkRelays               accepted/s (Enqueue) and handled/s (Claim,
#                                 Open, Update, Done) for the spool and for
#                                 1, 2, 3 relays on one PostgreSQL database
#                                 (the test server runs without fsync, so
#                                 it shows the queue's own cost, not a
#                                 durable server's; needs postgresql)
#
# Then, as whole processes (hyperfine-style: RUNS runs each, default 200,
# after a warm-up; the median of each), `m365send token` with a warm token
# cache against `cat` of a file holding the token, with the sandbox's fake
# Entra ID on loopback. The binary is built as a release is
# (CGO_ENABLED=0). The goal is at most 5 times cat's median; the ratio is
# printed (a busy machine inflates both).
#
# Everything talks only to loopback fakes; no tenant is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
count=5
if [ "${1:-}" = "-count" ] && [ -n "${2:-}" ]; then
	count=$2
	shift 2
fi

# now_ns prints the time in nanoseconds.
now_ns() { date +%s%N; }

# median_us runs "$@" RUNS times (output discarded) and prints the median
# wall time of one run in microseconds.
median_us() {
	local runs=$1 i start end
	shift
	local times=()
	for ((i = 0; i < runs; i++)); do
		start=$(now_ns)
		"$@" >/dev/null
		end=$(now_ns)
		times+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# token_bench is the whole-process benchmark of `m365send token`.
token_bench() {
	local runs=${1:-200} dir sb
	dir=$(mktemp -d)
	sandbox_pid=""
	# shellcheck disable=SC2064 # expand dir now, the pid when it runs
	trap "[ -z \"\${sandbox_pid}\" ] || kill \"\${sandbox_pid}\" 2>/dev/null; rm -rf '$dir'" EXIT
	CGO_ENABLED=0 go build -trimpath -o "$dir/m365send" ./cmd/m365send
	sb="$dir/sandbox"
	env -u M365SEND_CONFIG "$dir/m365send" sandbox --dir "$sb" >"$dir/sandbox.log" 2>&1 &
	sandbox_pid=$!
	for _ in $(seq 300); do
		grep -q 'ready' "$dir/sandbox.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q 'ready' "$dir/sandbox.log" || { cat "$dir/sandbox.log" >&2; exit 1; }
	local tok=(env HOME="$dir" "$dir/m365send" --config "$sb/config.toml" token --profile sandbox)
	"${tok[@]}" >"$dir/token.txt" # warms the cache
	median_us 10 "${tok[@]}" >/dev/null
	local m c
	m=$(median_us "$runs" "${tok[@]}")
	c=$(median_us "$runs" cat "$dir/token.txt")
	echo "BenchmarkTokenProcess: m365send token (warm cache) median ${m} us, cat of the token file median ${c} us, over $runs runs each"
	awk -v m="$m" -v c="$c" 'BEGIN {r = m / c; printf "BenchmarkTokenProcess: %.1f times cat (goal: at most 5): %s\n", r, (r <= 5 ? "met" : "missed")}'
}

if [ "${1:-}" = "token" ]; then
	token_bench "${2:-}"
	exit 0
fi
go test -run '^$' -bench . -benchmem -count "$count" "$@" ./...
token_bench
