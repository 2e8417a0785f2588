#!/bin/bash
# tests/e2e/selftest.sh: checks the e2e harness itself, without pam_auth0.
#
# Instead of pam_auth0 the PAM stacks use stock modules: pam_exec with expose_authtok and a tiny
# checker script that accepts one fixed password for one test user (the script compares a
# SHA-256, so the password is never written to disk), pam_unix (to show it refuses our users),
# and, if gcc and the PAM headers are present, fixtures/pam_e2e_conv.c, a stand-in module that
# holds a pam_auth0-like conversation (info message, "One-time code: ", "Press Enter once you
# have approved").
#
# Layout: the outer script snapshots the host, runs the tests in a child (`--inner`), checks the
# host is exactly as before, then three times starts a child that sets everything up and logs in
# with a remote `sleep` running (`--hold`), and interrupts it mid-session: SIGTERM, SIGINT (the
# child must clean up by itself), and SIGKILL (sshd must go by itself, reap.sh does the rest),
# checking the host after each. Must run as root. Usage: tests/e2e/selftest.sh
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------------------------------------
# Host snapshot (outer script; it creates nothing itself).

snap_section() {
	case $1 in
	users) getent passwd | sort ;;
	groups) getent group | sort ;;
	shadow) cut -d: -f1 /etc/shadow /etc/gshadow | sort ;;
	pam.d) find /etc/pam.d -mindepth 1 -maxdepth 1 -printf '%f %m %s\n' | sort ;;
	sudoers.d) find /etc/sudoers.d -mindepth 1 -maxdepth 1 -printf '%f %m %s\n' | sort ;;
	homes) ls -A /home /var/mail 2>/dev/null ;;
	sshd-processes)
		local p
		for p in /proc/[0-9]*; do
			[[ $(readlink "$p/exe" 2>/dev/null) == /usr/sbin/sshd ]] || continue
			[[ $(sed 's/^.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1) != Z ]] || continue
			echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
		done
		;;
	processes-of-unknown-users)
		# Live processes whose uid has no passwd entry: leftovers of deleted test users.
		ps -e -o uid=,pid=,stat=,comm= | while read -r uid pid stat comm; do
			[[ $stat == Z* ]] && continue
			getent passwd "$uid" >/dev/null || echo "$uid $pid $comm"
		done
		;;
	work-dirs) find /tmp -maxdepth 1 -name 'pam_auth0_e2e.*' | sort ;;
	run-sshd) stat -c '%n %a %U' /run/sshd 2>/dev/null || echo "/run/sshd absent" ;;
	sudo-ts) ls -A /run/sudo/ts 2>/dev/null || echo "/run/sudo/ts absent" ;;
	mounts) cut -d' ' -f5 /proc/self/mountinfo | sort ;;
	root-dotssh) ls -d /root/.ssh 2>/dev/null || echo "/root/.ssh absent" ;;
	files-without-owner) find /tmp /var/tmp /dev/shm /run /home -xdev -nouser 2>/dev/null | sort ;;
	esac
}
SECTIONS=(users groups shadow pam.d sudoers.d homes sshd-processes processes-of-unknown-users
	work-dirs run-sshd sudo-ts mounts root-dotssh files-without-owner)

declare -A BEFORE=()
take_snapshot() {
	local s
	for s in "${SECTIONS[@]}"; do BEFORE[$s]=$(snap_section "$s"); done
}

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $1"; }

compare_snapshot() {
	local when=$1 s now bad=0
	for s in "${SECTIONS[@]}"; do
		now=$(snap_section "$s")
		if [[ $now != "${BEFORE[$s]}" ]]; then
			fail "host unchanged $when: $s"
			diff <(printf '%s\n' "${BEFORE[$s]}") <(printf '%s\n' "$now") | sed 's/^/  | /' || true
			bad=1
		fi
	done
	((bad)) || pass "host unchanged $when (${#SECTIONS[@]} checks: ${SECTIONS[*]})"
}

