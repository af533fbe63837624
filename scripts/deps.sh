#!/usr/bin/env bash
# Installs the Debian 12 packages secpol builds and tests with (as root).
# Only what is missing is installed, so a second run costs nothing.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev libnftables-dev libmnl-dev nftables iproute2 iputils-ping iperf3
      libsqlite3-dev libssl-dev libedit-dev libcmocka-dev sqlite3 tmux
      tshark python3 openssl curl jq
      # the interoperability lab (tests/ike/swan.sh): strongSwan's charon, swanctl,
      # kernel-libipsec (userspace ESP) and the openssl/curve25519/... plugins
      strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# No package may start a service while it installs (strongswan-starter
	# would start a charon holding UDP 500/4500 in the root namespace): a
	# policy-rc.d that says no, unless the machine already has one.
	rcd=/usr/sbin/policy-rc.d
	if [ ! -e "$rcd" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$rcd"
		chmod 755 "$rcd"
		trap 'rm -f "$rcd"' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# strongswan-starter (pulled in by strongswan-charon) enables a system charon
# at boot (strongswan-starter.service, alias ipsec.service; /etc/init.d/ipsec).
# The tests run their own charons in namespaces: keep the system one disabled,
# and stopped where systemd runs it. Idempotent; harmless without systemd
# (policy-rc.d kept the install from starting anything there).
if [ -e /lib/systemd/system/strongswan-starter.service ] && command -v systemctl >/dev/null; then
	if [ -d /run/systemd/system ]; then
		systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true
	else
		systemctl disable strongswan-starter.service >/dev/null 2>&1 || true
	fi
fi
if [ -e /etc/init.d/ipsec ] && command -v update-rc.d >/dev/null; then
	update-rc.d ipsec disable >/dev/null 2>&1 || true
fi
