#!/usr/bin/env bash
# demo.sh -- the ldapotp quick start, run by `make demo`.
#
# It starts a throwaway slapd on a free loopback port (configured from
# examples/slapd/slapd.conf, acl.conf and base.ldif, with the OATH-LDAP
# schema of this repository and no slapo-otp), loads a TOTP user (alice),
# her token and its params, and a plain user (bob), starts the ldapotp
# proxy in front of it on another loopback port, and shows a real
# two-factor bind working: password+code accepted, the same code refused as
# a replay, a wrong code and the password alone refused, bob passed through,
# and the token state written back in slapo-otp's own attributes.
#
# Every step prints PASS or FAIL; the script exits non-zero if any step
# failed, so it is also a smoke test. Then, on a terminal, it keeps both
# servers running for you to try until Ctrl-C; with DEMO_NONINTERACTIVE=1
# (or stdin not a terminal) it stops after the checks. Either way it stops
# both servers and removes its temporary directory on exit
# (DEMO_KEEP=1 keeps the directory, with the logs, for a look afterwards).
#
# Needs: slapd, slapd-contrib and ldap-utils (Debian; `make deps`) and
# bin/ldapotp (`make build`). Runs as root or as any user: everything
# lives in the temporary directory and listens on 127.0.0.1 only.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LDAPOTP=${LDAPOTP:-$REPO/bin/ldapotp}
PATH=/usr/sbin:/sbin:$PATH

SUFFIX=dc=example,dc=com
ROOT_DN=cn=admin,$SUFFIX
SERVICE_DN=cn=ldapotp,ou=services,$SUFFIX
ALICE_DN=uid=alice,ou=people,$SUFFIX
ALICE_PW=alice-secret
BOB_DN=uid=bob,ou=people,$SUFFIX
BOB_PW=bob-secret
TOKEN_DN=cn=alice-totp,ou=tokens,$SUFFIX
PARAMS_DN=cn=totp-sha1-6,ou=params,$SUFFIX
PERIOD=30   # oathTOTPTimeStepPeriod of the params entry
DIGITS=6    # oathOTPLength
WAIT=20     # seconds to wait for a server to answer
OP_TIMEOUT=10 # seconds an LDAP client call may take

DIR=""
SLAPD_PID=""
PROXY_PID=""
SLAPD_PORT=""
PROXY_PORT=""
FAILURES=0

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# show prints a command as it can be pasted into a shell: arguments with
# characters the shell would interpret are single-quoted.
show() {
	local out="\$" a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
			out+=" $a"
		else
			out+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	say "$out"
}

pass() { say "PASS  $*"; }
fail() { say "FAIL  $*"; FAILURES=$((FAILURES + 1)); }

# random_hex prints n random bytes as hex.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# free_port prints a loopback TCP port nobody listens on right now. The
# caller retries with another port if someone takes it before we bind.
free_port() {
	local port _
	for _ in $(seq 1 100); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			say "$port"
			return 0
		fi
	done
	die "no free loopback port found"
}

# wait_ready PID SECONDS PROBE... runs PROBE until it succeeds (0), the
# process PID exits (1) or SECONDS pass (2). Polling, never a blind sleep.
wait_ready() {
	local pid=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		kill -0 "$pid" 2>/dev/null || return 1
		((SECONDS < deadline)) || return 2
		sleep 0.1
	done
}

# stop_process PID NAME: SIGTERM, up to 10 s for a clean exit, then SIGKILL.
stop_process() {
	local pid=$1 name=$2 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		if ((i == 100)); then
			say "demo: $name (pid $pid) still running 10 s after SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	local rc=$?
	trap '' INT TERM
	trap - EXIT
	stop_process "$PROXY_PID" ldapotp
	PROXY_PID=""
	stop_process "$SLAPD_PID" slapd
	SLAPD_PID=""
	if [[ -n $DIR && -d $DIR ]]; then
		if ((rc != 0 && rc != 130 && rc != 143)); then
			local f
			for f in "$DIR/ldapotp.log" "$DIR/slapd.log"; do
				[[ -s $f ]] || continue
				printf '\n-- last lines of %s\n' "${f##*/}" >&2
				tail -n 40 "$f" >&2
			done
		fi
		if [[ ${DEMO_KEEP:-0} == 1 ]]; then
			say "demo: kept $DIR (remove it when done)"
		else
			rm -rf -- "$DIR"
		fi
	fi
	say "demo: stopped the proxy and slapd, exit status $rc"
	exit "$rc"
}

