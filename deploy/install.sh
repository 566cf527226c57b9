#!/usr/bin/env bash
# Installs the netverify agent on a Debian/Ubuntu host: a venv in /opt/netverify/venv, the
# configuration /etc/netverify/config.toml (validated before it is written), and the systemd
# units (hardened; see systemd/), enabled and started.
#
#   install.sh --workspace <workspace ARM id> [--workspace ...] [options]
#
#   --source SPEC      what pip installs: a wheel file or URL, a package name on your index
#                      (default: the netverify checkout this script sits in)
#   --cloud NAME       AzureCloud (default) | AzureChinaCloud | AzureUSGovernment
#   --client-id ID     client id of the VM's user-assigned managed identity
#   --agent-name NAME  the agent's name in findings (default: the host name)
#   --vnet-id ID       ARM id of the VNet the agent runs in (carried in every finding)
#   --jsonl PATH       also append findings as JSON lines to PATH (for a log shipper)
#   --mode MODE        timer (default): netverify.timer runs `netverify run` every 15 minutes;
#                      daemon: netverify.service runs `netverify serve`
#   --pip-args ARGS    extra pip arguments, e.g. "--index-url https://mirror.example/simple"
#   --keep-config      keep an existing /etc/netverify/config.toml (upgrades)
#
# DESTDIR=/some/dir installs into that throwaway root instead of /: nothing is started and the
# units are enabled with `systemctl --root`. The venv's scripts then point into DESTDIR (a venv
# cannot be moved), so a DESTDIR tree is for inspection and tests, not for copying to a host.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_spec="$here/.."
cloud="AzureCloud"
mode="timer"
pip_args=""
keep_config=0
init_args=()

die() { echo "install.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source) source_spec="$2"; shift 2 ;;
    --cloud) cloud="$2"; shift 2 ;;
    --workspace) init_args+=(--workspace "$2"); shift 2 ;;
    --client-id) [[ -z "$2" ]] || init_args+=(--client-id "$2"); shift 2 ;;
    --agent-name) [[ -z "$2" ]] || init_args+=(--agent-name "$2"); shift 2 ;;
    --vnet-id) [[ -z "$2" ]] || init_args+=(--vnet-id "$2"); shift 2 ;;
    --jsonl) init_args+=(--jsonl "$2"); shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --pip-args) pip_args="$2"; shift 2 ;;
    --keep-config) keep_config=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
case "$mode" in
  timer) units_to_enable=(netverify.timer) ;;
  daemon) units_to_enable=(netverify.service) ;;
  *) die "--mode must be timer or daemon, not '$mode'" ;;
esac

root="${DESTDIR:-}"
venv="$root/opt/netverify/venv"
config="$root/etc/netverify/config.toml"
unit_dir="$root/etc/systemd/system"

echo "netverify: installing into $venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
# shellcheck disable=SC2086  # pip_args is a list of words on purpose
"$venv/bin/python" -m pip install --quiet --upgrade $pip_args "$source_spec"

if [[ $keep_config -eq 1 && -f "$config" ]]; then
  echo "netverify: keeping $config"
  "$venv/bin/netverify" config check "$config"
else
  echo "netverify: writing $config"
  "$venv/bin/netverify" config init --cloud "$cloud" "${init_args[@]}" --output "$config"
fi

# The units ship inside the package (netverify/systemd), so a wheel alone is enough.
units="$("$venv/bin/python" -I -c 'from importlib.resources import files; print(files("netverify") / "systemd")')"
install -d -m 0755 "$unit_dir"
install -m 0644 "$units"/netverify.service "$units"/netverify-run.service "$units"/netverify.timer "$unit_dir/"

if [[ -n "$root" ]]; then
  systemctl --root="$root" enable "${units_to_enable[@]}"
  echo "netverify: installed into $root (nothing started)"
else
  systemctl daemon-reload
  systemctl enable --now "${units_to_enable[@]}"
  echo "netverify: ${units_to_enable[*]} enabled and started; checking the host:"
  "$venv/bin/netverify" doctor --config "$config" || true
fi
