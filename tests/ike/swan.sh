# shellcheck shell=bash
# swan.sh: the strongSwan side of secpol's interoperability lab. Source it from
# a bash test; it runs one charon (strongSwan 5.9.8, kernel-libipsec: userspace
# ESP-in-UDP over a TUN device `ipsec0`) per network namespace, each instance in
# a directory of its own (config, VICI socket, log, PID), and never touches /etc.
# See ../shared/design/interop-lab.md (beside the repository) for the
# facts this is built on.
#
# Usage from a test (namespaces and veths from tests/agent/lib.sh; see
# tests/ike/swan_selftest.sh for a whole one):
#
#   . tests/agent/lib.sh                # new_ns, link, addr, check, capture_*, ...
#   . tests/ike/swan.sh
#   trap 'swan_cleanup; e2e_cleanup' EXIT   # swan_cleanup FIRST: e2e_cleanup's bare
#                                       # `wait` would wait for the charons forever
#   swan_tmpdir T                       # T=/tmp/swan-XXXXXX, removed by swan_cleanup
#   swan_start "$NS" "$T/sw" || exit 1  # charon inside $NS, ready to take swanctl
#   swan_conf "$T/sw/swanctl.conf" name=t local=192.0.2.2 remote=192.0.2.1 \
#             auth=psk psk=secret local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24
#   swan_load "$T/sw" "$T/sw/swanctl.conf"
#   swan_initiate "$T/sw" t 15          # strongSwan initiates: 0 once the Child SA is in,
#   swan_wait_child "$T/sw" t 15        # ... or the peer initiates and strongSwan waits
#   swan_assert_ike "$T/sw" t AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519
#   swan_assert_child "$T/sw" t TUNNEL-in-UDP ESP:AES_GCM_16-128
#   swan_stop "$T/sw"                   # or leave it to swan_cleanup
#
# Functions (each returns non-zero and says why on stderr when it fails):
#   swan_available                 strongSwan, its plugins, openssl and /dev/net/tun are here
#   swan_tmpdir VAR                a /tmp/swan-XXXXXX directory into VAR, removed at cleanup
#   swan_register DIR              have swan_cleanup remove DIR too (/tmp/swan-* only)
#   swan_write_strongswan_conf DIR DIR/strongswan.conf from the knobs below
#   swan_start NS DIR              charon in NS, PID in DIR/charon.pid, ready (bounded wait)
#   swan_pid DIR                   that PID
#   swan_stop DIR                  TERM by PID, bounded wait, KILL; idempotent
#   swan_cleanup                   stop every charon started here, remove the tmp dirs
#   swanctl_in DIR ARGS...         swanctl against that instance (bounded)
#   swan_conf FILE key=value...    write a swanctl.conf: one connection, its secret / CA
#   swan_conf_add FILE key=value...  append another connection to FILE
#   swan_load DIR FILE             swanctl --load-all --clear --file FILE
#   swan_initiate DIR CHILD [T]    initiate, 0 once the Child SA is installed (T s, 15)
#   swan_terminate DIR IKE [T]     close the IKE SA named IKE
#   swan_list_sas DIR [OPTS]       raw `swanctl --list-sas` (e.g. --raw)
#   swan_ike_block DIR IKE         the --list-sas lines of the IKE SA named IKE
#   swan_child_block DIR CHILD     the --list-sas lines of the Child SA named CHILD
#   swan_assert_ike DIR IKE [S...] it is ESTABLISHED and its lines show every string S
#   swan_assert_child DIR CHILD [S...]  it is INSTALLED and its lines show every S
#   swan_wait_ike DIR IKE [T]      wait (bounded) for IKE to be ESTABLISHED
#   swan_wait_child DIR CHILD [T]  wait (bounded) for CHILD to be INSTALLED
#   swan_count_ike DIR             how many IKE SAs (any state) the instance holds
#   swan_spis DIR CHILD            "SPI_IN SPI_OUT" in hex
#   swan_child_counter DIR CHILD F bytes-in / packets-in / bytes-out / packets-out ...
#   swan_counter DIR KEY [CONN]    one of `swanctl --counters` (ike-init-in-req, invalid, ...)
#   swan_log DIR                   the path of the instance's charon log
#   swan_pki_ca DIR [rsa|ecdsa] [CN]  a test root CA: DIR/ca.pem ca.der ca.key (PKCS#8)
#   swan_pki_host DIR NAME IP...   a host cert from it: DIR/NAME.pem .der .key .p12
#
# Certificates: swan_pki_ca "$P" ecdsa; swan_pki_host "$P" b 192.0.2.2 (CN=b,
# SANs DNS:b IP:192.0.2.2; .p12 holds key, cert and CA with password
# $SWAN_P12_PASS, default "secpol", OpenSSL 3's default AES-256-CBC/PBKDF2);
# then swan_conf ... auth=pubkey cert="$P/b.pem" key="$P/b.key" ca="$P/ca.pem".
# Identities default to the IP addresses (in the SAN, so the cert vouches for
# them); local_id="C=US, O=secpol test, CN=b" / remote_id=%any work as well.
#
# What strongSwan 5.9.8 does here (found while building this):
# - kernel-libipsec forces UDP encapsulation: even with encap=no both ends
#   fake NAT (NAT-D), float IKE to 4500 after IKE_SA_INIT and send ESP in UDP
#   4500 ("TUNNEL-in-UDP"). encap=yes is the honest default.
# - --list-sas: "t: #1, ESTABLISHED, IKEv2, <spi>_i* <spi>_r" (the * marks the
#   local side), "  AES_GCM_16-128/PRF_HMAC_SHA2_256/CURVE_25519", "  t: #1,
#   reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128", "    in  <spi>,
#   252 bytes,     3 packets". CBC: "AES_CBC-256/HMAC_SHA2_256_128/
#   PRF_HMAC_SHA2_256/MODP_2048", ESP "ESP:AES_CBC-256/HMAC_SHA2_256_128".
# - With an RSA-2048 certificate the IKE_AUTH message (1432 bytes) exceeds
#   charon's fragment_size (1280): it is sent as two IKEv2 fragments (RFC 7383,
#   "EF(1/2)") when the peer announced FRAGMENTATION_SUPPORTED; fragmentation=no
#   on the strongSwan end avoids that. ECDSA and PSK fit one message.
# - Log lines to assert on: "authentication of '192.0.2.1' with pre-shared key
#   successful", "... with ECDSA_WITH_SHA256_DER successful", "... with
#   RSA_EMSA_PKCS1_SHA2_256 successful".
# - swanctl loads private keys only from the private/ folder beside the
#   --file (secrets.private* only hold passphrases); swan_conf copies the key.
# - Per-connection counters (--counters --name) count only once the config is
#   known: a responder's ike-auth-in-req for it stays 0, ike-auth-out-resp counts.
#
# Knobs read by swan_start (environment or shell variables, with defaults):
#   SWAN_RETRANSMIT_TIMEOUT (4.0)  SWAN_RETRANSMIT_TRIES (5)  SWAN_RETRANSMIT_BASE (1.8)
#   SWAN_RETRANSMIT_JITTER (0)     SWAN_RETRANSMIT_LIMIT (0 = none)
#   SWAN_COOKIE_THRESHOLD (30)     SWAN_COOKIE_THRESHOLD_IP (3)  SWAN_BLOCK_THRESHOLD (5)
#   SWAN_INIT_LIMIT_HALF_OPEN (0 = none)   SWAN_REUSE_IKESA (yes)  SWAN_THREADS (16)
#   SWAN_LOG_DEFAULT (1) SWAN_LOG_IKE (2) SWAN_LOG_LEVELS (more "subsys = level" lines,
#   e.g. "knl = 2 net = 2 enc = 2")   SWAN_PLUGINS (the load list, openssl first)
#   SWAN_CHARON_EXTRA (raw strongswan.conf text placed inside charon { })
#   SWAN_START_TIMEOUT (10 s)  SWAN_SWANCTL_TIMEOUT (30 s, outer bound on each swanctl)
#
# Every wait is bounded; swan_cleanup stops every charon started here by its
# PID (TERM, bounded wait, KILL) and removes the swan_tmpdir directories (not
# with SWAN_KEEP=1, to look at the logs afterwards); it is safe to call twice.