# sed_escape escapes a string for the replacement side of s|...|...|.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

# --------------------------------------------------------- preconditions

for c in slapd slaptest slappasswd ldapadd ldapwhoami ldapsearch base32 base64 od timeout; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found: run 'make deps' (or apt-get install slapd slapd-contrib ldap-utils)"
done
[[ -x $LDAPOTP ]] || die "$LDAPOTP not found: run 'make build' first"
for f in examples/slapd/slapd.conf examples/slapd/acl.conf examples/slapd/base.ldif schema/oath.schema schema/otpme.schema; do
	[[ -r $REPO/$f ]] || die "$REPO/$f is missing"
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ldapotp-demo.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$DIR/db"
umask 077

# ------------------------------------------------------ 1. slapd

section "1. slapd with the OATH-LDAP schema (no slapo-otp) in $DIR"

ROOT_PW=$(random_hex 12)
SERVICE_PW=$(random_hex 12)
printf '%s' "$ROOT_PW" >"$DIR/root.pw"        # ldap tools' -y: no newline
printf '%s' "$SERVICE_PW" >"$DIR/service.pw"  # the proxy's password file
ROOT_HASH=$(slappasswd -h '{SSHA}' -T "$DIR/root.pw")
SERVICE_HASH=$(slappasswd -h '{SSHA}' -T "$DIR/service.pw")

# slapd.conf is examples/slapd/slapd.conf with the temporary paths, a
# fresh rootpw, and this repository's oath.schema and acl.conf.
sed -E \
	-e "s|^include[[:space:]]+/etc/ldap/schema/oath\.schema[[:space:]]*\$|include \"$(sed_escape "$REPO/schema/oath.schema")\"|" \
	-e "s|^include[[:space:]]+/etc/ldap/schema/otpme\.schema[[:space:]]*\$|include \"$(sed_escape "$REPO/schema/otpme.schema")\"|" \
	-e "s|^include[[:space:]]+/etc/ldap/ldapotp-acl\.conf[[:space:]]*\$|include \"$(sed_escape "$REPO/examples/slapd/acl.conf")\"|" \
	-e "s|^pidfile[[:space:]].*|pidfile \"$(sed_escape "$DIR/slapd.pid")\"|" \
	-e "s|^argsfile[[:space:]].*|argsfile \"$(sed_escape "$DIR/slapd.args")\"|" \
	-e "s|^directory[[:space:]].*|directory \"$(sed_escape "$DIR/db")\"|" \
	-e "s|^rootpw[[:space:]].*|rootpw $(sed_escape "$ROOT_HASH")|" \
	-e "s|^maxsize[[:space:]].*|maxsize 67108864|" \
	"$REPO/examples/slapd/slapd.conf" >"$DIR/slapd.conf"

# If examples/slapd/slapd.conf changed shape, say so rather than run
# something else than the example.
for want in \
	"include \"$REPO/schema/oath.schema\"" \
	"include \"$REPO/schema/otpme.schema\"" \
	"include \"$REPO/examples/slapd/acl.conf\"" \
	"directory \"$DIR/db\"" \
	"rootpw $ROOT_HASH" \
	"rootdn		\"$ROOT_DN\"" \
	"suffix		\"$SUFFIX\""; do
	grep -qxF -- "$want" "$DIR/slapd.conf" ||
		die "examples/slapd/slapd.conf changed: the generated slapd.conf lacks the line: $want"
done
if grep -Eq '^[^#]*(/var/|/etc/ldap/ldapotp|REPLACE)' "$DIR/slapd.conf"; then
	die "examples/slapd/slapd.conf changed: the generated slapd.conf still has a system path or placeholder"
fi
slaptest -Q -u -f "$DIR/slapd.conf" || die "slaptest rejects $DIR/slapd.conf"

# shellcheck disable=SC2317  # run by wait_ready
slapd_ready() {
	timeout "$OP_TIMEOUT" ldapwhoami -x -H "ldap://127.0.0.1:$SLAPD_PORT" -D "$ROOT_DN" -y "$DIR/root.pw"
}

