#!/usr/bin/env bash
# `secpol monitor` as an administrator uses it: in an 80x24 terminal (a
# tmux pane, read back with capture-pane) on host A of
#
#   A 192.0.2.1 (va) ---- (vb) B 192.0.2.2
#
# where both hosts require ESP with the other (IKEv2, pre-shared key):
#   - before secpold runs, the view says it cannot reach it, and keeps
#     trying: once secpold is up, the same view shows the policy;
#   - before any traffic, no SA; once A pings B, the SA row appears (peer,
#     rule, algorithm), and the packet counters on screen grow between two
#     captures while the ping goes on;
#   - nothing on screen is wider than 79 columns or below row 24;
#   - `q` quits: the program exits 0 and the terminal is back in canonical
#     mode with echo (stty in the same pane);
#   - `secpol monitor --once` (no terminal) prints one frame, and exits 1
#     with the "cannot reach" frame when secpold is gone.
#
# usage: monitor_tui_test.sh <secpol> <secpold>      77 = skipped (not root)
set -u
SECPOL=$1
SECPOLD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../agent/lib.sh"
e2e_require ip nft ping tmux timeout

A=monA.$$ B=monB.$$
TMUX_SOCK=secpol-mon-$$
PING_PID=
# tmux's server is ours: killed by its socket, never by name.
mon_cleanup() {
	[ -n "$PING_PID" ] && kill "$PING_PID" 2>/dev/null
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	e2e_cleanup
}
trap mon_cleanup EXIT

two_hosts "$A" "$B"

for h in A B; do
	peer=$([ $h = A ] && echo 192.0.2.2 || echo 192.0.2.1)
	policy "${!h}" <<EOF2
static add filterlist name=peer
static add filter filterlist=peer srcaddr=me dstaddr=$peer
static add filteraction name=esp action=negotiate qmsecmethods="ESP[AESGCM128]"
static add policy name=monlab mmsecmethods="AESGCM128-SHA256-31"
static add rule name=to-peer policy=monlab filterlist=peer filteraction=esp psk="monitor test key"
static set policy name=monlab assign=yes
EOF2
done

DA=$(host_dir "$A")
# The pane: 80x24, secpol monitor inside A's namespace, then a shell line
# that records the exit status and the terminal's mode after it returned.
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s mon -x 80 -y 24 \
	"ip netns exec $A $SECPOL --control $DA/ctl monitor --interval 0.5; echo \"rc=\$?\" >$E2E_T/mon.rc; stty -a >$E2E_T/mon.stty; sleep 30" ||
	{ echo "FAIL: tmux did not start"; exit 1; }
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t mon 2>/dev/null; }
# wait_screen REGEX [TENTHS]: 0 once the screen matches (bounded, default 10 s).
wait_screen() {
	local i
	for i in $(seq "${2:-100}"); do
		screen | grep -Eq "$1" && return 0
		sleep 0.1
	done
	return 1
}
# packets "Packets out" ...: the total of that counter on screen.
packets() { screen | awk -v l="$1" 'index($0, l) == 1 { print $3; exit }'; }

check "no secpold: the view says so" wait_screen "Cannot reach secpold"
check "and keeps retrying" wait_screen "Retrying every 0.5s"

for h in A B; do
	start_secpold "${!h}" || exit 1
done
check "secpold up: the view shows the policy" wait_screen "Policy: monlab"
check "the header names the host" wait_screen "^secpol monitor  $(hostname)"
check "before traffic: no SA" wait_screen "\(no quick-mode SAs\)"
expect_eq "an 80x24 frame: no line wider than 79" \
	"$(screen | awk 'length($0) > 79' | wc -l)" 0

# Traffic that lasts past two refreshes (bounded: 40 pings, 10 s).
ip netns exec "$A" ping -q -c 40 -i 0.25 -W 2 192.0.2.2 >/dev/null 2>&1 &
PING_PID=$!
check "after the ping starts: the SA row (peer, rule, algorithm)" \
	wait_screen "^192\.0\.2\.2 +to-peer +AES-128-GCM "