# sourced twice: keep the first time's bookkeeping
[ -z "${_SWAN_SH_LOADED:-}" ] || return 0
_SWAN_SH_LOADED=1

SWAN_CHARON=${SWAN_CHARON:-/usr/lib/ipsec/charon}
SWAN_P12_PASS=${SWAN_P12_PASS:-secpol}
SWAN_DEFAULT_PLUGINS="random nonce openssl aes gcm chapoly sha1 sha2 hmac kdf curve25519 gmp pem pkcs1 pkcs8 pkcs12 pubkey x509 revocation constraints kernel-libipsec kernel-netlink socket-default vici updown counters"
SWAN_INSTANCES=()   # instance directories started by swan_start
SWAN_PIDS=()        # and their charons' PIDs (cleanup does not rely on the files)
SWAN_TMPDIRS=()     # directories made by swan_tmpdir

# swan_tmpdir VAR: makes a /tmp/swan-XXXXXX directory, stores its path in VAR
# and has swan_cleanup remove it (not through $(...): it registers in this shell).
swan_tmpdir() {
	local _swan_d
	_swan_d=$(mktemp -d "${TMPDIR:-/tmp}/swan-XXXXXX") || return 1
	SWAN_TMPDIRS+=("$_swan_d")
	printf -v "$1" '%s' "$_swan_d"
}

