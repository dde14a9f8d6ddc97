#!/usr/bin/env bash
# The whole test suite: sets the machine up (idempotent), checks types and generated contracts,
# then runs every test against the real components. Prints "vitest: N passed, N failed, N skipped",
# then checks that no log the suite produced holds a secret it used, and exits non-zero if
# anything failed.
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"

bash deploy/setup.sh
echo "== typecheck"
pnpm -s typecheck
echo "== generated contract types"
pnpm -s check:gen

echo "== tests"
report=$(mktemp /tmp/sdmi-vitest-XXXXXX.json)
# The secrets the tests use and the logs they produce, for the last check (docs/security.md).
secrets_dir=$(mktemp -d /tmp/sdmi-secrets-XXXXXX)
chmod 700 "$secrets_dir"
export SDMI_TEST_SECRET_LEDGER="$secrets_dir/ledger" SDMI_TEST_LOG_DIR="$secrets_dir/logs"
mkdir -p "$SDMI_TEST_LOG_DIR"
trap 'rm -f "$report"; rm -rf "$secrets_dir"' EXIT
status=0
set +e
pnpm -s vitest run --reporter=default --reporter=json --outputFile.json="$report" 2>&1 | tee "$SDMI_TEST_LOG_DIR/vitest-output.log"
status=${PIPESTATUS[0]}
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
cp "$report" "$SDMI_TEST_LOG_DIR/vitest-report.json"
scan_clean=1
pnpm -s exec tsx test/secret-scan.ts "$SDMI_TEST_SECRET_LEDGER" "$SDMI_TEST_LOG_DIR" || { status=1; scan_clean=0; }
# A failed run keeps what the daemons and services printed (the test bed's own logs are gone with
# their directories), but only logs the scan found free of the suite's secrets.
if [[ $status -ne 0 && $scan_clean -eq 1 ]]; then
  kept=$(mktemp -d /tmp/sdmi-test-logs-XXXXXX)
  cp -a "$SDMI_TEST_LOG_DIR"/. "$kept"/
  echo "the suite failed: its logs are kept in $kept"
fi
exit "$status"