check "the policy line counts it" wait_screen "QM SAs: 1 "
p1=$(packets "Packets out")
sleep 1.5
p2=$(packets "Packets out")
expect_ge "packets out grow on screen ($p1 -> $p2)" "$p2" $((p1 + 1))
check "a rate is shown" wait_screen "^Packets out +[0-9]+ +[0-9.]+$|^Packets out +[0-9]+ +[0-9.]+ "
expect_eq "no line wider than 79 with an SA on screen" \
	"$(screen | awk 'length($0) > 79' | wc -l)" 0
expect_ge "the frame fills at most 24 rows" 24 "$(screen | wc -l)"
screen >"$E2E_T/screen.txt"

# The terminal grows (SIGWINCH): the table takes the room; and shrinks back.
tmux -L "$TMUX_SOCK" resize-window -t mon -x 120 -y 30
check "at 120 columns the SA row widens" \
	wait_screen "^192\.0\.2\.2 {20,}to-peer .{60,}"
expect_eq "no line wider than 119" "$(screen | awk 'length($0) > 119' | wc -l)" 0
tmux -L "$TMUX_SOCK" resize-window -t mon -x 80 -y 24
check "back at 80 columns" wait_screen "^192\.0\.2\.2 {7}to-peer "
expect_eq "no line wider than 79 again" "$(screen | awk 'length($0) > 79' | wc -l)" 0

# --once (not a terminal): the same data, one frame.
check "--once prints a frame with the SA" \
	bash -c "ip netns exec $A $SECPOL --control $DA/ctl monitor --once | grep -Eq '^192\.0\.2\.2 +to-peer'"

check "so does secpol dynamic monitor --once" \
	bash -c "ip netns exec $A $SECPOL --control $DA/ctl dynamic monitor --once | grep -q '^Policy: monlab'"

# q quits, and the terminal is as it was.
tmux -L "$TMUX_SOCK" send-keys -t mon q
for _ in $(seq 50); do [ -s "$E2E_T/mon.stty" ] && break; sleep 0.1; done
expect_eq "q: secpol monitor exits 0" "$(cat "$E2E_T/mon.rc" 2>/dev/null)" "rc=0"
check "the terminal echoes again" grep -Eq '(^| )echo( |$)' "$E2E_T/mon.stty"
check "and is canonical again" grep -Eq '(^| )icanon( |$)' "$E2E_T/mon.stty"
check "and takes signals again" grep -Eq '(^| )isig( |$)' "$E2E_T/mon.stty"

# Ctrl-C quits the same way (a second view, in its own pane).
tmux -L "$TMUX_SOCK" new-session -d -s mon2 -x 80 -y 24 \
	"ip netns exec $A $SECPOL --control $DA/ctl monitor; echo \"rc=\$?\" >$E2E_T/mon2.rc; stty -a >$E2E_T/mon2.stty; sleep 30"
for _ in $(seq 100); do
	tmux -L "$TMUX_SOCK" capture-pane -p -t mon2 | grep -q "^Policy: monlab" && break
	sleep 0.1
done
tmux -L "$TMUX_SOCK" send-keys -t mon2 C-c
for _ in $(seq 50); do [ -s "$E2E_T/mon2.stty" ] && break; sleep 0.1; done
expect_eq "Ctrl-C: secpol monitor exits 0" "$(cat "$E2E_T/mon2.rc" 2>/dev/null)" "rc=0"
check "and the terminal echoes again" grep -Eq '(^| )echo( |$)' "$E2E_T/mon2.stty"

kill "$PING_PID" 2>/dev/null
wait "$PING_PID" 2>/dev/null
PING_PID=
stop_secpold "$A" >/dev/null 2>&1
ip netns exec "$A" "$SECPOL" --control "$DA/ctl" monitor --once >"$E2E_T/once.txt" 2>&1
expect_eq "--once without secpold exits 1" "$?" 1
check "... saying it cannot reach it" grep -q "Cannot reach secpold" "$E2E_T/once.txt"

if [ "$fail" -ne 0 ]; then
	echo "last screen:" >&2
	sed 's/^/    |/' "$E2E_T/screen.txt" >&2 2>/dev/null
fi
echo "monitor_tui: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