_swan_abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# swan_available: 0 if charon, swanctl, the plugins used here and openssl are installed.
swan_available() {
	[ -x "$SWAN_CHARON" ] && command -v swanctl >/dev/null && command -v openssl >/dev/null &&
		[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] &&
		[ -e /usr/lib/ipsec/plugins/libstrongswan-curve25519.so ] && [ -e /dev/net/tun ]
}

# swan_write_strongswan_conf DIR: DIR/strongswan.conf for one instance (the knobs above).
swan_write_strongswan_conf() {
	local d
	d=$(_swan_abs "$1")
	mkdir -p "$d" || return 1
	cat >"$d/strongswan.conf" <<EOF
# written by tests/ike/swan.sh for the instance in $d
charon {
	load_modular = no
	load = ${SWAN_PLUGINS:-$SWAN_DEFAULT_PLUGINS}
	threads = ${SWAN_THREADS:-16}
	port = 500
	port_nat_t = 4500
	retransmit_timeout = ${SWAN_RETRANSMIT_TIMEOUT:-4.0}
	retransmit_tries = ${SWAN_RETRANSMIT_TRIES:-5}
	retransmit_base = ${SWAN_RETRANSMIT_BASE:-1.8}
	retransmit_jitter = ${SWAN_RETRANSMIT_JITTER:-0}
	retransmit_limit = ${SWAN_RETRANSMIT_LIMIT:-0}
	cookie_threshold = ${SWAN_COOKIE_THRESHOLD:-30}
	cookie_threshold_ip = ${SWAN_COOKIE_THRESHOLD_IP:-3}
	block_threshold = ${SWAN_BLOCK_THRESHOLD:-5}
	init_limit_half_open = ${SWAN_INIT_LIMIT_HALF_OPEN:-0}
	reuse_ikesa = ${SWAN_REUSE_IKESA:-yes}
	make_before_break = yes
	install_routes = yes
	install_virtual_ip = no
	plugins {
		vici {
			socket = unix://$d/charon.vici
		}
	}
	syslog {
		daemon {
			default = -1
		}
	}
	filelog {
		swan {
			path = $d/charon.log
			append = no
			flush_line = yes
			time_format = %H:%M:%S
			ike_name = yes
			default = ${SWAN_LOG_DEFAULT:-1}
			ike = ${SWAN_LOG_IKE:-2}
			${SWAN_LOG_LEVELS:-}
		}
	}
	${SWAN_CHARON_EXTRA:-}
}
swanctl {
	socket = unix://$d/charon.vici
}
EOF
}

# swan_start NS DIR: writes DIR/strongswan.conf, starts charon in namespace NS
# (own mount namespace with a tmpfs on /run, so instances do not share
# /run/charon.pid), records its PID in DIR/charon.pid and waits (bounded) until
# `swanctl --stats` answers on DIR/charon.vici.
swan_start() {
	local ns=$1 d pid i
	d=$(_swan_abs "$2")
	if [ -s "$d/charon.pid" ] && _swan_alive "$(cat "$d/charon.pid")"; then
		echo "swan_start: an instance already runs in $d" >&2
		return 1
	fi
	swan_write_strongswan_conf "$d" || return 1
	rm -f "$d/charon.vici" "$d/charon.pid"
	# Not through a function or subshell: $! must be charon itself. Each step
	# (ip netns exec, env, unshare, sh) execs in place.
	# shellcheck disable=SC2016
	ip netns exec "$ns" env STRONGSWAN_CONF="$d/strongswan.conf" \
		unshare -m --propagation private \
		sh -c 'mount -t tmpfs -o size=4m swan /run && exec "$0"' "$SWAN_CHARON" \
		>"$d/charon.out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$d/charon.pid"
	echo "$ns" >"$d/netns"
	case " ${SWAN_INSTANCES[*]} " in *" $d "*) ;; *) SWAN_INSTANCES+=("$d") ;; esac
	SWAN_PIDS+=("$pid")
	local tries=$(( ${SWAN_START_TIMEOUT:-10} * 10 ))
	for ((i = 0; i < tries; i++)); do
		if [ -S "$d/charon.vici" ] && swanctl_in "$d" --stats >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "swan_start: charon in $ns ($d) did not become ready" >&2
	sed 's/^/    /' "$d/charon.out" "$d/charon.log" 2>/dev/null | tail -20 >&2
	swan_stop "$d"
	return 1
}