for try in 1 2 3 4 5; do
	SLAPD_PORT=$(free_port)
	: >"$DIR/slapd.log"
	slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$SLAPD_PORT/" -d stats >"$DIR/slapd.log" 2>&1 &
	SLAPD_PID=$!
	if wait_ready "$SLAPD_PID" "$WAIT" slapd_ready; then
		break
	else
		st=$?
	fi
	stop_process "$SLAPD_PID" slapd
	SLAPD_PID=""
	if ((st == 1)) && grep -q "Address already in use" "$DIR/slapd.log" && ((try < 5)); then
		continue
	fi
	tail -n 40 "$DIR/slapd.log" >&2
	die "slapd did not answer a bind as $ROOT_DN on port $SLAPD_PORT within ${WAIT}s"
done
pass "slapd (pid $SLAPD_PID) answers on ldap://127.0.0.1:$SLAPD_PORT (bind as $ROOT_DN)"

# ------------------------------------------------------ 2. demo data

section "2. demo data"

# base.ldif with the service account's password set.
sed -e "s|^userPassword: {SSHA}REPLACE-with-the-output-of-slappasswd\$|userPassword: $(sed_escape "$SERVICE_HASH")|" \
	"$REPO/examples/slapd/base.ldif" >"$DIR/base.ldif"
grep -qxF "userPassword: $SERVICE_HASH" "$DIR/base.ldif" ||
	die "examples/slapd/base.ldif changed: no service account password placeholder to fill in"

# Alice's TOTP secret: 20 random bytes. The directory holds the raw bytes
# (oathSecret is binary, as slapo-otp reads it); authenticator apps and
# `ldapotp tool` take base32.
head -c 20 /dev/urandom >"$DIR/alice.secret.raw"
SECRET_B64=$(base64 -w0 <"$DIR/alice.secret.raw")
base32 -w0 <"$DIR/alice.secret.raw" >"$DIR/alice.secret"
printf '\n' >>"$DIR/alice.secret"
ALICE_HASH=$(slappasswd -h '{SSHA}' -s "$ALICE_PW")
BOB_HASH=$(slappasswd -h '{SSHA}' -s "$BOB_PW")

cat >"$DIR/demo.ldif" <<EOF
# TOTP parameters shared by tokens: 6 digits, HMAC-SHA-1, 30 s steps,
# one step of tolerance either side.
dn: $PARAMS_DN
objectClass: device
objectClass: oathTOTPParams
cn: totp-sha1-6
description: TOTP, HMAC-SHA-1, 6 digits, 30 s steps, window 1
oathOTPLength: $DIGITS
oathHMACAlgorithm: 1.2.840.113549.2.7
oathTOTPTimeStepPeriod: $PERIOD
oathTOTPTimeStepWindow: 1

# Alice's token: the raw secret, and a pointer to its params.
dn: $TOKEN_DN
objectClass: device
objectClass: oathTOTPToken
cn: alice-totp
description: Alice's authenticator app
oathSecret:: $SECRET_B64
oathTOTPParams: $PARAMS_DN

# Alice: an OTP user (oathTOTPUser) pointing at her token. She binds with
# her password followed by the current code.
dn: $ALICE_DN
objectClass: inetOrgPerson
objectClass: oathTOTPUser
uid: alice
cn: Alice Example
sn: Example
userPassword: $ALICE_HASH
oathTOTPToken: $TOKEN_DN

# Bob: no token; his binds pass through unchanged.
dn: $BOB_DN
objectClass: inetOrgPerson
uid: bob
cn: Bob Example
sn: Example
userPassword: $BOB_HASH
EOF

for f in base.ldif demo.ldif; do
	show ldapadd -x -H "ldap://127.0.0.1:$SLAPD_PORT" -D "$ROOT_DN" -y "$DIR/root.pw" -f "$DIR/$f"
	if out=$(timeout "$OP_TIMEOUT" ldapadd -x -H "ldap://127.0.0.1:$SLAPD_PORT" -D "$ROOT_DN" -y "$DIR/root.pw" -f "$DIR/$f" 2>&1); then
		printf '%s\n' "$out" | sed '/^$/d; s/^/  /'
	else
		printf '%s\n' "$out" | sed 's/^/  /' >&2
		die "loading $f failed"
	fi
done
pass "loaded base.ldif (service account $SERVICE_DN), alice + token + params, bob"

# ------------------------------------------------------ 3. the proxy

section "3. the ldapotp proxy in front of slapd"

proxy_ready() {
	timeout "$OP_TIMEOUT" ldapwhoami -x -H "ldap://127.0.0.1:$PROXY_PORT" -D "$BOB_DN" -w "$BOB_PW"
}

