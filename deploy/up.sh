#!/usr/bin/env bash
# The main job: sets the machine up (idempotent), gives the cluster's bus its credentials and a
# nats-server of its own that enforces them, brings the SDMI control plane up in the background
# (unless it already runs; each service as its own principal, access control on), makes this
# machine a node of it, and deploys the Milestone-1 example (TLS load balancer -> application ->
# PostgreSQL mesh) as admin, printing what runs where with its addresses and a request that went
# LB -> App -> DB.
# `bash deploy/up.sh down` stops the control plane and the cluster's nats-server again (the
# example's containers stay until `sdmi delete -f examples/milestone-1/manifest` or the next up).
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"
# shellcheck source=deploy/lib.sh
source "$REPO_DIR/deploy/lib.sh"
SDMI="$REPO_DIR/packages/cli/bin/sdmi"
RUN_DIR="$REPO_DIR/.sdmi"
AUTH_DIR="$RUN_DIR/auth"
# The machine's own NATS (4222, no auth) stays as it is; the cluster's bus is a server of its own.
BUS_PORT="${SDMI_BUS_PORT:-4223}"
BUS_PID="$RUN_DIR/nats/nats-server.pid"
BUS_LOG="$RUN_DIR/logs/nats-server.log"

stop_bus() {
  if [[ -f "$BUS_PID" ]] && start-stop-daemon --stop --quiet --oknodo --retry TERM/10/KILL/5 --pidfile "$BUS_PID" --exec /usr/sbin/nats-server; then
    rm -f "$BUS_PID"
    echo "nats-server (cluster bus on 127.0.0.1:$BUS_PORT) stopped"
  fi
}

if [[ ${1:-} == down ]]; then
  "$SDMI" down
  stop_bus
  exit 0
fi
bash deploy/setup.sh

echo "== bus credentials"
node=$(hostname | tr 'A-Z' 'a-z')
# Keeps existing seeds; rewrites the server config and principals.json (public keys only).
pnpm -s exec tsx packages/bus-auth/src/cli.ts generate --dir "$AUTH_DIR" --prefix sdmi --nodes "$node" \
  --host 127.0.0.1 --port "$BUS_PORT" --store-dir "$RUN_DIR/nats/jetstream" >/dev/null
echo "one nkey per principal in $AUTH_DIR (seeds 0600), principals.json, nats-server.conf"
mkdir -p "$RUN_DIR/nats" "$RUN_DIR/logs"
if tcp_open 127.0.0.1 "$BUS_PORT"; then
  echo "nats-server already answers on 127.0.0.1:$BUS_PORT"
else
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$BUS_PID" \
    --exec /usr/sbin/nats-server -- -c "$AUTH_DIR/nats-server.conf" -l "$BUS_LOG"
  if ! wait_until 15 tcp_open 127.0.0.1 "$BUS_PORT"; then
    echo "nats-server did not answer on 127.0.0.1:$BUS_PORT; see $BUS_LOG" >&2
    exit 1
  fi
  echo "nats-server started on 127.0.0.1:$BUS_PORT with the cluster's permissions (log $BUS_LOG)"
fi
# Everything below (up, the CLI, the example's SDK program) talks to the cluster as admin.
export SDMI_NATS_URL="nats://127.0.0.1:$BUS_PORT"
export SDMI_NATS_NKEY_SEED_FILE="$AUTH_DIR/admin.nk"
cat >"$RUN_DIR/env" <<ENV
# source this file to use sdmi as the cluster's admin (written by deploy/up.sh)
export SDMI_NATS_URL=$SDMI_NATS_URL
export SDMI_NATS_NKEY_SEED_FILE=$SDMI_NATS_NKEY_SEED_FILE
ENV

echo "== control plane"
if ! out=$("$SDMI" up --detach --credentials-dir "$AUTH_DIR" 2>&1); then
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
"$SDMI" nodes add "$node" --register

echo "== Milestone-1 example"
pnpm -s exec tsx examples/milestone-1/src/main.ts
echo
echo "sdmi as admin: source $RUN_DIR/env"