# _swan_alive PID: the process exists and is a charon, or still on its way to
# exec'ing charon as this shell's child (not a recycled PID).
_swan_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	case $(cat "/proc/$1/comm" 2>/dev/null) in
	charon) return 0 ;;
	ip|env|unshare|sh) [ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ] ;;
	*) return 1 ;;
	esac
}

# swan_pid DIR: the instance's charon PID.
swan_pid() { cat "$(_swan_abs "$1")/charon.pid" 2>/dev/null; }

# _swan_kill PID: SIGTERM to a charon, a bounded wait (5 s), then SIGKILL; reaped.
_swan_kill() {
	local pid=$1 i
	if _swan_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			_swan_alive "$pid" || break
			sleep 0.1
		done
		if _swan_alive "$pid"; then
			echo "swan: charon $pid ignored SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
			for ((i = 0; i < 20; i++)); do _swan_alive "$pid" || break; sleep 0.1; done
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# swan_stop DIR: stops the instance's charon by its PID (_swan_kill). Safe to
# call twice, and on an instance that never started.
swan_stop() {
	local d pid
	d=$(_swan_abs "$1")
	pid=$(cat "$d/charon.pid" 2>/dev/null) || return 0
	_swan_kill "$pid"
	rm -f "$d/charon.pid" "$d/charon.vici"
	return 0
}

# swan_cleanup: stops every charon started by swan_start (by PID, even if its
# directory is gone) and removes the directories made by swan_tmpdir or
# given to swan_register. Trap-friendly, idempotent.
swan_cleanup() {
	local d p
	for d in "${SWAN_INSTANCES[@]}"; do
		swan_stop "$d"
	done
	for p in "${SWAN_PIDS[@]}"; do
		_swan_kill "$p"
	done
	SWAN_INSTANCES=()
	SWAN_PIDS=()
	if [ -z "${SWAN_KEEP:-}" ]; then
		for d in "${SWAN_TMPDIRS[@]}"; do
			case $d in /tmp/swan-*|"${TMPDIR:-/tmp}"/swan-*) rm -rf "$d" ;; esac
		done
		SWAN_TMPDIRS=()
	fi
	return 0
}

# swan_register DIR: have swan_cleanup remove DIR too (a /tmp/swan-* directory).
swan_register() { SWAN_TMPDIRS+=("$(_swan_abs "$1")"); }

# swanctl_in DIR ARGS...: swanctl against that instance (its strongswan.conf
# names the VICI socket), bounded by SWAN_SWANCTL_TIMEOUT.
swanctl_in() {
	local d
	d=$(_swan_abs "$1")
	shift
	STRONGSWAN_CONF="$d/strongswan.conf" timeout -k 2 "${SWAN_SWANCTL_TIMEOUT:-30}" \
		swanctl "$@"
}

# swan_load DIR FILE: loads FILE's connections, secrets and authorities into the
# instance, replacing what it had (swanctl --load-all --clear --file FILE).
# Credential subdirectories next to FILE (x509, x509ca, private, ...) are
# created if missing, so swanctl loads from there and does not complain.
swan_load() {
	local d f base s
	d=$(_swan_abs "$1")
	f=$(_swan_abs "$2")
	base=$(dirname "$f")
	for s in x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
		[ -d "$base/$s" ] || mkdir -p "$base/$s"
	done
	if ! swanctl_in "$d" --load-all --clear --noprompt --file "$f" >"$d/load.out" 2>&1; then
		echo "swan_load: swanctl --load-all --file $f failed:" >&2
		sed 's/^/    /' "$d/load.out" >&2
		return 1
	fi
	if grep -qiE 'failed|error' "$d/load.out"; then
		echo "swan_load: swanctl reported a failure loading $f:" >&2
		sed 's/^/    /' "$d/load.out" >&2
		return 1
	fi
}

