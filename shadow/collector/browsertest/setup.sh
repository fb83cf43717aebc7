#!/usr/bin/env bash
# Installs what the collector's browser test needs, idempotently:
#   - Debian's chromium at /usr/bin/chromium (apt), when missing;
#   - the pinned Snowplow browser tracker and esbuild (npm ci), and the
#     bundled page script dist/tracker-page.js, when missing or built from
#     other sources than package.json, package-lock.json and src/ hold now.
# The test checks the same stamp and fails (never skips) when it is stale.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
	echo "setup.sh: installing Debian chromium" >&2
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

stamp() {
	# Same order as sourceStamp in browser_test.go.
	{
		cat package.json package-lock.json
		find src -type f -print0 | LC_ALL=C sort -z | xargs -0 cat
	} | sha256sum | cut -d' ' -f1
}

want="$(stamp)"
have="$(cat dist/.stamp 2>/dev/null || true)"
if [ "$want" != "$have" ] || [ ! -s dist/tracker-page.js ]; then
	echo "setup.sh: npm ci and bundling the tracker page" >&2
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf dist
	npm run --silent build
	echo "$want" > dist/.stamp
fi
