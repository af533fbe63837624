#!/usr/bin/env bash
# End-to-end tests of the `secpol` command line: the acceptance scripts of
# netsh-ipsec.md §8, script error handling, dump and export round trips,
# import refusals, the interactive shell, concurrency and file modes.
#
# usage: cli_test.sh <path to secpol> <scripts dir> <golden dir> [group]
set -u
SECPOL=$(realpath "$1")
SCRIPTS=$(realpath "$2")
GOLDEN=$(realpath "$3")
ONLY=${4:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/secpol-cli.XXXXXX")
sess=secpol-tty-$$
trap 'tmux kill-session -t "$sess" 2>/dev/null; rm -rf "$T"' EXIT
export SECPOL_STORE=$T/default.db
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { # check <description> <command...>: the command must succeed
	local what=$1; shift
	if "$@"; then ok; else bad "$what"; fi
}
has() { grep -qF -- "$2" "$1"; }
# Output without the lines that differ between two identical stores.
stable() {
	grep -vE '^(Last Modified|GUID|Source Machine|Local Policy Path) +:' "$1" |
		sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/<time>/g'
}
sp() { "$SECPOL" --store "$1" "${@:2}"; }
screen_has_row() { tmux capture-pane -p -t "$sess" | grep -qE '^Tty +NO '; }

group() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

if group spec; then
	# §8.1: two filter lists made implicitly, policy assigned, group 2 warned.
	S=$T/81.db
	sp "$S" -f "$SCRIPTS/8_1_rdp_lockdown.txt" >"$T/out" 2>"$T/err"
	check "8.1 exit status" test $? -eq 0
	check "8.1 warns about group 2" has "$T/err" "Warning: Diffie-Hellman group 2 is provided for backward compatibility only."
	check "8.1 policy assigned" has "$T/out" "Assigned               : YES"
	check "8.1 default rule inactive" has "$T/out" "Default Response Rule  : INACTIVE"
	sp "$S" static show filterlist all format=table >"$T/out"
	check "8.1 implicit list RDP" has "$T/out" "RDP from admin net"
	check "8.1 implicit list All inbound" has "$T/out" "All inbound"
	sp "$S" static show filteraction name="Require ESP" >"$T/out"
	check "8.1 QM PFS" has "$T/out" "QMPFS                  : YES"
	check "8.1 offer" grep -qE '^ESP +NONE +3DES +SHA1 +100000 +3600$' "$T/out"

	# §8.2: five filters; deleting with the three required fields removes all five.
	S=$T/82.db
	sp "$S" -f "$SCRIPTS/8_2_block_smb.txt" >/dev/null 2>&1
	check "8.2 exit status" test $? -eq 0
	sp "$S" static show filterlist name="SMB ports" level=verbose >"$T/out"
	check "8.2 five filters" has "$T/out" "No. of Filters         : 5"
	check "8.2 delete all five" sp "$S" static delete filter filterlist="SMB ports" srcaddr=any dstaddr=me
	sp "$S" static show filterlist name="SMB ports" >"$T/out"
	check "8.2 none left" has "$T/out" "No. of Filters         : 0"
	sp "$S" static show policy name="Block SMB" >"$T/out"
	check "8.2 assigned" has "$T/out" "Assigned               : YES"

	# §8.3 against a clean store: DES/MD5 warnings, exit 0, three rules.
	S=$T/83.db
	sp "$S" static delete all
	sp "$S" -f "$SCRIPTS/8_3_request_security.txt" >/dev/null 2>"$T/err"
	check "8.3 exit status" test $? -eq 0
	check "8.3 DES warning" has "$T/err" "Warning: DES is provided for backward compatibility only."
	check "8.3 MD5 warning" has "$T/err" "Warning: MD5 is provided for backward compatibility only."
	sp "$S" static show rule all policy="Server (Request Security) copy" >"$T/out"
	check "8.3 three rules" has "$T/out" "3 Rule(s)"
	check "8.3 default rule listed" has "$T/out" "Default Response Rule  : YES"

	# §8.4: tunnel rules succeed; with mirrored filters they fail with 05034.
	S=$T/84.db
	sp "$S" -f "$SCRIPTS/8_4_tunnel.txt" >/dev/null 2>&1
	check "8.4 exit status" test $? -eq 0
	sp "$S" static show rule all policy="A-B tunnel" type=tunnel format=table >"$T/out"
	check "8.4 tunnel endpoint" has "$T/out" "203.0.113.1"
	sed 's/mirrored=no/mirrored=yes/; s/"A to B"/"A to B m"/; s/"B to A"/"B to A m"/; s/name="out"/name="out m"/; s/name="in"/name="in m"/; /add policy/d; /add filteraction/d' \
		"$SCRIPTS/8_4_tunnel.txt" >"$T/84m.txt"
	sp "$S" -f "$T/84m.txt" >/dev/null 2>"$T/err"
	check "8.4 mirrored refused (status)" test $? -eq 1
	check "8.4 mirrored refused (05034)" has "$T/err" "ERR IPsec[05034] : Filters used by a tunnel rule must not be mirrored."

	# §8.7: the persistent store is its own file; export of the local store.
	S=$T/87.db
	(cd "$T" && sp "$S" -f "$SCRIPTS/8_7_persistent.txt" >/dev/null 2>&1)
	check "8.7 exit status" test $? -eq 0
	check "8.7 export written" test -s "$T/local-backup.ipsec"
	check "8.7 export mode 0600" test "$(stat -c %a "$T/local-backup.ipsec")" = 600
	check "8.7 persistent file" test -f "$T/87-persistent.db"
	sp "$S" -c "ipsec static" -f - >"$T/out" <<<'set store location=persistent
show policy name="Persistent block 80"
show store'
	check "8.7 persistent policy assigned" has "$T/out" "Assigned               : YES"
	check "8.7 persistent store shown" has "$T/out" "The current IPsec store is the Persistent Store."
	sp "$S" static show policy all format=table >"$T/out"
	check "8.7 local store untouched" test "$(grep -c 'Persistent block 80' "$T/out")" -eq 0
fi

if group script; then
	# Errors name their line; later lines still run; exit status 1; -e stops.
	S=$T/script.db
	cat >"$T/s.txt" <<'EOF'
rem a comment
# another comment
static add filterlist name=One
static add filterlist name=One
netsh ipsec static add filterlist name=Two

static add filterlist nmae=Three
ipsec static add filterlist name=Four
EOF
	sp "$S" -f "$T/s.txt" >/dev/null 2>"$T/err"
	check "script exit 1" test $? -eq 1
	check "script line 4 named" has "$T/err" "s.txt:4: ERR IPsec[05020] : A filter list named 'One' already exists."
	check "script line 7 named" has "$T/err" "s.txt:7: ERR IPsec[05001] : The parameter 'nmae' is not valid for this command. Did you mean 'name'?"
	check "script usage after syntax error" has "$T/err" "Usage: add filterlist"
	sp "$S" static show filterlist all format=table >"$T/out"
	check "script later lines ran" has "$T/out" "Four"
	S=$T/script-e.db
	sp "$S" -e -f "$T/s.txt" >/dev/null 2>&1
	check "-e exit 1" test $? -eq 1
	sp "$S" static show filterlist all format=table >"$T/out"
	check "-e stopped before line 5" test "$(grep -c '^Two ' "$T/out")" -eq 0
	check "-e kept line 3" has "$T/out" "One"
	# A script saved by a Windows editor: byte order mark and CRLF line ends.
	printf '\xef\xbb\xbfnetsh ipsec static add filterlist name=Bom\r\nnetsh ipsec static show filterlist Bom\r\n' >"$T/bom.txt"
	sp "$T/bom.db" -f "$T/bom.txt" >"$T/out" 2>&1
	check "BOM and CRLF script" has "$T/out" "Filter List Name       : Bom"
	# One command as arguments: exit status and quoting by the shell.
	S=$T/args.db
	check "argv add" sp "$S" static add policy name="Two words" description="with spaces"
	sp "$S" static add policy name="Two words" 2>"$T/err"
	check "argv duplicate exit 1" test $? -eq 1
	check "argv duplicate message" has "$T/err" "ERR IPsec[05020] : A policy named 'Two words' already exists."
	sp "$S" static show policy "Two words" >"$T/out"
	check "argv positional name" has "$T/out" "Description            : with spaces"
	# --store beats SECPOL_STORE; SECPOL_STORE beats the default.
	SECPOL_STORE=$T/env.db "$SECPOL" static add filterlist name=EnvList
	check "SECPOL_STORE used" test -f "$T/env.db"
	SECPOL_STORE=$T/env.db "$SECPOL" --store "$T/opt.db" static add filterlist name=OptList
	check "--store wins" test -f "$T/opt.db"
	SECPOL_STORE=$T/opt.db "$SECPOL" static show filterlist name=EnvList >/dev/null 2>&1
	check "--store wins (not in env store)" test $? -eq 1
	check "store mode 0600" test "$(stat -c %a "$T/env.db")" = 600
fi

if group roundtrip; then
	# A rich store: every spec script and the extras.
	S=$T/rich.db
	sed 's/"Block"/"Block SMB"/' "$SCRIPTS/8_2_block_smb.txt" >"$T/82.txt"
	for f in "$SCRIPTS/8_1_rdp_lockdown.txt" "$T/82.txt" "$SCRIPTS/8_4_tunnel.txt" "$SCRIPTS/extras.txt"; do
		sp "$S" -f "$f" >/dev/null 2>&1 || bad "rich store: $f"
	done
	sp "$S" dump >"$T/d1.txt"
	check "dump has persistent-free header" has "$T/d1.txt" "set store location=local"
	check "dump keeps the quote escape" has "$T/d1.txt" "rootca=\"CN=Example \\'Quoted\\' Root, O=Example certmap:no excludecaname:yes\""
	E=$T/empty.db
	sp "$E" static delete all
	sp "$E" -f "$T/d1.txt" >/dev/null 2>&1
	check "dump replays cleanly" test $? -eq 0
	sp "$E" dump >"$T/d2.txt"
	check "dump round trip is exact" cmp -s "$T/d1.txt" "$T/d2.txt"
	sp "$S" static show all >"$T/a1.txt"
	sp "$E" static show all >"$T/a2.txt"
	# GUIDs survive the dump; only the modification times differ.
	check "show all equal after dump replay" diff <(grep -v '^Last Modified' "$T/a1.txt") <(grep -v '^Last Modified' "$T/a2.txt")

	# export -> import into an empty store -> export: the same file.
	sp "$S" static exportpolicy file="$T/e1.ipsec"
	check "export header" test "$(head -1 "$T/e1.ipsec")" = "# ipsec-policy-export v1"
	I=$T/import.db
	sp "$I" static delete all
	check "import" sp "$I" static importpolicy file="$T/e1.ipsec"
	sp "$I" static exportpolicy file="$T/e2.ipsec"
	check "export/import/export identical" cmp -s "$T/e1.ipsec" "$T/e2.ipsec"
	# Import into a fresh store (with its samples) replaces same-named objects.
	F=$T/fresh.db
	check "import over samples" sp "$F" static importpolicy file="$T/e1.ipsec"
	sp "$F" static exportpolicy file="$T/e3.ipsec"
	check "import over samples gives the same store" cmp -s "$T/e1.ipsec" "$T/e3.ipsec"

	# Refusals change nothing: newer format, damaged body, garbage, missing file.
	sp "$I" static add filterlist name=Marker
	sum() { sha256sum "$I" | cut -d' ' -f1; }
	before=$(sum)
	sed '1s/v1/v2/' "$T/e1.ipsec" >"$T/newer.ipsec"
	sp "$I" static importpolicy file="$T/newer.ipsec" 2>"$T/err"
	check "newer format refused" has "$T/err" "export format v2, which is newer than this secpol reads (v1)"
	sed '$s/assign=yes/assign=yEs/' "$T/e1.ipsec" >"$T/bad.ipsec"
	sp "$I" static importpolicy file="$T/bad.ipsec" 2>"$T/err"
	check "damaged file refused" has "$T/err" "do not match its checksum"
	head -c 300 /dev/urandom >"$T/garbage.ipsec"
	sp "$I" static importpolicy file="$T/garbage.ipsec" 2>"$T/err"
	check "garbage refused" has "$T/err" "ERR IPsec[05042]"
	# A valid header over a body with a failing line: nothing of it is kept.
	body=$'add filterlist name="Half"\nadd filter filterlist="Half" srcaddr=me dstaddr=me\n'
	{ echo "# ipsec-policy-export v1"; echo "# body-sha256 $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)"; printf '%s' "$body"; } >"$T/half.ipsec"
	sp "$I" static importpolicy file="$T/half.ipsec" 2>"$T/err"
	check "failing line reported" has "$T/err" "line 4"
	# An import file can only add, set and delete objects.
	for evil in 'exportpolicy file="'"$T"'/written-by-import"' 'set store location=persistent' 'importpolicy file="'"$T"'/e1.ipsec"' 'set batch mode=enable'; do
		body="add filterlist name=\"Evil\""$'\n'"$evil"$'\n'
		{ echo "# ipsec-policy-export v1"; echo "# body-sha256 $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)"; printf '%s' "$body"; } >"$T/evil.ipsec"
		sp "$I" static importpolicy file="$T/evil.ipsec" 2>"$T/err"
		check "import refuses: $evil" has "$T/err" "is not allowed in an import file"
	done
	check "import wrote no file" test ! -e "$T/written-by-import"
	check "import opened no persistent store" test ! -e "$T/import-persistent.db"
	sp "$I" static importpolicy file="$T/missing.ipsec" 2>"$T/err"
	check "missing file refused" has "$T/err" "could not be read"
	check "store unchanged by refused imports" test "$before" = "$(sum)"
	sp "$I" static show filterlist name=Half >/dev/null 2>&1
	check "half import not applied" test $? -eq 1
fi

if group interactive; then
	S=$T/shell.db
	printf 'ipsec\nstatic\nadd policy name=Shell\nshow policy Shell format=table\n..\nshow store\n..\nhelp\nquit\n' |
		sp "$S" >"$T/out" 2>&1
	check "prompt root" has "$T/out" "secpol> "
	check "prompt ipsec" has "$T/out" "ipsec> "
	check "prompt static" has "$T/out" "ipsec static> "
	check "command ran in context" grep -qE '^(ipsec static> )?Shell +NO ' "$T/out"
	check "help at root" has "$T/out" "Changes to the \`ipsec' context."
	printf 'static\nadd ?\nadd filter help\n?\n' | sp "$S" >"$T/out" 2>&1
	check "add ? lists add commands" has "$T/out" "add filteraction"
	check "usage of one command" has "$T/out" "[ srcmask = ] <mask>|<prefix>"
	check "? lists the context" has "$T/out" "exportpolicy"
	# `secpol static` alone enters that context.
	printf 'show store\n' | sp "$S" static >"$T/out" 2>&1
	check "secpol static enters context" has "$T/out" "ipsec static> The current IPsec store"
fi

if group tty; then
	# The shell on a real terminal (libedit): prompt, line editing, history.
	S=$T/tty.db
	screen() { tmux capture-pane -p -t "$sess"; }
	wait_for() { # wait_for <text>: up to 5 s
		for _ in $(seq 1 50); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
		return 1
	}
	tmux new-session -d -s "$sess" -x 120 -y 40 "$SECPOL --store $S; sleep 30"
	check "tty prompt" wait_for "secpol>"
	tmux send-keys -t "$sess" "static" Enter
	check "tty static prompt" wait_for "ipsec static>"
	tmux send-keys -t "$sess" "add policy name=Tty description=typed" Enter
	# Backspace over a typo before Enter: libedit edits the line.
	tmux send-keys -t "$sess" "show policy Tty format=tble" BSpace BSpace BSpace "able" Enter
	check "tty edited line ran" wait_for "1 Policy(s)"
	check "tty table output" screen_has_row
	# Up arrow recalls the previous command from history.
	tmux send-keys -t "$sess" "show store" Enter
	tmux send-keys -t "$sess" Up Enter
	for _ in $(seq 1 50); do [ "$(screen | grep -c 'The current IPsec store is the Local Store.')" -ge 2 ] && break; sleep 0.1; done
	check "tty history recall" test "$(screen | grep -c 'The current IPsec store is the Local Store.')" -ge 2
	tmux send-keys -t "$sess" "exit" Enter
	sleep 0.3
	tmux kill-session -t "$sess" 2>/dev/null
	sp "$S" static show policy name=Tty >"$T/out"
	check "tty command reached the store" has "$T/out" "Description            : typed"
fi

if group golden; then
	# Output layouts: list and table, normal and verbose, against reviewed files.
	S=$T/golden.db
	sp "$S" static delete all
	for f in 8_1_rdp_lockdown 8_4_tunnel extras; do
		sp "$S" -f "$SCRIPTS/$f.txt" >/dev/null 2>&1 || bad "golden store: $f"
	done
	while IFS='|' read -r name cmd; do
		[ -n "$name" ] || continue
		eval "sp \"\$S\" $cmd" >"$T/g.out" 2>&1
		if [ -n "${SECPOL_UPDATE_GOLDEN:-}" ]; then
			stable "$T/g.out" >"$GOLDEN/$name.out"
		fi
		check "golden $name" diff -u "$GOLDEN/$name.out" <(stable "$T/g.out")
	done <<'EOF'
policy_list|static show policy name="RDP lockdown"
policy_verbose|static show policy name="Web" level=verbose
policy_table|static show policy all format=table
filterlist_verbose|static show filterlist name="v6 web" level=verbose
filterlist_verbose_table|static show filterlist name="servers" level=verbose format=table
filteraction_list|static show filteraction name="Modern"
filteraction_table|static show filteraction all format=table
rule_table|static show rule all policy="A-B tunnel" format=table
rule_table_narrow|static show rule all policy="Web" format=table wide=no
gpo|static show gpoassignedpolicy
EOF
fi

if group concurrency; then
	# Two secpol processes add filters at the same time: all land, store sound.
	S=$T/conc.db
	sp "$S" static add filterlist name=P1
	sp "$S" static add filterlist name=P2
	for w in 1 2; do
		( for i in $(seq 1 60); do
			sp "$S" static add filter filterlist=P$w srcaddr=me dstaddr=198.51.100.$i protocol=tcp dstport=$((1000 + w)) || exit 1
		done ) &
		pids[$w]=$!
	done
	wait "${pids[1]}"; r1=$?
	wait "${pids[2]}"; r2=$?
	check "writer 1 succeeded" test "$r1" -eq 0
	check "writer 2 succeeded" test "$r2" -eq 0
	sp "$S" static show filterlist all format=table >"$T/out"
	check "writer 1 complete" grep -qE '^P1 +60 ' "$T/out"
	check "writer 2 complete" grep -qE '^P2 +60 ' "$T/out"
fi

echo "cli_test${ONLY:+ ($ONLY)}: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
