# Shared by the secpold end-to-end tests: hosts as network namespaces,
# secpold instances, captures, checks. Everything made here is removed by
# e2e_cleanup (namespaces by name, processes by PID).
#
# The caller sets: SECPOL SECPOLD (binaries), and sources this file.

E2E_NS=()
E2E_PIDS=()
E2E_T=$(mktemp -d "${TMPDIR:-/tmp}/secpol-e2e.XXXXXX")
BYPASS_MARK=0x53500002
pass=0
fail=0

e2e_cleanup() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${E2E_PIDS[@]}"; do
		# bounded: 50 x 0.1 s, then KILL
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in "${E2E_NS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	[ -n "${E2E_KEEP:-}" ] || rm -rf "$E2E_T"
}
trap e2e_cleanup EXIT
trap 'exit 1' INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() {   # check "what" command...: must succeed
	local what=$1
	shift
	if "$@" >"$E2E_T/out" 2>&1; then ok; else bad "$what"; sed 's/^/    /' "$E2E_T/out" | head -20 >&2; fi
}
refute() {  # refute "what" command...: must fail
	local what=$1
	shift
	if "$@" >"$E2E_T/out" 2>&1; then bad "$what (it succeeded)"; else ok; fi
}
expect_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$3', got '$2'"; fi; }
expect_ge() { if [ "$2" -ge "$3" ] 2>/dev/null; then ok; else bad "$1: expected >= $3, got '$2'"; fi; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# new_ns NAME: a namespace with loopback up.
new_ns() {
	ip netns add "$1" || exit 1
	E2E_NS+=("$1")
	in_ns "$1" ip link set lo up
	in_ns "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# e2e_require TOOL...: exit 77 (skipped) unless root, 1 if a tool is missing.
e2e_require() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root (network namespaces, TUN, nftables)"
		exit 77
	fi
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "FAIL: $c is not installed"; exit 1; }
	done
}

# two_hosts A B: two namespaces on one veth link, A 192.0.2.1 (va) and
# B 192.0.2.2 (vb).
two_hosts() {
	new_ns "$1"
	new_ns "$2"
	link "$1" va "$2" vb
	addr "$1" va 192.0.2.1/24
	addr "$2" vb 192.0.2.2/24
}

# link NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || exit 1
	in_ns "$1" ip link set "$2" up
	in_ns "$3" ip link set "$4" up
}

addr() { in_ns "$1" ip addr add "$3" dev "$2" nodad 2>/dev/null || in_ns "$1" ip addr add "$3" dev "$2"; }

# host_dir NS: the directory of one host's store, control socket and log.
host_dir() { echo "$E2E_T/$1"; }

sp() {      # sp NS args...: secpol against that host's store and daemon
	local ns=$1 d
	shift
	d=$(host_dir "$ns")
	in_ns "$ns" timeout 20 "$SECPOL" --store "$d/policy.db" --control "$d/ctl" "$@"
}

# policy NS <<script: writes the host's policy store with a netsh script.
policy() {
	local d
	d=$(host_dir "$1")
	mkdir -p "$d"
	in_ns "$1" timeout 20 "$SECPOL" --store "$d/policy.db" -e -f - >"$d/policy.out" 2>&1 ||
		{ bad "policy script for $1"; cat "$d/policy.out" >&2; }
}

# start_secpold NS [secpold options...]: starts secpold in the namespace and
# waits until it is ready (its control socket answers `show stats`, so
# steering is in force).
start_secpold() {
	local ns=$1 d
	shift
	d=$(host_dir "$ns")
	mkdir -p "$d"
	# Not through in_ns: $! must be secpold itself, not a subshell.
	ip netns exec "$ns" "$SECPOLD" --foreground --store "$d/policy.db" --control "$d/ctl" \
		--state-dir "$d" --log-level debug "$@" 2>>"$d/secpold.log" &
	local pid=$!
	E2E_PIDS+=("$pid")
	echo "$pid" >"$d/pid"
	for _ in $(seq 100); do
		if sp "$ns" dynamic show stats type=ipsec >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "secpold in $ns did not become ready"
	sed 's/^/    /' "$d/secpold.log" >&2
	return 1
}

# stop_secpold NS: SIGTERM, and wait (bounded) for it to exit; returns its status.
stop_secpold() {
	local d pid
	d=$(host_dir "$1")
	pid=$(cat "$d/pid")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"
}

# stat NS "Label": one counter of `secpol dynamic show stats`.
stat() {
	sp "$1" dynamic show stats | awk -F': ' -v l="$2" '{ k = $1; sub(/ +$/, "", k) } k == l { print $2; exit }'
}

# capture_start NS IF NAME / capture_stop NAME: dumpcap on an interface.
capture_start() {
	local f="$E2E_T/$3.pcap"
	# Not through in_ns: $! must be dumpcap itself, not a subshell.
	ip netns exec "$1" dumpcap -q -P -i "$2" -w "$f" 2>"$E2E_T/$3.dumpcap" &
	echo $! >"$E2E_T/$3.cappid"
	E2E_PIDS+=("$!")
	for _ in $(seq 50); do
		grep -q "Capturing on" "$E2E_T/$3.dumpcap" 2>/dev/null && [ -s "$f" ] && return 0
		sleep 0.1
	done
	bad "dumpcap on $1/$2 did not start"
}
capture_stop() {
	local pid
	pid=$(cat "$E2E_T/$1.cappid")
	sleep 0.3   # let the last packets reach the file
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
pcap() { echo "$E2E_T/$1.pcap"; }

# shark PCAP [tshark args]: tshark with the ESP SAs in $ESP_SAS decrypted.
shark() {
	local f=$1
	shift
	local args=(-o esp.enable_encryption_decode:TRUE)
	local sa
	for sa in "${ESP_SAS[@]}"; do
		args+=(-o "uat:esp_sa:$sa")
	done
	tshark -n -r "$f" "${args[@]}" "$@" 2>/dev/null
}

# tcp_4k FROM_NS TO_NS TO_IP PORT: a connection and 4 KiB from one host to a
# listener on the other; 0 if all of it arrived (bounded: 15 s).
tcp_4k() { tcp_bytes "$@" 4096; }

# tcp_bytes FROM_NS TO_NS TO_IP PORT BYTES: the same with BYTES (bounded: 30 s).
tcp_bytes() {
	local from=$1 to=$2 ip=$3 port=$4 n=$5
	in_ns "$to" timeout 35 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(15)
c, _ = s.accept(); c.settimeout(10); n = 0
while n < int(sys.argv[3]):
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(n)' "$ip" "$port" "$n" >"$E2E_T/tcp.$port" 2>/dev/null &
	local srv=$!
	sleep 0.3
	in_ns "$from" timeout 30 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=8)
s.sendall(bytes(int(sys.argv[3]))); s.close()' "$ip" "$port" "$n" >/dev/null 2>&1
	local rc=$?
	wait "$srv" 2>/dev/null
	[ $rc -eq 0 ] && [ "$(cat "$E2E_T/tcp.$port" 2>/dev/null)" = "$n" ]
}
