#!/usr/bin/env bash
# SDMI set-up for a Debian 12 machine, run as root: installs the packages the project needs and
# starts NATS (JetStream), PostgreSQL, dockerd and Open vSwitch when they are not running yet.
# Idempotent: whatever is already installed or answering is left alone, so a second run changes
# nothing. systemd is not assumed (it is not PID 1 on the project machines): daemons are started
# directly, in the background, with their logs under /var/log/sdmi/ (or their own log files).
#
# Options (environment):
#   SDMI_SKIP_PNPM_INSTALL=1   do not run `pnpm install --frozen-lockfile`
#   SDMI_PG_PORT, SDMI_PG_CLUSTER   PostgreSQL port and cluster name (default 5432, main)
set -euo pipefail

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$DEPLOY_DIR/.." && pwd)
# shellcheck source=deploy/lib.sh
source "$DEPLOY_DIR/lib.sh"

PNPM_VERSION=10.34.8
NODE_MAJOR_MIN=20
NATS_HOST=127.0.0.1
NATS_PORT=4222
PG_HOST=127.0.0.1
PG_PORT=${SDMI_PG_PORT:-5432}
PG_CLUSTER=${SDMI_PG_CLUSTER:-main}
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl

# ethtool: veth TX checksum offload must be switched off inside namespaces attached to a
# userspace (netdev) OVS bridge, or TCP segments leave with bad checksums (ICMP still works).
# iputils-ping: tests and users ping across namespaces.
# sqlite3: PowerDNS's gsqlite3 databases (up's and the test bed's) are made from the backend's schema.
# pdns-backend-pgsql: up's PowerDNS on PostgreSQL instead (SDMI_PDNS_BACKEND=gpgsql).
# dnsdist, knot-dnsutils: DNS over TLS in front of PowerDNS (dnsdist) and its client (kdig +tls);
# openssl makes dnsdist's self-signed certificate.
# netconfd, openssh-server, openssh-client: the test bed's NETCONF server (yuma123 netconfd behind
# an sshd of its own, keys made with ssh-keygen; docs/netconf.md). Neither is started here.
APT_PACKAGES=(
  docker.io
  openvswitch-switch
  openvswitch-testcontroller
  nats-server
  postgresql
  pdns-server
  pdns-backend-sqlite3
  pdns-backend-pgsql
  sqlite3
  dnsdist
  knot-dnsutils
  openssl
  netconfd
  openssh-server
  openssh-client
  bind9-dnsutils
  debootstrap
  busybox-static
  iproute2
  iputils-ping
  ethtool
  procps
  # promtool: the metrics-collector's test checks its Prometheus endpoint's output with it (no daemon is started)
  prometheus
  # softhsm2: a PKCS#11 token in software, standing in for a hardware token in the tests of keys held
  # in a token (@sdmi/pkcs11-keys); opensc: pkcs11-tool, which makes tokens and keys in it, on
  # SoftHSM and on hardware alike (docs/security.md). No daemon.
  softhsm2
  opensc
  # build-essential, python3: node-gyp compiles pkcs11js (the PKCS#11 addon) during pnpm install
  build-essential
  python3
)

[[ $EUID -eq 0 ]] || die "run as root (sudo bash deploy/setup.sh)"
[[ -r /etc/debian_version ]] || die "this script is for Debian 12; /etc/debian_version is missing"
mkdir -p "$SDMI_LOG_DIR"
export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------------------------------------
# apt packages
# ---------------------------------------------------------------------------------------------

# Packages are installed without starting their daemons: no systemd here, and the project starts
# its own instances (PowerDNS, netconfd, sshd per test). An existing policy-rc.d is left as is.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_CREATED=0
block_service_start() {
  if [[ ! -e $POLICY_RC ]]; then
    printf '#!/bin/sh\n# temporary, written by SDMI deploy/setup.sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    POLICY_RC_CREATED=1
  fi
}
unblock_service_start() {
  if [[ $POLICY_RC_CREATED -eq 1 ]]; then
    rm -f "$POLICY_RC"
    POLICY_RC_CREATED=0
  fi
}
trap unblock_service_start EXIT

