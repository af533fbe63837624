#!/usr/bin/env bash
# End-to-end test of `secpol cert` (the machine certificate store) with files
# made by the openssl command-line tool: a root (RSA-2048), an intermediate
# (P-256), host1 (P-256, SAN IP) in a PKCS#12 file, host2 (RSA-2048) in PEM
# with an encrypted key and later revoked by the intermediate's CRL (made
# with `openssl ca`). Checks the output, the exit codes and error codes, the
# file modes, and that no private key is ever printed.
#
# usage: cert_cli_test.sh <path to secpol>
set -u
SECPOL=$(realpath "$1")
if ! command -v openssl >/dev/null; then
	echo "openssl (Debian package openssl) is not installed" >&2
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/secpol-cert.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export SECPOL_CERTS=$T/store
export SECPOL_STORE=$T/policy.db
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { # check <description> <command...>: the command must succeed
	local what=$1; shift
	if "$@"; then ok; else bad "$what"; fi
}
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }
sp() { "$SECPOL" "$@" >"$T/out" 2>"$T/err"; }
q() { "$@" >/dev/null 2>&1 || { echo "setup failed: $*" >&2; exit 1; }; }

# ---- the PKI --------------------------------------------------------------------------------
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ca.ext
q openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.crt -days 3650 \
	-subj "/CN=CLI Root/O=secpol" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
	-out inter.csr -subj "/CN=CLI Intermediate/O=secpol"
q openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -set_serial 2 -days 365 \
	-extfile ca.ext -out inter.crt
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=IP:192.0.2.10,DNS:host1.example\n' >host1.ext
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout host1.key \
	-out host1.csr -subj "/CN=host1/O=secpol"
q openssl x509 -req -in host1.csr -CA inter.crt -CAkey inter.key -set_serial 10 -days 30 \
	-extfile host1.ext -out host1.crt
printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:192.0.2.20\n' >host2.ext
q openssl req -newkey rsa:2048 -nodes -keyout host2.key -out host2.csr -subj "/CN=host2/O=secpol"
q openssl x509 -req -in host2.csr -CA inter.crt -CAkey inter.key -set_serial 20 -days 30 \
	-extfile host2.ext -out host2.crt
cat inter.crt root.crt >chain.pem
q openssl pkcs12 -export -in host1.crt -inkey host1.key -certfile chain.pem -out host1.p12 \
	-passout pass:p12-secret
q openssl pkey -in host2.key -aes256 -passout pass:pem-secret -out host2.enc.key
cat host2.crt host2.enc.key >host2.pem
cat host1.crt host2.key >mismatch.pem
head -c 300 root.crt >broken.pem
q openssl x509 -in root.crt -outform DER -out root.der
# The intermediate's CRL, revoking host2.
mkdir ca && : >ca/index.txt && echo 01 >ca/crlnumber
cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
database = $T/ca/index.txt
crlnumber = $T/ca/crlnumber
default_md = sha256
default_crl_days = 30
EOF
q openssl ca -config ca.cnf -keyfile inter.key -cert inter.crt -revoke host2.crt
q openssl ca -config ca.cnf -keyfile inter.key -cert inter.crt -gencrl -out inter.crl

# ---- an empty store -------------------------------------------------------------------------
sp cert show
check "empty store: exit 0" test $? -eq 0
check "empty store: no certificates" has "$T/out" "Certificates           : 0"
check "show does not create the store" test ! -e "$T/store"

# ---- import ------------------------------------------------------------------------------------
sp cert import file=root.crt
check "import root: exit 0" test $? -eq 0
check "import root: one added" has "$T/out" "Certificates Added     : 1"
check "store dir 0700" test "$(stat -c %a "$T/store")" = 700

sp cert import file=host1.p12 password=wrong
check "p12 wrong password: exit 1" test $? -eq 1
check "p12 wrong password: message" has "$T/err" "ERR IPsec[05042] : Cannot import 'host1.p12': wrong password for the PKCS#12 file"
sp cert import file=host1.p12
check "p12 no password: exit 1" test $? -eq 1
check "p12 no password: says so" has "$T/err" "give password="
sp cert import file=host1.p12 password=p12-secret
check "p12: exit 0" test $? -eq 0
check "p12: key added" has "$T/out" "Private Keys Added     : 1"
check "p12: host named" has "$T/out" "Host Certificate       : CN=host1, O=secpol"
check "p12: root already there" has "$T/out" "Already In The Store   : 1"

sp cert import file=host2.pem password=nope
check "encrypted PEM wrong password: exit 1" test $? -eq 1
check "encrypted PEM wrong password: message" has "$T/err" "wrong password for the private key"
sp cert import file=host2.pem
check "encrypted PEM no password" has "$T/err" "the private key is encrypted: give password="
sp cert import host2.pem password=pem-secret
check "encrypted PEM (file positional): exit 0" test $? -eq 0
check "encrypted PEM: key added" has "$T/out" "Private Keys Added     : 1"

sp cert import file=mismatch.pem
check "key mismatch: exit 1" test $? -eq 1
check "key mismatch: message" has "$T/err" "the private key does not match the certificate 'CN=host1, O=secpol'"
sp cert import file=broken.pem
check "broken PEM: exit 1" test $? -eq 1
check "broken PEM: message" has "$T/err" "damaged"
sp cert import file=missing.pem
check "missing file: exit 1" test $? -eq 1
sp cert import
check "import without file: 05002" has "$T/err" "ERR IPsec[05002]"
sp cert import file=root.der
check "DER root already present" has "$T/out" "Already In The Store   : 1"