# swan_initiate DIR CHILD [TIMEOUT]: initiates the Child SA (and its IKE SA);
# 0 once it is installed, within TIMEOUT seconds (15).
swan_initiate() {
	local d=$1 child=$2 t=${3:-15}
	SWAN_SWANCTL_TIMEOUT=$((t + 5)) swanctl_in "$d" --initiate --child "$child" --timeout "$t" \
		>"$(_swan_abs "$d")/initiate.out" 2>&1 && return 0
	echo "swan_initiate: $child failed or timed out after ${t}s; swanctl said:" >&2
	tail -15 "$(_swan_abs "$d")/initiate.out" | sed 's/^/    /' >&2
	return 1
}

# swan_terminate DIR IKE [TIMEOUT]: closes the IKE SA named IKE (and its children).
swan_terminate() {
	swanctl_in "$1" --terminate --ike "$2" --timeout "${3:-10}" >/dev/null 2>&1
}

# swan_list_sas DIR [swanctl --list-sas options]: its raw output.
swan_list_sas() { local d=$1; shift; swanctl_in "$d" --list-sas "$@"; }

# swan_log DIR: the path of the instance's charon log.
swan_log() { echo "$(_swan_abs "$1")/charon.log"; }

# swan_ike_block DIR IKE: the --list-sas lines of the first IKE SA named IKE
# (the "IKE: #n, STATE, ..." line and everything indented under it).
swan_ike_block() {
	swan_list_sas "$1" | awk -v n="$2" '
		/^[^ ]/ { inb = 0; if (!done && index($0, n ": #") == 1) { inb = 1; done = 1 } }
		inb { print }'
}

# swan_child_block DIR CHILD: the --list-sas lines of the first Child SA named
# CHILD (its "CHILD: #n, reqid r, STATE, ..." line and the lines under it).
swan_child_block() {
	# After a rekey the old SA (REKEYED, DELETED) may be listed first: the
	# INSTALLED one is the block wanted, else the first.
	swan_list_sas "$1" | awk -v n="$2" '
		/^  [^ ]/ { inb = 0; if (index($0, "  " n ": #") == 1) { inb = 1; k++; inst[k] = ($0 ~ /, INSTALLED, /) } }
		/^[^ ]/ { inb = 0 }
		inb { b[k] = b[k] $0 "\n" }
		END { for (i = 1; i <= k; i++) if (inst[i]) { printf "%s", b[i]; exit }
		      if (k) printf "%s", b[1] }'
}

# _swan_has_all TEXT WHAT STRINGS...: every string occurs in TEXT, or says which not.
_swan_has_all() {
	local text=$1 what=$2 s r=0
	shift 2
	for s in "$@"; do
		if ! grep -qF -- "$s" <<<"$text"; then
			echo "$what: no '$s'" >&2
			r=1
		fi
	done
	return $r
}

# swan_assert_ike DIR IKE [STRINGS...]: an IKE SA named IKE is ESTABLISHED and
# its block shows every string (e.g. AES_GCM_16-128 PRF_HMAC_SHA2_256 CURVE_25519).
swan_assert_ike() {
	local d=$1 n=$2 b
	shift 2
	b=$(swan_ike_block "$d" "$n")
	if ! head -1 <<<"$b" | grep -q ", ESTABLISHED, "; then
		echo "swan_assert_ike: no ESTABLISHED IKE SA '$n'; list-sas:" >&2
		swan_list_sas "$d" 2>&1 | sed 's/^/    /' >&2
		return 1
	fi
	_swan_has_all "$b" "swan_assert_ike $n" "$@" || { sed 's/^/    /' <<<"$b" >&2; return 1; }
}

# swan_assert_child DIR CHILD [STRINGS...]: a Child SA named CHILD is INSTALLED
# and its block shows every string (e.g. TUNNEL-in-UDP ESP:AES_GCM_16-128).
swan_assert_child() {
	local d=$1 n=$2 b
	shift 2
	b=$(swan_child_block "$d" "$n")
	if ! head -1 <<<"$b" | grep -q ", INSTALLED, "; then
		echo "swan_assert_child: no INSTALLED Child SA '$n'; list-sas:" >&2
		swan_list_sas "$d" 2>&1 | sed 's/^/    /' >&2
		return 1
	fi
	_swan_has_all "$b" "swan_assert_child $n" "$@" || { sed 's/^/    /' <<<"$b" >&2; return 1; }
}

# swan_wait_ike DIR IKE [TIMEOUT]: waits (0.2 s steps, TIMEOUT s, default 15)
# for an ESTABLISHED IKE SA named IKE, e.g. when the peer initiates.
swan_wait_ike() {
	local i n=$(( ${3:-15} * 5 ))
	for ((i = 0; i < n; i++)); do
		swan_ike_block "$1" "$2" | head -1 | grep -q ", ESTABLISHED, " && return 0
		sleep 0.2
	done
	echo "swan_wait_ike: no ESTABLISHED IKE SA '$2' after ${3:-15}s" >&2
	return 1
}

