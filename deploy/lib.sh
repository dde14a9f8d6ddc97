# Shared helpers for the deploy/ scripts. Source it; it defines functions only.
# shellcheck shell=bash

SDMI_LOG_DIR=${SDMI_LOG_DIR:-/var/log/sdmi}

# Summary lines collected by `report`, printed by `print_summary`.
SDMI_SUMMARY=()
SDMI_FAILED=0

# report <component> <message>: one line per component, also kept for the summary.
report() {
  local component=$1
  shift
  printf '%s: %s\n' "$component" "$*"
  SDMI_SUMMARY+=("$(printf '%-12s %s' "$component" "$*")")
}

# fail <component> <message>: report a failure, remember it, keep going.
fail() {
  local component=$1
  shift
  printf '%s: FAILED: %s\n' "$component" "$*" >&2
  SDMI_SUMMARY+=("$(printf '%-12s FAILED: %s' "$component" "$*")")
  SDMI_FAILED=1
}

die() {
  printf 'setup: %s\n' "$*" >&2
  exit 1
}

print_summary() {
  printf '\n== SDMI set-up summary ==\n'
  local line
  for line in "${SDMI_SUMMARY[@]}"; do
    printf '  %s\n' "$line"
  done
  if [[ $SDMI_FAILED -ne 0 ]]; then
    printf 'Some components failed; see the messages above and the logs in %s.\n' "$SDMI_LOG_DIR"
  else
    printf 'All components are ready.\n'
  fi
}

# pkg_installed <name>: true when dpkg has the package fully installed.
pkg_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# pkg_candidate <name>: prints the apt candidate version, empty when apt knows no such package.
pkg_candidate() {
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
  if [[ -n "$candidate" && "$candidate" != "(none)" ]]; then
    printf '%s' "$candidate"
  fi
}

# tcp_banner <host> <port>: prints the first line the server sends; fails when nothing answers.
tcp_banner() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r line <&3 && printf "%s" "$line"' "$1" "$2" 2>/dev/null
}

# tcp_open <host> <port>: true when something accepts connections there.
tcp_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# wait_until <seconds> <command...>: polls every 0.2 s until the command succeeds.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.2
  done
}

# version_ge <a> <b>: true when dotted version a >= b.
version_ge() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

# pid1_is_systemd: whether services could be started through systemd at all.
pid1_is_systemd() {
  [[ "$(ps -p 1 -o comm= 2>/dev/null)" == systemd ]]
}
