#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run runs):
# formatting, vet, staticcheck, shellcheck, and every Go test with the
# race detector.
# It installs the Debian packages the tests drive (shellcheck, bsd-mailx,
# msmtp, openssl, postgresql, swaks, file, dbus-daemon, gnome-keyring) when
# they are missing and it can.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v bsd-mailx >/dev/null 2>&1 || need+=(bsd-mailx)
command -v msmtp >/dev/null 2>&1 || need+=(msmtp)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# A real Secret Service for the keyring tests (internal/keyring/keyringtest).
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)
command -v swaks >/dev/null 2>&1 || need+=(swaks)
# PostgreSQL is not on PATH on Debian: its binaries live under /usr/lib/postgresql.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v file >/dev/null 2>&1 || need+=(file)
if [ "${#need[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "test.sh: installing ${need[*]} from apt" >&2
	if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null; }; then
		echo "test.sh: could not install ${need[*]}; install them and run again" >&2
		exit 1
	fi
fi

echo "== gofmt"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	unformatted=$(git ls-files -z '*.go' | xargs -0 -r gofmt -l)
else
	unformatted=$(find . -name '*.go' -print0 | xargs -0 -r gofmt -l)
fi
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
# Pinned, fetched through the Go module proxy like any dependency.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run

echo "== cross-compile"
# The release build (static, as the README's install command makes it).
CGO_ENABLED=0 go build ./...
GOOS=windows go build ./...
GOOS=darwin go build ./...
# vet type-checks the tests too: a Linux-only call must sit in a file
# built only there (e.g. //go:build linux).
GOOS=windows go vet ./...
GOOS=darwin go vet ./...

echo "== go test -race"
# -timeout: the default 10 minutes a package is a cliff on a slow, busy
# machine (cmd/m365send takes about 5 under -race on two cores).
go test -race -count=1 -timeout 20m ./...

echo "== go test, streaming 150 MB (skipped under -race)"
go test -count=1 -run '^(TestLargeStandardInputIsStreamed|TestStandardInputOverTheLimitIsRefused)$' ./cmd/m365send