# swan_wait_child DIR CHILD [TIMEOUT]: the same for an INSTALLED Child SA.
swan_wait_child() {
	local i n=$(( ${3:-15} * 5 ))
	for ((i = 0; i < n; i++)); do
		swan_child_block "$1" "$2" | head -1 | grep -q ", INSTALLED, " && return 0
		sleep 0.2
	done
	echo "swan_wait_child: no INSTALLED Child SA '$2' after ${3:-15}s" >&2
	return 1
}

# swan_count_ike DIR: the number of IKE SAs the instance holds (any state).
swan_count_ike() { swan_list_sas "$1" --raw 2>/dev/null | grep -c '^list-sa event'; }

# swan_spis DIR CHILD: "SPI_IN SPI_OUT" (hex, no 0x) of the Child SA named CHILD,
# to decrypt a capture or match secpol's SAs.
swan_spis() {
	swan_child_block "$1" "$2" | awk '
		$1 == "in"  { sub(/_i.*/, "", $2); sub(/,$/, "", $2); i = $2 }
		$1 == "out" { sub(/_o.*/, "", $2); sub(/,$/, "", $2); o = $2 }
		END { if (i != "" && o != "") print i, o; else exit 1 }'
}

# swan_child_counter DIR CHILD FIELD: one number of the Child SA named CHILD from
# `--list-sas --raw` (bytes-in packets-in bytes-out packets-out ...); empty if none.
swan_child_counter() {
	swan_list_sas "$1" --raw 2>/dev/null | grep -o "{name=$2 [^}]*}" | head -1 |
		grep -o " $3=[^ }]*" | cut -d= -f2
}

# swan_counter DIR KEY [CONN]: one of `swanctl --counters` (the counters
# plugin): ike-init-in-req, ike-auth-out-resp, invalid, invalid-spi, ...;
# global, or for connection CONN.
swan_counter() {
	local d=$1 k=$2
	shift 2
	swanctl_in "$d" --counters ${1:+--name "$1"} 2>/dev/null |
		awk -v k="$k" '$1 == k && $2 == ":" { print $3; exit }'
}

# _swan_hex STRING: 0x + the bytes of STRING in hex (a secret swanctl reads verbatim).
_swan_hex() { printf '0x%s' "$(printf %s "$1" | od -An -v -tx1 | tr -d ' \n')"; }