# run_child ARGS...: run this script in a child, relaying its PASS/FAIL lines into our counts.
run_child() {
	local line rc=0
	while IFS= read -r line; do
		case $line in
		PASS:*) PASSED=$((PASSED + 1)) ;;
		FAIL:*) FAILED=$((FAILED + 1)) ;;
		*" passed, "*" failed") continue ;; # the child's own summary; ours comes last
		esac
		printf '%s\n' "$line"
	done < <(bash "$HERE/selftest.sh" "$@" 2>&1)
	wait $! || rc=$?
	return "$rc"
}

# interrupt_child SIG: start a --hold child, wait until its test user's remote `sleep` runs,
# send SIG to the child's shell, and check that it cleans up within a few seconds.
interrupt_child() {
	local sig=$1 pid i rc=0
	local user=e2eh$$${sig,,}
	set -m # own process group for the child, so SIGINT is not ignored in it (bash ignores
	# SIGINT in background jobs of non-interactive shells, and then cannot trap it)
	bash "$HERE/selftest.sh" --hold "$user" >/dev/null 2>&1 &
	pid=$!
	set +m
	for ((i = 0; i < 100; i++)); do
		pgrep -u "$user" -x sleep >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ((i == 100)); then
		fail "SIG$sig: the --hold child never got its session running"
	fi
	kill "-$sig" "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "SIG$sig: child still running 10s after the signal"
		kill -KILL "$pid"
	fi
	wait "$pid" 2>/dev/null || rc=$?
	pass "SIG$sig mid-session: child exited with status $rc within $((i / 10)).$((i % 10))s"
	compare_snapshot "after SIG$sig"
}

# kill_child: like interrupt_child, but SIGKILL, which no trap can catch. sshd and expect were
# started with a parent-death signal, so they must go by themselves; the rest is reap.sh's job.
kill_child() {
	local user=e2eh$$kill pid i
	bash "$HERE/selftest.sh" --hold "$user" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		pgrep -u "$user" -x sleep >/dev/null 2>&1 && break
		sleep 0.1
	done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		[[ $(snap_section sshd-processes) == "${BEFORE[sshd-processes]}" ]] && break
		sleep 0.1
	done
	if ((i < 30)); then
		pass "SIGKILL mid-session: sshd went by itself (parent-death signal)"
	else
		fail "SIGKILL mid-session: sshd still running 3s later"
	fi
	if bash "$HERE/reap.sh" 2>&1 | sed 's/^/  | /'; then
		pass "reap.sh after SIGKILL"
	else
		fail "reap.sh after SIGKILL"
	fi
	compare_snapshot "after SIGKILL + reap.sh"
}

outer() {
	((EUID == 0)) || { echo "selftest: must run as root" >&2; exit 1; }
	local start=$SECONDS
	take_snapshot
	run_child --inner || true
	compare_snapshot "after the tests"
	interrupt_child TERM
	interrupt_child INT
	kill_child
	echo "selftest: took $((SECONDS - start))s"
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0 && PASSED > 0))
}

# ---------------------------------------------------------------------------------------------
# Fixtures (inner script, after e2e_init).

# The pam_exec checker: accepts $1 with the password whose SHA-256 is $2. It reads its settings
# from a side file because pam_exec passes no environment of ours, and arguments in the PAM
# line would be visible in ps.
make_checker() {
	local user=$1 hash=$2
	printf 'want_user=%q\nwant_hash=%q\nlog=%q\n' "$user" "$hash" "$E2E_WORK/checker.log" \
		>"$E2E_WORK/checker.conf"
	cat >"$E2E_WORK/checker" <<-'EOF'
		#!/bin/bash -p
		# pam_exec expose_authtok checker for the e2e selftest. -p: under setuid su/sudo the real
		# uid is the user's, and bash would otherwise drop its euid 0 and could not write the log.
		. "${0%/*}/checker.conf"
		printf 'service=%s type=%s user=%s\n' "${PAM_SERVICE-}" "${PAM_TYPE-}" "${PAM_USER-}" >>"$log"
		[[ ${PAM_USER-} == "$want_user" ]] || exit 1
		IFS= read -r -d '' pw || true # pam_exec writes the token NUL-terminated
		sum=$(printf '%s' "$pw" | sha256sum)
		[[ ${sum%% *} == "$want_hash" ]]
	EOF
	chmod 0755 "$E2E_WORK/checker"
}

