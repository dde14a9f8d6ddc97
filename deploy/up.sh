#!/usr/bin/env bash
# The main job: sets the machine up (idempotent), brings the SDMI control plane up in the
# background (unless it already runs), makes this machine a node of it, and deploys the
# Milestone-1 example (TLS load balancer -> application -> PostgreSQL mesh), printing what runs
# where with its addresses and a request that went LB -> App -> DB.
# `bash deploy/up.sh down` stops the control plane again (the example's containers stay until
# `sdmi delete -f examples/milestone-1/manifest` or the next up).
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"
SDMI="$REPO_DIR/packages/cli/bin/sdmi"

if [[ ${1:-} == down ]]; then
  exec "$SDMI" down
fi
bash deploy/setup.sh

echo "== control plane"
if ! out=$("$SDMI" up --detach 2>&1); then
  if grep -q "already runs from" <<<"$out"; then
    echo "already running (stop it with: bash deploy/up.sh down)"
  else
    echo "$out" >&2
    exit 1
  fi
else
  echo "$out"
fi

echo "== this machine as a node"
node=$(hostname | tr 'A-Z' 'a-z')
"$SDMI" nodes add "$node" --register

echo "== Milestone-1 example"
pnpm -s exec tsx examples/milestone-1/src/main.ts