# swan_conf FILE key=value...: writes FILE, a swanctl.conf with one connection
# (and its secrets / CA); swan_conf_add appends another to FILE. Keys:
#   name=t            connection name (also the Child SA's name unless child=)
#   child=NAME        Child SA name
#   local=ADDR        local address (local_addrs; the default IKE identity)
#   remote=ADDR       remote address (remote_addrs; %any for a responder-only end)
#   local_id= remote_id=   identities (default: the addresses, i.e. ID_IPV4_ADDR
#                     like Windows; remote_id=%any accepts any)
#   auth=psk|pubkey   psk=SECRET (stored hex-encoded, any bytes)
#   cert= key= ca=    PEM files for auth=pubkey (key: unencrypted PKCS#8 or PKCS#1
#                     PEM, copied to private/swan-NAME.key beside FILE, whence
#                     swan_load loads it)
#   send_cert=always  (always|ifasked|never)   send_certreq=yes
#   proposals=aes128gcm16-prfsha256-curve25519   esp_proposals=aes128gcm16
#   local_ts=dynamic remote_ts=dynamic   (comma-separated subnets / ranges)
#   mode=tunnel (kernel-libipsec has no transport mode)   encap=yes (forced anyway)
#   mobike=no  fragmentation=yes  unique=no  version=2
#   rekey_time=0 over_time= reauth_time=0   (IKE SA)
#   child_rekey_time=0 child_life_time= child_rekey_bytes= child_rekey_packets=
#   dpd_delay=0 dpd_timeout= dpd_action=clear   start_action=none  close_action=none
#   keyingtries=1   if_id=   conn_extra="raw lines"  child_extra="raw lines"
swan_conf() {
	: >"$1" || return 1
	rm -f "$(dirname "$1")"/private/swan-*.key
	swan_conf_add "$@"
}
swan_conf_add() {
	local f=$1 kv k v
	shift
	local name=t child="" local_addr="" remote_addr="" local_id="" remote_id="" auth=psk psk=""
	local cert="" key="" ca="" send_cert=always send_certreq=yes
	local proposals=aes128gcm16-prfsha256-curve25519 esp_proposals=aes128gcm16
	local local_ts=dynamic remote_ts=dynamic mode=tunnel encap=yes mobike=no fragmentation=yes
	local unique=no version=2 rekey_time=0 over_time="" reauth_time=0
	local child_rekey_time=0 child_life_time="" child_rekey_bytes="" child_rekey_packets=""
	local dpd_delay=0 dpd_timeout="" dpd_action=clear start_action=none close_action=none
	local keyingtries=1 if_id="" conn_extra="" child_extra=""
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		[ "$k" != "$kv" ] || { echo "swan_conf: '$kv' is not key=value" >&2; return 1; }
		case $k in
		local) local_addr=$v ;;
		remote) remote_addr=$v ;;
		name|child|local_id|remote_id|auth|psk|cert|key|ca|send_cert|send_certreq|proposals|\
		esp_proposals|local_ts|remote_ts|mode|encap|mobike|fragmentation|unique|version|\
		rekey_time|over_time|reauth_time|child_rekey_time|child_life_time|child_rekey_bytes|\
		child_rekey_packets|dpd_delay|dpd_timeout|dpd_action|start_action|close_action|\
		keyingtries|if_id|conn_extra|child_extra)
			printf -v "$k" '%s' "$v" ;;
		*) echo "swan_conf: unknown key '$k'" >&2; return 1 ;;
		esac
	done
	[ -n "$local_addr" ] && [ -n "$remote_addr" ] ||
		{ echo "swan_conf: local= and remote= are required" >&2; return 1; }
	child=${child:-$name}
	local_id=${local_id:-$local_addr}
	remote_id=${remote_id:-$remote_addr}
	case $auth in
	psk) [ -n "$psk" ] || { echo "swan_conf: auth=psk needs psk=" >&2; return 1; } ;;
	pubkey)
		[ -r "$cert" ] && [ -r "$key" ] && [ -r "$ca" ] ||
			{ echo "swan_conf: auth=pubkey needs readable cert= key= ca=" >&2; return 1; }
		cert=$(_swan_abs "$cert") ca=$(_swan_abs "$ca")
		# swanctl 5.9 loads private keys only from the private/ folder beside
		# the file (secrets.private* merely holds passphrases): a copy there.
		mkdir -p "$(dirname "$f")/private" &&
			cp "$key" "$(dirname "$f")/private/swan-$name.key" || return 1 ;;
	*) echo "swan_conf: auth must be psk or pubkey" >&2; return 1 ;;
	esac
	{
		echo "# written by tests/ike/swan.sh"
		echo "connections {"
		echo "	$name {"
		echo "		version = $version"
		echo "		local_addrs = $local_addr"
		echo "		remote_addrs = $remote_addr"
		echo "		proposals = $proposals"
		echo "		encap = $encap"
		echo "		mobike = $mobike"
		echo "		fragmentation = $fragmentation"
		echo "		unique = $unique"
		echo "		rekey_time = $rekey_time"
		echo "		reauth_time = $reauth_time"
		[ -z "$over_time" ] || echo "		over_time = $over_time"
		echo "		dpd_delay = $dpd_delay"
		[ -z "$dpd_timeout" ] || echo "		dpd_timeout = $dpd_timeout"
		echo "		keyingtries = $keyingtries"
		[ -z "$if_id" ] || echo "		if_id_in = $if_id
		if_id_out = $if_id"
		if [ "$auth" = pubkey ]; then
			echo "		send_cert = $send_cert"
			echo "		send_certreq = $send_certreq"
		fi
		[ -z "$conn_extra" ] || echo "		$conn_extra"
		echo "		local {"
		echo "			auth = $auth"
		echo "			id = $local_id"
		[ "$auth" != pubkey ] || echo "			certs = $cert"
		echo "		}"
		echo "		remote {"
		echo "			auth = $auth"
		echo "			id = $remote_id"
		[ "$auth" != pubkey ] || echo "			cacerts = $ca"
		echo "		}"
		echo "		children {"
		echo "			$child {"
		echo "				mode = $mode"
		echo "				esp_proposals = $esp_proposals"
		echo "				local_ts = $local_ts"
		echo "				remote_ts = $remote_ts"
		echo "				rekey_time = $child_rekey_time"
		[ -z "$child_life_time" ] || echo "				life_time = $child_life_time"
		[ -z "$child_rekey_bytes" ] || echo "				rekey_bytes = $child_rekey_bytes"
		[ -z "$child_rekey_packets" ] || echo "				rekey_packets = $child_rekey_packets"
		echo "				dpd_action = $dpd_action"
		echo "				start_action = $start_action"
		echo "				close_action = $close_action"
		[ -z "$child_extra" ] || echo "				$child_extra"
		echo "			}"
		echo "		}"
		echo "	}"
		echo "}"
		echo "secrets {"
		if [ "$auth" = psk ]; then
			echo "	ike-$name {"
			[ "$local_id" = "%any" ] || echo "		id-local = $local_id"
			[ "$remote_id" = "%any" ] || echo "		id-remote = $remote_id"
			echo "		secret = $(_swan_hex "$psk")"
			echo "	}"
		fi
		echo "}"
		if [ "$auth" = pubkey ]; then
			echo "authorities {"
			echo "	ca-$name {"
			echo "		cacert = $ca"
			echo "	}"
			echo "}"
		fi
	} >>"$f"
}