build_conv_module() {
	command -v gcc >/dev/null && [[ -f /usr/include/security/pam_modules.h ]] || return 1
	gcc -shared -fPIC -O1 -Wall -Wextra -Werror -o "$E2E_WORK/pam_e2e_conv.so" \
		"$HERE/fixtures/pam_e2e_conv.c" -lpam
}

# In the dialogue: list processes whose argv or environment contains secret NAME. Runs inside
# expect (Tcl reads /proc itself), so no helper process ever holds the secret in its argv.
# shellcheck disable=SC2016 # Tcl, not shell
LEAK_SCAN='
proc leak_scan {name} {
	global e2e_secrets e2e_rundir
	set hits {}
	foreach f [glob -nocomplain {/proc/[0-9]*/cmdline} {/proc/[0-9]*/environ}] {
		if {[catch {set fh [open $f r]}]} continue
		fconfigure $fh -translation binary
		catch {set data [read $fh]}
		close $fh
		if {[string first $e2e_secrets($name) $data] >= 0} { lappend hits $f }
	}
	set fh [open [file join $e2e_rundir leaks] a]
	puts $fh "[llength $hits] $hits"
	close $fh
}
'

# ---------------------------------------------------------------------------------------------
# The tests (inner script).

inner() {
	# shellcheck source=tests/e2e/lib.sh
	. "$HERE/lib.sh"
	e2e_init
	local user=e2eu$$ other=e2ev$$ svc=pam_auth0_e2e_$$ hash out
	e2e_secret pw 'Corr3ct horse, battery staple!' # spaces and punctuation on purpose
	e2e_secret wrong 'not the password'
	e2e_secret otp 123456

	# --- harness basics
	e2e_assert_eq "work dir is mode 0755" 755 "$(stat -c %a "$E2E_WORK")"
	e2e_add_user "$user"
	e2e_add_user "$other"
	e2e_assert_eq "test user has '*' as shadow password" '*' "$(getent shadow "$user" | cut -d: -f2)"
	e2e_check "test user has uid >= 1000" test "$(id -u "$user")" -ge 1000
	e2e_assert_eq "test user has bash" /bin/bash "$(getent passwd "$user" | cut -d: -f7)"
	if out=$( (e2e_add_user root) 2>&1); then
		e2e_fail "e2e_add_user refuses an existing user"
	else
		e2e_assert_contains "e2e_add_user refuses an existing user" "$out" "already exists"
	fi
	if out=$( (e2e_pam_service sshd <<<'auth required pam_deny.so') 2>&1); then
		e2e_fail "e2e_pam_service refuses to overwrite"
	else
		e2e_assert_contains "e2e_pam_service refuses to overwrite" "$out" "refusing to overwrite"
	fi
	if out=$( (e2e_sudoers_dropin "e2e_bad_$$" "this is not sudoers syntax") 2>&1); then
		e2e_fail "e2e_sudoers_dropin validates with visudo"
	else
		e2e_assert_contains "e2e_sudoers_dropin validates with visudo" "$out" "visudo rejects"
	fi

	# --- PAM stacks
	hash=$(e2e_secret_print pw | tr -d '\n' | sha256sum)
	make_checker "$user" "${hash%% *}"
	e2e_pam_service "$svc" <<-EOF
		auth    required pam_exec.so quiet expose_authtok $E2E_WORK/checker
		auth    required pam_permit.so
		account required pam_permit.so
		session required pam_permit.so
	EOF
	e2e_pam_service "${svc}_unix" <<-EOF
		auth    required pam_unix.so
		account required pam_permit.so
		session required pam_permit.so
	EOF
	e2e_check "PAM service files installed" test -f "/etc/pam.d/$svc" -a -f "/etc/pam.d/${svc}_unix"

	# --- sshd, password method
	e2e_start_sshd "$svc"
	e2e_check "sshd listens on 127.0.0.1:$E2E_SSH_PORT" \
		grep -qF "Server listening on 127.0.0.1 port $E2E_SSH_PORT." "$E2E_SSHD_LOG"
	e2e_check "sshd runs as our symlink named after the PAM service" \
		test "$(cat "/proc/$E2E_SSHD_PID/comm")" = "${svc:0:15}"

	e2e_ssh "$user" 'id -un' <<-EOF || true
		$LEAK_SCAN
		await "password: "
		leak_scan pw
		send_secret pw
	EOF
	e2e_assert_eq "password method: right password logs in, remote id -un" "$user" "$E2E_OUT"
	e2e_assert_eq "password method: ssh exit status 0" 0 "$E2E_RC"
	e2e_assert_contains "sshd used PAM service '$svc' (named by argv[0])" \
		"$(cat "$E2E_WORK/checker.log")" "service=$svc type=auth user=$user"
	e2e_assert_eq "password not in any process's argv/environment" "0" \
		"$(cut -d' ' -f1 "$E2E_RUN_DIR/leaks")"
	e2e_assert_not_contains "password not in the transcript" "$E2E_TRANSCRIPT" "$(e2e_secret_print pw)"

	e2e_ssh "$user" 'id -un' <<-'EOF' || true
		answer "password: " wrong
	EOF
	e2e_assert_eq "password method: wrong password refused (ssh 255)" 255 "$E2E_RC"
	e2e_assert_contains "password method: client says Permission denied" "$E2E_TRANSCRIPT" "Permission denied"
	e2e_assert_eq "password method: no remote output after refusal" "" "$E2E_OUT"

	e2e_ssh -n 2 "$user" 'echo second-try-ok' <<-'EOF' || true
		answer "password: " wrong
		answer "password: " pw
	EOF
	e2e_assert_eq "NumberOfPasswordPrompts=2: wrong, then right" "second-try-ok" "$E2E_OUT"

	# --- keyboard-interactive
	e2e_ssh -m keyboard-interactive "$user" 'id -un' <<-'EOF' || true
		answer "Password: " pw
	EOF
	e2e_assert_eq "keyboard-interactive: right password logs in" "$user" "$E2E_OUT"
	e2e_assert_contains "keyboard-interactive: the prompt is PAM's, tagged by ssh" \
		"$E2E_TRANSCRIPT" "($user@pam-auth0-e2e) Password: "
	e2e_ssh -m keyboard-interactive "$user" 'id -un' <<-'EOF' || true
		answer "Password: " wrong
	EOF
	e2e_assert_eq "keyboard-interactive: wrong password refused" 255 "$E2E_RC"

	# --- remote pty and interactive shell
	e2e_ssh -t -m keyboard-interactive "$user" <<-'EOF' || true
		answer "Password: " pw
		await -re {\$ $}
		send_line {echo "tty=$(tty | cut -c1-9) sum=$((6*7))"; exit}
		await "sum=42"
	EOF
	e2e_assert_contains "ssh -tt: interactive shell on a remote pty" "$E2E_TRANSCRIPT" "tty=/dev/pts/ sum=42"

	# --- pam_unix refuses a '*' account, whatever the password
	e2e_start_sshd "${svc}_unix"
	e2e_ssh "$user" 'id -un' <<-'EOF' || true
		answer "password: " pw
	EOF
	e2e_assert_eq "pam_unix refuses the '*' test user" 255 "$E2E_RC"

	# --- multi-prompt conversation (pam_auth0-like), if we can build the fixture module
	if build_conv_module; then
		conv_tests "$user" "$svc"
	else
		echo "SKIP: conversation tests (no gcc or no PAM headers)"
	fi

	# --- sudo with pam_service
	sudo_tests "$user" "$svc"

	# --- su and login with their PAM service swapped in a private mount namespace
	local su_before mounts_before
	su_before=$(sha256sum /etc/pam.d/su /etc/pam.d/su-l /etc/pam.d/login)
	mounts_before=$(cut -d' ' -f5 /proc/self/mountinfo | sort)
	e2e_spawn -u "$other" -O -P "su=$svc" -- su -c 'id -un' "$user" <<-'EOF' || true
		answer "Password: " pw
	EOF
	e2e_assert_eq "su (as another user, service su -> $svc) runs the command" "$user" "$E2E_OUT"
	e2e_assert_contains "su: PAM_SERVICE is still 'su' though the stack is $svc's" \
		"$(cat "$E2E_WORK/checker.log")" "service=su type=auth user=$user"
	e2e_spawn -u "$other" -O -P "su=$svc" -- su -c 'id -un' "$user" <<-'EOF' || true
		answer "Password: " wrong
	EOF
	# pam_exec turns any failure of its command into PAM_SYSTEM_ERR, so su says "System error".
	e2e_assert_eq "su with a wrong password fails, runs nothing" "1/" "$E2E_RC/$E2E_OUT"
	e2e_spawn -P "login=$svc" -- login "$user" <<-'EOF' || true
		answer "Password: " pw
		await -re {\$ $}
		send_line {echo "login-shell=$0"; exit}
		await "login-shell=-bash"
	EOF
	e2e_assert_eq "login (service login -> $svc) gives a login shell" "" "$E2E_ERR"
	e2e_assert_eq "host's /etc/pam.d/su, su-l, login untouched" "$su_before" \
		"$(sha256sum /etc/pam.d/su /etc/pam.d/su-l /etc/pam.d/login)"
	e2e_assert_eq "no mount leaked from the namespaces" "$mounts_before" \
		"$(cut -d' ' -f5 /proc/self/mountinfo | sort)"

	e2e_summary
}

