#!/usr/bin/env bash
# The driver's receive worker: ESP packets that arrive before their SA is
# installed (the peer's first packets on a rekeyed SA) are held, and what
# an SA decrypts must be its negotiated traffic: rx_tool runs the checks inside a network namespace of this test's own (deleted on exit),
# with 192.0.2.1 on a veth device and the driver's TUN device.
#
# usage: rx_netns_test.sh <rx_tool>      exit 77 (skip) when not root
set -u
TOOL=$1
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: driver_rx_netns needs root (a network namespace, a TUN device)"
	exit 77
fi
NS=drvrx.$$
cleanup() { ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" link add d0 type veth peer name d1
ip -n "$NS" addr add 192.0.2.1/24 dev d0
ip -n "$NS" link set d0 up
ip -n "$NS" link set d1 up
# The decrypted datagrams come in on the TUN device from 192.0.2.2, which
# the routes put behind d0: no reverse-path filter.
for c in all default; do
	ip netns exec "$NS" sysctl -qw "net.ipv4.conf.$c.rp_filter=0"
done
timeout 30 ip netns exec "$NS" "$TOOL"