# --- a test PKI with the openssl CLI ---------------------------------------
# swan_pki_ca DIR [rsa|ecdsa] [CN]: DIR/ca.pem (self-signed root, 10 years),
# DIR/ca.key (PKCS#8 PEM), DIR/ca.der. RSA 2048 or ECDSA P-256, SHA-256.
swan_pki_ca() {
	local d=$1 alg=${2:-ecdsa} cn=${3:-}
	mkdir -p "$d" || return 1
	cn=${cn:-secpol test CA ($alg)}
	_swan_genkey "$alg" "$d/ca.key" || return 1
	echo "$alg" >"$d/ca.alg"
	openssl req -new -x509 -sha256 -days 3650 -key "$d/ca.key" -out "$d/ca.pem" \
		-subj "/C=US/O=secpol test/CN=$cn" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" >"$d/openssl.out" 2>&1 &&
		openssl x509 -in "$d/ca.pem" -outform DER -out "$d/ca.der" 2>>"$d/openssl.out" ||
		{ echo "swan_pki_ca: openssl failed:" >&2; cat "$d/openssl.out" >&2; return 1; }
}

# _swan_genkey rsa|ecdsa FILE: an unencrypted PKCS#8 PEM private key.
_swan_genkey() {
	case $1 in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
	ecdsa) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
	*) echo "swan_pki: key type must be rsa or ecdsa, not '$1'" >&2; return 1 ;;
	esac
}

# swan_pki_host DIR NAME IP... : a host certificate signed by DIR's CA, key of
# the CA's type (or $SWAN_PKI_ALG), CN=NAME, SANs IP:each IP and DNS:NAME,
# EKU serverAuth, clientAuth, ipsecIKE. Writes DIR/NAME.pem (cert),
# DIR/NAME.der, DIR/NAME.key (PKCS#8 PEM, unencrypted) and DIR/NAME.p12
# (key, cert and CA; password $SWAN_P12_PASS, default "secpol").
swan_pki_host() {
	local d=$1 n=$2 ip san alg
	shift 2
	[ -r "$d/ca.pem" ] && [ -r "$d/ca.key" ] || { echo "swan_pki_host: no CA in $d" >&2; return 1; }
	[ $# -gt 0 ] || { echo "swan_pki_host: at least one IP address" >&2; return 1; }
	alg=${SWAN_PKI_ALG:-$(cat "$d/ca.alg" 2>/dev/null || echo ecdsa)}
	san="DNS:$n"
	for ip in "$@"; do san="$san,IP:$ip"; done
	_swan_genkey "$alg" "$d/$n.key" || return 1
	cat >"$d/$n.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth,ipsecIKE
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	{
		openssl req -new -sha256 -key "$d/$n.key" -subj "/C=US/O=secpol test/CN=$n" -out "$d/$n.csr" &&
		openssl x509 -req -sha256 -days 3650 -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
			-extfile "$d/$n.ext" -out "$d/$n.pem" &&
		openssl x509 -in "$d/$n.pem" -outform DER -out "$d/$n.der" &&
		openssl pkcs12 -export -inkey "$d/$n.key" -in "$d/$n.pem" -certfile "$d/ca.pem" \
			-name "$n" -passout "pass:$SWAN_P12_PASS" -out "$d/$n.p12"
	} >"$d/openssl.out" 2>&1 ||
		{ echo "swan_pki_host: openssl failed:" >&2; cat "$d/openssl.out" >&2; return 1; }
	rm -f "$d/$n.csr"
}