conv_tests() {
	local user=$1 svc=$2
	e2e_pam_service "${svc}_conv" <<-EOF
		auth    required pam_exec.so quiet expose_authtok $E2E_WORK/checker
		auth    required $E2E_WORK/pam_e2e_conv.so code=123456
		auth    required pam_permit.so
		account required pam_permit.so
		session required pam_permit.so
	EOF
	e2e_start_sshd "${svc}_conv"
	e2e_ssh -m keyboard-interactive "$user" 'id -un' <<-'EOF' || true
		answer "Password: " pw
		answer "One-time code: " otp
		reply "Press Enter once you have approved" ""
	EOF
	e2e_assert_eq "kbd-int: Password, One-time code, Press Enter -> logged in" "$user" "$E2E_OUT"
	# OpenSSH bug 2876: a PAM info message reaches the client only together with the next
	# prompt (ssh prints it as part of that prompt), not when the module sends it...
	e2e_check "kbd-int: info message arrives with the next prompt (bug 2876)" \
		grep -qzP 'E2E-INFO-1 visit https://example\.invalid/activate\nOne-time code: ' <<<"$E2E_TRANSCRIPT"
	e2e_check "kbd-int: second info message with the Press Enter prompt" \
		grep -qzP 'E2E-INFO-2 approve the request\nPress Enter once you have approved' <<<"$E2E_TRANSCRIPT"
	# ...and one sent after the last prompt is only shown after authentication succeeded, as
	# the SSH banner (so `ssh -q` or LogLevel QUIET hides it).
	e2e_assert_contains "kbd-int: message after the last prompt shown after success (banner)" \
		"$E2E_TRANSCRIPT" "E2E-INFO-3 approved"
	e2e_ssh -m keyboard-interactive -o LogLevel=QUIET "$user" 'id -un' <<-'EOF' || true
		answer "Password: " pw
		answer "One-time code: " otp
		reply "Press Enter once you have approved" ""
	EOF
	e2e_assert_not_contains "kbd-int with LogLevel QUIET: the banner message is hidden" \
		"$E2E_TRANSCRIPT" "E2E-INFO-3"
	e2e_assert_contains "kbd-int with LogLevel QUIET: prompt-borne messages still shown" \
		"$E2E_TRANSCRIPT" "E2E-INFO-1"

	e2e_ssh -m keyboard-interactive "$user" 'id -un' <<-'EOF' || true
		answer "Password: " pw
		reply "One-time code: " "000000"
	EOF
	e2e_assert_eq "kbd-int: wrong code refused" 255 "$E2E_RC"
	e2e_assert_contains "kbd-int: the module's error message is shown on failure" \
		"$E2E_TRANSCRIPT" "E2E-ERROR wrong code"

	# The password method cannot carry an echo-on prompt: sshd answers echo-off prompts with the
	# password and fails the conversation on anything else.
	e2e_ssh -m password "$user" 'id -un' <<-'EOF' || true
		answer "password: " pw
	EOF
	e2e_assert_eq "password method with a One-time code prompt: refused" 255 "$E2E_RC"
	e2e_check "password method: sshd logs a PAM conversation error" \
		grep -q 'password authentication failed for .*: Conversation error' "$E2E_SSHD_LOG"
}

