#!/usr/bin/env bash
# The main job: sets the machine up (idempotent), then brings the SDMI control plane up in the
# background and prints what runs. `bash deploy/up.sh down` stops it again.
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"

if [[ ${1:-} == down ]]; then
  exec pnpm -s exec tsx packages/controlplane/src/down.ts
fi
bash deploy/setup.sh
echo "== control plane"
pnpm -s exec tsx packages/controlplane/src/up.ts --detach