apt_install() {
  # apt_install <component> <packages...>
  local component=$1
  shift
  local missing=() pkg
  for pkg in "$@"; do
    pkg_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    report "$component" "all ${#@} packages already installed"
    return 0
  fi
  echo "$component: installing ${missing[*]}"
  apt-get update -qq
  local unknown=()
  for pkg in "${missing[@]}"; do
    [[ -n "$(pkg_candidate "$pkg")" ]] || unknown+=("$pkg")
  done
  if [[ ${#unknown[@]} -gt 0 ]]; then
    fail "$component" "apt knows no package named ${unknown[*]} (check /etc/apt/sources.list*)"
    return 1
  fi
  block_service_start
  if apt-get install -y -q --no-install-recommends "${missing[@]}" >"$SDMI_LOG_DIR/apt-install.log" 2>&1; then
    report "$component" "installed ${missing[*]}"
  else
    fail "$component" "apt-get install ${missing[*]} failed; see $SDMI_LOG_DIR/apt-install.log"
  fi
  unblock_service_start
}

apt_install apt "${APT_PACKAGES[@]}" || true

# ---------------------------------------------------------------------------------------------
# NATS with JetStream on 127.0.0.1:4222
# ---------------------------------------------------------------------------------------------

setup_nats() {
  local banner
  if banner=$(tcp_banner "$NATS_HOST" "$NATS_PORT"); then
    if [[ $banner == *'"jetstream":true'* ]]; then
      report nats "already running on $NATS_HOST:$NATS_PORT (JetStream enabled)"
    else
      fail nats "something answers on $NATS_HOST:$NATS_PORT but without JetStream; restart it with -js"
    fi
    return 0
  fi
  # The pidfile makes start-stop-daemon look at our instance only (not at any nats-server).
  mkdir -p /var/lib/nats-server /run/sdmi
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile /run/sdmi/nats-server.pid \
    --exec /usr/sbin/nats-server -- \
    -a "$NATS_HOST" -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  if wait_until 15 tcp_open "$NATS_HOST" "$NATS_PORT"; then
    report nats "started nats-server on $NATS_HOST:$NATS_PORT with JetStream (log /var/log/nats-server.log)"
  else
    fail nats "nats-server did not answer on $NATS_HOST:$NATS_PORT; see /var/log/nats-server.log"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL on 127.0.0.1:5432, user postgres, trust auth for local TCP connections
# ---------------------------------------------------------------------------------------------

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
pg_login_works() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -w -Atqc 'select 1' >/dev/null 2>&1; }
# pg_cluster_on_port: prints "<version> <cluster>" of the cluster configured for $PG_PORT.
pg_cluster_on_port() { pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }'; }

setup_postgres() {
  local version="" cluster="" action
  read -r version cluster < <(pg_cluster_on_port) || true
  if pg_answers; then
    action="already running on $PG_HOST:$PG_PORT"
  else
    if [[ -z $version ]]; then
      version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)
      [[ -n $version ]] || { fail postgres "no PostgreSQL server binaries under /usr/lib/postgresql"; return 0; }
      cluster=$PG_CLUSTER
      if ! pg_createcluster --port="$PG_PORT" "$version" "$cluster" >"$SDMI_LOG_DIR/pg_createcluster.log" 2>&1; then
        fail postgres "pg_createcluster $version $cluster failed; see $SDMI_LOG_DIR/pg_createcluster.log"
        return 0
      fi
    fi
    if ! pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >"$SDMI_LOG_DIR/postgres-start.log" 2>&1; then
      fail postgres "pg_ctlcluster $version $cluster start failed; see $SDMI_LOG_DIR/postgres-start.log"
      return 0
    fi
    if ! wait_until 30 pg_answers; then
      fail postgres "PostgreSQL $version/$cluster did not answer on $PG_HOST:$PG_PORT"
      return 0
    fi
    action="started cluster $version/$cluster on $PG_HOST:$PG_PORT"
  fi
  if pg_login_works; then
    report postgres "$action (psql -h $PG_HOST -U postgres works without password)"
    return 0
  fi
  # Password-less login fails: trust TCP connections from loopback (inserted before the
  # distribution's scram-sha-256 lines, first match wins), then reload.
  if [[ -z $version ]]; then
    fail postgres "$action, but password-less login fails and no Debian cluster is configured for port $PG_PORT"
    return 0
  fi
  local hba="/etc/postgresql/$version/$cluster/pg_hba.conf"
  if ! grep -q '^# sdmi: trust loopback' "$hba"; then
    local tmp
    tmp=$(mktemp)
    {
      echo '# sdmi: trust loopback TCP connections (written by deploy/setup.sh)'
      echo 'host    all             all             127.0.0.1/32            trust'
      echo 'host    all             all             ::1/128                 trust'
      cat "$hba"
    } >"$tmp"
    cat "$tmp" >"$hba"
    rm -f "$tmp"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload >/dev/null 2>&1 || true
  if wait_until 10 pg_login_works; then
    report postgres "$action; added trust for loopback to $hba"
  else
    fail postgres "psql -h $PG_HOST -U postgres still asks for a password; check $hba"
  fi
}

# ---------------------------------------------------------------------------------------------
# dockerd (default bridge settings) on /var/run/docker.sock
# ---------------------------------------------------------------------------------------------

docker_answers() { docker -H unix:///var/run/docker.sock version --format '{{.Server.Version}}' >/dev/null 2>&1; }

setup_docker() {
  if docker_answers; then
    report docker "already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    return 0
  fi
  # setsid: the daemon must outlive this script and its terminal.
  setsid /usr/sbin/dockerd >>"$SDMI_LOG_DIR/dockerd.log" 2>&1 </dev/null &
  if wait_until 60 docker_answers; then
    report docker "started dockerd $(docker version --format '{{.Server.Version}}' 2>/dev/null) (log $SDMI_LOG_DIR/dockerd.log)"
  else
    fail docker "dockerd did not answer on /var/run/docker.sock; see $SDMI_LOG_DIR/dockerd.log"
  fi
}

# ---------------------------------------------------------------------------------------------
# Open vSwitch: ovsdb-server + ovs-vswitchd (userspace datapath; no kernel module here)
# ---------------------------------------------------------------------------------------------

ovsdb_answers() { ovs-vsctl --timeout=3 show >/dev/null 2>&1; }
vswitchd_answers() { ovs-appctl --timeout=3 -t ovs-vswitchd version >/dev/null 2>&1; }

setup_ovs() {
  if ovsdb_answers && vswitchd_answers; then
    report ovs "already running ($(ovs-vsctl --timeout=3 get Open_vSwitch . ovs_version | tr -d '"'))"
    return 0
  fi
  # ovs-ctl creates /etc/openvswitch/conf.db when missing, starts only the daemons that are not
  # running, and skips the kernel module when the kernel has no module support. Its complaint
  # about `ulimit` (not permitted here) is harmless.
  if "$OVS_CTL" --system-id=random start >"$SDMI_LOG_DIR/ovs-ctl.log" 2>&1 && wait_until 15 vswitchd_answers; then
    report ovs "started ovsdb-server and ovs-vswitchd via ovs-ctl (logs /var/log/openvswitch/)"
    return 0
  fi
  # Fallback: start the binaries directly.
  mkdir -p /var/run/openvswitch /var/log/openvswitch
  local db=/etc/openvswitch/conf.db
  if [[ ! -e $db ]]; then
    mkdir -p "$(dirname "$(readlink -f "$db")")"
    ovsdb-tool create "$db" /usr/share/openvswitch/vswitch.ovsschema
  fi
  ovsdb_answers || ovsdb-server "$db" --remote=punix:/var/run/openvswitch/db.sock \
    --pidfile --detach --log-file >>"$SDMI_LOG_DIR/ovs-ctl.log" 2>&1
  ovs-vsctl --timeout=5 --no-wait init || true
  vswitchd_answers || ovs-vswitchd --pidfile --detach --log-file >>"$SDMI_LOG_DIR/ovs-ctl.log" 2>&1
  if wait_until 15 vswitchd_answers; then
    report ovs "started ovsdb-server and ovs-vswitchd directly (logs /var/log/openvswitch/)"
  else
    fail ovs "ovs-vswitchd did not start; see $SDMI_LOG_DIR/ovs-ctl.log and /var/log/openvswitch/"
  fi
}

setup_installed_only() {
  local what
  for what in pdns_server:pdns-server dnsdist:dnsdist netconfd:netconfd sshd:openssh-server; do
    if [[ ${what%%:*} == pdns_server || ${what%%:*} == dnsdist ]] && pkg_installed "${what#*:}"; then
      report "${what%%:*}" "installed (not started here: sdmi up starts its own, tests theirs)"
    elif pkg_installed "${what#*:}"; then
      report "${what%%:*}" "installed (not started: tests start their own instances)"
    else
      fail "${what%%:*}" "package ${what#*:} is not installed"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Node.js >= 20, pnpm, workspace dependencies
# ---------------------------------------------------------------------------------------------

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null; }

setup_node() {
  local major
  major=$(node_major || true)
  if [[ -n $major && $major -ge $NODE_MAJOR_MIN ]]; then
    report node "already installed ($(node --version))"
  else
    pkg_installed nodejs && pkg_installed npm || apt_install node-apt nodejs npm || true
    major=$(node_major || true)
    if [[ -z $major || $major -lt $NODE_MAJOR_MIN ]]; then
      # Debian 12 ships Node 18. The `node` package on the npm registry carries the official
      # binaries; installed under /usr/local it comes first on PATH.
      npm install -g --prefix /usr/local "node@$NODE_MAJOR_MIN" >"$SDMI_LOG_DIR/npm-node.log" 2>&1 || true
      hash -r
      major=$(node_major || true)
    fi
    if [[ -n $major && $major -ge $NODE_MAJOR_MIN ]]; then
      report node "installed $(node --version)"
    else
      fail node "need Node.js >= $NODE_MAJOR_MIN, have $(node --version 2>/dev/null || echo none)"
      return 0
    fi
  fi

  local have
  have=$(pnpm --version 2>/dev/null || true)
  if [[ $have == "$PNPM_VERSION" ]]; then
    report pnpm "already installed ($PNPM_VERSION)"
  elif npm install -g "pnpm@$PNPM_VERSION" >"$SDMI_LOG_DIR/npm-pnpm.log" 2>&1; then
    hash -r
    report pnpm "installed $PNPM_VERSION (was ${have:-none})"
  else
    fail pnpm "npm install -g pnpm@$PNPM_VERSION failed; see $SDMI_LOG_DIR/npm-pnpm.log"
    return 0
  fi

  # node-gyp builds pkcs11js against the running Node's headers: those installed beside it when
  # there are (official binaries and distribution packages carry them), else it downloads them.
  local node_prefix
  node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
  if [[ -r $node_prefix/include/node/node_version.h ]]; then export npm_config_nodedir=$node_prefix; fi

  if [[ ${SDMI_SKIP_PNPM_INSTALL:-0} == 1 ]]; then
    report workspace "pnpm install skipped (SDMI_SKIP_PNPM_INSTALL=1)"
  elif (cd "$REPO_DIR" && pnpm install --frozen-lockfile) >"$SDMI_LOG_DIR/pnpm-install.log" 2>&1; then
    if grep -q 'Already up to date' "$SDMI_LOG_DIR/pnpm-install.log"; then
      report workspace "dependencies already up to date ($REPO_DIR)"
    else
      report workspace "pnpm install --frozen-lockfile done ($REPO_DIR)"
    fi
  else
    fail workspace "pnpm install --frozen-lockfile failed; see $SDMI_LOG_DIR/pnpm-install.log"
    return 0
  fi
  # pkcs11js is an optional dependency: pnpm carries on when its build fails, the tests of token keys would not.
  if [[ ${SDMI_SKIP_PNPM_INSTALL:-0} != 1 ]]; then
    if (cd "$REPO_DIR/packages/pkcs11-keys" && node -e 'require("pkcs11js")') >/dev/null 2>&1; then
      report pkcs11js "native addon built (PKCS#11 token keys usable)"
    else
      fail pkcs11js "the pkcs11js addon was not built (needs build-essential, python3); see $SDMI_LOG_DIR/pnpm-install.log"
    fi
  fi
}

if pid1_is_systemd; then
  echo "note: systemd is PID 1; this script still starts the daemons directly when they are not running"
fi

setup_nats
setup_postgres
setup_docker
setup_ovs
setup_installed_only
setup_node

print_summary
exit "$SDMI_FAILED"