sudo_tests() {
	local user=$1 svc=$2 out rc
	e2e_sudoers_dropin "pam_auth0_e2e_$$" "Defaults:$user pam_service=$svc
$user ALL=(root) /usr/bin/id"
	e2e_check "sudoers drop-in installed 0440" test "$(stat -c %a "/etc/sudoers.d/pam_auth0_e2e_$$")" = 440
	: >"$E2E_WORK/checker.log"
	rc=0
	out=$(e2e_secret_print pw | e2e_run_as "$user" sudo -S -p 'e2e-sudo-prompt:' /usr/bin/id -un 2>&1) || rc=$?
	e2e_assert_eq "sudo -S via pam_service=$svc: right password runs as root" "e2e-sudo-prompt:root/0" "$out/$rc"
	e2e_assert_contains "sudo used PAM service $svc (Defaults:user pam_service)" \
		"$(cat "$E2E_WORK/checker.log")" "service=$svc type=auth user=$user"
	rc=0
	out=$(e2e_secret_print wrong | e2e_run_as "$user" sudo -S -k -p 'e2e-sudo-prompt:' /usr/bin/id -un 2>&1) || rc=$?
	e2e_assert_eq "sudo -S: wrong password refused" 1 "$rc"
	e2e_assert_not_contains "sudo -S: nothing ran" "$out" "root"
	e2e_spawn -u "$user" -O -- sudo -k -p 'e2e-sudo-tty-prompt: ' /usr/bin/id -un <<-'EOF' || true
		answer "e2e-sudo-tty-prompt: " pw
	EOF
	e2e_assert_eq "sudo on a pty (expect answers the prompt)" "root" "$E2E_OUT"
}

# A test that never finishes on its own: the outer script interrupts it mid-session.
hold() {
	# shellcheck source=tests/e2e/lib.sh
	. "$HERE/lib.sh"
	e2e_init
	local user=$1 svc=pam_auth0_e2e_$$
	e2e_add_user "$user"
	e2e_pam_service "$svc" <<-'EOF'
		auth    required pam_permit.so
		account required pam_permit.so
		session required pam_permit.so
	EOF
	e2e_sudoers_dropin "pam_auth0_e2e_$$" "Defaults:$user pam_service=$svc"
	e2e_secret pw unused
	e2e_start_sshd "$svc"
	E2E_TIMEOUT=60 e2e_ssh "$user" 'sleep 60' <<-'EOF'
		answer "password: " pw
	EOF
	echo "hold: the session ended by itself; it should have been interrupted" >&2
	exit 1
}

case ${1:-} in
--inner) inner ;;
--hold) hold "${2:?}" ;;
'') outer ;;
*)
	echo "usage: $0" >&2
	exit 2
	;;
esac