for try in 1 2 3 4 5; do
	PROXY_PORT=$(free_port)
	PROXY_CMD=("$LDAPOTP" serve --listen "127.0.0.1:$PROXY_PORT"
		--upstream "ldap://127.0.0.1:$SLAPD_PORT"
		--service-dn "$SERVICE_DN" --service-password-file "$DIR/service.pw"
		--user-index-base "ou=people,$SUFFIX" --log-level debug)
	show "${PROXY_CMD[@]}"
	: >"$DIR/ldapotp.log"
	"${PROXY_CMD[@]}" >"$DIR/ldapotp.log" 2>&1 &
	PROXY_PID=$!
	if wait_ready "$PROXY_PID" "$WAIT" proxy_ready; then
		break
	else
		st=$?
	fi
	stop_process "$PROXY_PID" ldapotp
	PROXY_PID=""
	if ((st == 1)) && grep -q "address already in use" "$DIR/ldapotp.log" && ((try < 5)); then
		continue
	fi
	tail -n 40 "$DIR/ldapotp.log" >&2
	say "last probe:" >&2
	proxy_ready >&2 || true
	die "the proxy did not answer a bind as $BOB_DN on port $PROXY_PORT within ${WAIT}s"
done
pass "ldapotp (pid $PROXY_PID) answers on ldap://127.0.0.1:$PROXY_PORT"
index_live() { grep -q 'msg="user index live"' "$DIR/ldapotp.log"; }
if wait_ready "$PROXY_PID" "$WAIT" index_live; then
	pass "the user index follows ou=people by syncrepl: $(grep -o 'msg="user index live".*' "$DIR/ldapotp.log" | head -n 1)"
else
	fail "the user index did not come up (syncprov in examples/slapd/slapd.conf?)"
fi

# ------------------------------------------------------ 4. alice's token

section "4. alice's token, as an authenticator app scans it"
show "$LDAPOTP" tool otpauth --secret-file "$DIR/alice.secret" --account alice@example.com \
	--issuer ldapotp-demo --type totp --digits "$DIGITS" --algorithm sha1 --period "$PERIOD" --qr "$DIR/alice.png"
"$LDAPOTP" tool otpauth --secret-file "$DIR/alice.secret" --account alice@example.com \
	--issuer ldapotp-demo --type totp --digits "$DIGITS" --algorithm sha1 --period "$PERIOD" --qr "$DIR/alice.png"
[[ -s $DIR/alice.png ]] && say "(also written to $DIR/alice.png)"

# ------------------------------------------------------ 5. binds

section "5. binds through the proxy"

PROXY_URL=ldap://127.0.0.1:$PROXY_PORT

# bind NAME EXPECT DN PASSWORD: one ldapwhoami through the proxy. EXPECT is
# "ok" (the answer must be dn:DN) or "49" (Invalid credentials).
bind() {
	local name=$1 expect=$2 dn=$3 pw=$4 out rc
	say ""
	say "-- $name"
	show ldapwhoami -x -H "$PROXY_URL" -D "$dn" -w "$pw"
	out=$(timeout "$OP_TIMEOUT" ldapwhoami -x -H "$PROXY_URL" -D "$dn" -w "$pw" 2>&1) && rc=0 || rc=$?
	printf '%s\n' "$out" | sed '/^$/d; s/^/  /'
	case $expect in
	ok)
		if ((rc == 0)) && [[ $out == "dn:$dn" ]]; then
			pass "$name: bound, the directory says we are $dn"
		else
			fail "$name: expected success as dn:$dn, got exit status $rc"
		fi
		;;
	49)
		if ((rc == 49)) && [[ $out == *"Invalid credentials (49)"* ]]; then
			pass "$name: refused with Invalid credentials (49)"
		elif ((rc == 124)); then
			fail "$name: expected Invalid credentials (49), got no answer within ${OP_TIMEOUT}s"
		else
			fail "$name: expected Invalid credentials (49), got exit status $rc"
		fi
		;;
	esac
}

# code_at T prints alice's code for unix time T.
code_at() {
	"$LDAPOTP" tool code --secret-file "$DIR/alice.secret" --type totp \
		--digits "$DIGITS" --algorithm sha1 --period "$PERIOD" --time "$1"
}

# A code computed just before a step boundary may reach the proxy in the
# next step; it would still be inside the window, but the demo should show
# the plain case. So: at least 3 s left in the current step.
while :; do
	NOW=$(date +%s)
	LEFT=$((PERIOD - NOW % PERIOD))
	((LEFT < 3)) || break
	say "(${LEFT}s left in this ${PERIOD}s step: waiting for the next one)"
	sleep "$LEFT"
