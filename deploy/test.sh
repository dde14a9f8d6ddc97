#!/usr/bin/env bash
# The whole test suite: sets the machine up (idempotent), checks types and generated contracts,
# then runs every test against the real components. Prints one closing line
# "vitest: N passed, N failed, N skipped" and exits non-zero if anything failed.
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
trap 'rm -f "$report"' EXIT
status=0
pnpm -s vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
exit "$status"
