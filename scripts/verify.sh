#!/usr/bin/env bash
# make verify: on a stack fed by loadgen traffic (the already running
# servers), plant every fault kind into each system and check that the
# audit replay names it (audit/faults TestVerify, build tag verify); print
# the fault table and write it into README.md between the verify markers.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
table=$(mktemp)
log=${TMPDIR:-/tmp}/brooks-verify.log
trap 'rm -f "$table"' EXIT
status=0
BROOKS_VERIFY_TABLE="$table" "$GO" test -tags verify -p 1 -count=1 -timeout 30m -run '^TestVerify$' -v ./audit/faults >"$log" 2>&1 || status=$?
grep -E '^(--- |ok|FAIL)|verify_test.go.*×|Error' "$log" || true
if [ ! -s "$table" ]; then
	echo "verify: no table written (see $log)" >&2
	exit 1
fi
{
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git describe --always --dirty), load average $(cut -d' ' -f1-3 /proc/loadavg):"
	echo
	cat "$table"
} >"$table.md"
cat "$table.md"
awk -v tbl="$table.md" '
	/<!-- verify:begin -->/ { print; while ((getline l < tbl) > 0) print l; skip = 1; next }
	/<!-- verify:end -->/ { skip = 0 }
	!skip { print }
' README.md >README.md.tmp && mv README.md.tmp README.md
rm -f "$table.md"
echo "verify: table written to README.md (log: $log)"
exit $status