# ---- show ------------------------------------------------------------------------------------
sp cert show
check "show: exit 0" test $? -eq 0
check "show: four certificates" has "$T/out" "Certificates           : 4"
check "show: host1 subject" has "$T/out" "Subject                : CN=host1, O=secpol"
check "show: host1 issuer" has "$T/out" "Issuer                 : CN=CLI Intermediate, O=secpol"
check "show: key types" has "$T/out" "Key Type               : ECDSA-P256"
check "show: RSA" has "$T/out" "Key Type               : RSA-2048"
check "show: private key" has "$T/out" "Private Key            : YES"
check "show: root is a root" has "$T/out" "CA                     : YES (root)"
check "show: chain OK" has "$T/out" "Chain                  : OK (root: CN=CLI Root, O=secpol)"
check "show: validity" grep -qE '^Valid To +: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC$' "$T/out"
check "show: fingerprint" grep -qE '^Fingerprint \(SHA-256\)  : [0-9a-f]{64}$' "$T/out"
# No key material, in any output.
cat "$T/out" "$T/err" >"$T/all"
check "show: no PEM key" hasnt "$T/all" "PRIVATE KEY"
for k in host1.key host2.key; do
	grep -v -- '-----' "$k" | head -3 >"$T/keylines"
	check "show: no line of $k" bash -c "! grep -qF -f '$T/keylines' '$T/all'"
done

sp cert show format=table
check "table: header" grep -qE '^Subject +Key Type +Key +CA +Valid To +Chain +Fingerprint$' "$T/out"
check "table: host1 row" grep -qE '^CN=host1, O=secpol +ECDSA-P256 +YES +NO +[0-9-]{10} +OK +[0-9a-f]{16}$' "$T/out"
sp cert show format=tree
check "bad format: 05003" has "$T/err" "ERR IPsec[05003]"

# ---- file modes -------------------------------------------------------------------------------
nkeys=0
for f in "$T"/store/*.key; do
	nkeys=$((nkeys + 1))
	check "key $(basename "$f") is 0600" test "$(stat -c %a "$f")" = 600
done
check "two key files" test "$nkeys" -eq 2
check "no temporaries left" test -z "$(find "$T/store" -name '.tmp-*')"
check "nothing readable by others" test -z "$(find "$T/store" -perm /077)"

# ---- CRL -------------------------------------------------------------------------------------
sp cert import file=inter.crl
check "CRL: added" has "$T/out" "CRLs Added             : 1"
sp cert show
check "CRL: listed" has "$T/out" "CRL Issuer             : CN=CLI Intermediate, O=secpol"
check "CRL: one revoked" has "$T/out" "Revoked Certificates   : 1"
check "CRL: issuer known" has "$T/out" "Issuer In Store        : YES"
check "CRL: host2 revoked" has "$T/out" "Chain                  : FAILED (revoked: 'CN=host2, O=secpol'"
sp cert show format=table
check "CRL: table FAILED" grep -qE '^CN=host2, O=secpol +RSA-2048 +YES +NO +[0-9-]{10} +FAILED' "$T/out"

# ---- delete ----------------------------------------------------------------------------------
sp cert show
fp=$(awk '/^Subject/ { s = $0 } /^Fingerprint/ && s ~ /CN=host1,/ { print $4 }' "$T/out")
check "host1 fingerprint found" test ${#fp} -eq 64
sp cert delete fingerprint="${fp:0:12}"
check "delete by fingerprint: exit 0" test $? -eq 0
check "delete by fingerprint: one" has "$T/out" "Deleted 1 entry."
check "delete by fingerprint: key gone" test ! -e "$T/store/$fp.key"
check "delete by fingerprint: cert gone" test ! -e "$T/store/$fp.crt"
sp cert delete subject="O=secpol, CN=host2"
check "delete by subject (reversed): one" has "$T/out" "Deleted 1 entry."
sp cert delete subject="CN=nobody"
check "delete unknown: exit 1" test $? -eq 1
check "delete unknown: 05003" has "$T/err" "ERR IPsec[05003] : no certificate in the store has the subject 'CN=nobody'."
sp cert delete
check "delete without a selector: 05002" has "$T/err" "ERR IPsec[05002]"
sp cert show
check "after delete: two left" has "$T/out" "Certificates           : 2"
check "no keys left" test -z "$(find "$T/store" -name '*.key')"

# ---- contexts, help, scripts --------------------------------------------------------------
sp cert help
check "help lists import" grep -qE '^import +- ' "$T/out"
check "help lists delete" grep -qE '^delete +- ' "$T/out"
sp help
check "root help names cert" has "$T/out" "Changes to the \`ipsec cert' context"
printf 'cert\nshow format=table\n..\nexit\n' | "$SECPOL" >"$T/out" 2>"$T/err"
check "interactive: prompt" has "$T/out" "ipsec cert> "
check "interactive: table" grep -qE '^CN=CLI Root, O=secpol ' "$T/out"
printf 'netsh ipsec cert show\n# comment\ncert show format=list\n' >script.txt
"$SECPOL" -f script.txt >"$T/out" 2>"$T/err"
check "script: exit 0" test $? -eq 0
check "script: shows twice" test "$(grep -c '^Certificate Store$' "$T/out")" -eq 2
sp cert bogus
check "unknown cert command: 05004" has "$T/err" "ERR IPsec[05004]"
SECPOL_CERTS=/proc/nonexistent/store "$SECPOL" cert import file=root.crt >"$T/out" 2>"$T/err"
check "unwritable store: 05040" has "$T/err" "ERR IPsec[05040]"

echo "cert cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