done
STEP=$((NOW / PERIOD))
show "$LDAPOTP" tool code --secret-file "$DIR/alice.secret" --time "$NOW"
CODE=$(code_at "$NOW")
say "  $CODE    (time step $STEP, ${LEFT}s left)"

bind "alice: password + current code" ok "$ALICE_DN" "$ALICE_PW$CODE"
bind "alice: the same code again (replay)" 49 "$ALICE_DN" "$ALICE_PW$CODE"

# A wrong code: none of the codes of the steps around now (a code of the
# next step would be accepted: the window is 1).
declare -A NEAR=()
for d in -2 -1 0 1 2; do NEAR[$(code_at $((NOW + d * PERIOD)))]=1; done
n=$(((10#$CODE + 1) % 1000000))
while [[ -n ${NEAR[$(printf '%06d' "$n")]:-} ]]; do n=$(((n + 1) % 1000000)); done
WRONG=$(printf '%06d' "$n")
bind "alice: a wrong code ($WRONG)" 49 "$ALICE_DN" "$ALICE_PW$WRONG"
bind "alice: the password alone" 49 "$ALICE_DN" "$ALICE_PW"
bind "bob (no token): password only, passed through" ok "$BOB_DN" "$BOB_PW"

# ------------------------------------------------------ 6. token state

section "6. the token state, in slapo-otp's own attributes (read as the rootdn from slapd)"
SEARCH=(ldapsearch -LLL -o ldif-wrap=no -x -H "ldap://127.0.0.1:$SLAPD_PORT" -D "$ROOT_DN" -y "$DIR/root.pw"
	-b "$TOKEN_DN" -s base oathTOTPLastTimeStep oathTOTPTimeStepDrift modifiersName modifyTimestamp)
show "${SEARCH[@]}"
if state=$(timeout "$OP_TIMEOUT" "${SEARCH[@]}" 2>&1); then
	printf '%s\n' "$state" | sed 's/^/  /'
	last=$(sed -n 's/^oathTOTPLastTimeStep: //p' <<<"$state")
	drift=$(sed -n 's/^oathTOTPTimeStepDrift: //p' <<<"$state")
	if [[ $last == "$STEP" && $drift == 0 ]]; then
		pass "oathTOTPLastTimeStep is $STEP (the step of the code used), oathTOTPTimeStepDrift is 0"
	else
		fail "expected oathTOTPLastTimeStep: $STEP and oathTOTPTimeStepDrift: 0, got '${last}' and '${drift}'"
	fi
else
	printf '%s\n' "$state" | sed 's/^/  /'
	fail "could not read $TOKEN_DN"
fi

section "what the proxy logged (one AUTH_* line per bind)"
grep -o 'msg=AUTH_[A-Z_]*.*' "$DIR/ldapotp.log" | sed 's/^/  /' || say "  (no AUTH_* lines in $DIR/ldapotp.log)"

# ------------------------------------------------------ result

section "result"
if ((FAILURES > 0)); then
	say "FAIL  $FAILURES check(s) failed; logs: $DIR/ldapotp.log, $DIR/slapd.log (printed below)"
	exit 1
fi
say "PASS  all checks passed"

if [[ ${DEMO_NONINTERACTIVE:-0} == 1 || ! -t 0 ]]; then
	exit 0
fi

cat <<EOF

The proxy and slapd keep running; try it yourself (scan the QR code above
with an authenticator app, or compute codes with 'ldapotp tool code'):

  ldapwhoami -x -H $PROXY_URL -D $ALICE_DN -w '${ALICE_PW}<code>'
  $LDAPOTP tool code --secret-file $DIR/alice.secret
  ldapwhoami -x -H $PROXY_URL -D $BOB_DN -w $BOB_PW

  proxy:  $PROXY_URL   (pid $PROXY_PID, log $DIR/ldapotp.log)
  slapd:  ldap://127.0.0.1:$SLAPD_PORT   (pid $SLAPD_PID, log $DIR/slapd.log,
          rootdn $ROOT_DN, password in $DIR/root.pw)

Press Ctrl-C to stop both and remove $DIR.
EOF
wait "$PROXY_PID" && st=0 || st=$?
PROXY_PID=""
die "the proxy exited on its own (status $st); its log follows"
