#!/usr/bin/env bash
# The project's fuzz driver: finds every Fuzz target in the module
# (go test -list '^Fuzz' ./...) and runs each one in turn for the given
# time, stopping with a failure as soon as a target finds one (the input
# that failed is kept under the package's testdata/fuzz/<target>/, where
# the ordinary `go test` runs it from then on).
#
#   scripts/fuzz.sh            # every target, 10 minutes each
#   scripts/fuzz.sh 60s        # every target, 60 seconds each
#   scripts/fuzz.sh 30s -parallel 2    # extra flags go to go test
#
# The seeds of every target also run in the ordinary test suite; this is
# the long run, for a release or a nightly job. Everything talks only to
# loopback fakes.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10m}
if [ $# -gt 0 ]; then
	shift
fi

targets=0
failed=()
while read -r pkg; do
	while read -r name; do
		case $name in
		Fuzz*) ;;
		*) continue ;;
		esac
		targets=$((targets + 1))
		echo "== $pkg $name ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$@" "$pkg"; then
			failed+=("$pkg $name")
			break 2
		fi
	done < <(go test -list '^Fuzz' "$pkg")
done < <(go list ./...)

if [ "${#failed[@]}" -gt 0 ]; then
	echo "FAIL: ${failed[*]} found a failing input" >&2
	exit 1
fi
if [ "$targets" -eq 0 ]; then
	echo "no Fuzz targets found" >&2
	exit 1
fi
echo "ok: $targets fuzz targets ran for $fuzztime each"
