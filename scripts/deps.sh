#!/usr/bin/env bash
# Installs the Debian 12 packages secpol builds and tests with (as root).
# Only what is missing is installed, so a second run costs nothing.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev libnftables-dev libmnl-dev nftables iproute2 iputils-ping iperf3
      libsqlite3-dev libssl-dev libedit-dev libcmocka-dev sqlite3 tmux
      tshark python3)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
