#!/usr/bin/env bash
# The project's benchmark driver: runs every benchmark (no tests) with
# allocation counts, several times, so the output can be compared with
# benchstat (go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt).
#
#   scripts/bench.sh                 # all benchmarks, 5 runs each
#   scripts/bench.sh -count 10       # extra flags go to go test
#   scripts/bench.sh > new.txt
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
#   BenchmarkTransports           msgs/s over SMTP (smtptest) and over
#                                 Microsoft Graph (graphtest), one and ten
#                                 messages per call
#
# Everything talks only to loopback fakes; no tenant is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
count=5
if [ "${1:-}" = "-count" ] && [ -n "${2:-}" ]; then
	count=$2
	shift 2
fi
exec go test -run '^$' -bench . -benchmem -count "$count" "$@" ./...
