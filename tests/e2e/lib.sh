# shellcheck shell=bash
# shellcheck disable=SC2034 # E2E_* results are set here and read by the tests that source us
# tests/e2e/lib.sh: end-to-end harness for pam_auth0.
#
# Runs the real OpenSSH sshd on a loopback port with a PAM service of the test's choosing, and
# drives the real ssh / sudo / su / login through expect. Everything it creates on the host (test
# users, /etc/pam.d and /etc/sudoers.d files, sshd processes, the work dir) is registered for
# removal the moment it is created, and removed by an EXIT/INT/TERM/HUP trap, so the host is left
# as found even when a test fails or is interrupted. See README.md for the contract and examples.
#
# Source it from a bash test script that runs as root:
#     . "$(dirname "$0")/lib.sh"; e2e_init
# All e2e_* setup functions must be called from the test's main shell (not from $(...), a pipeline
# or ( ... )): a subshell cannot register cleanup with the main shell, so they refuse to run there.

if [[ -n ${_E2E_LIB_SOURCED:-} ]]; then return 0; fi
_E2E_LIB_SOURCED=1
set -euo pipefail

E2E_LIB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
: "${E2E_TIMEOUT:=15}"  # seconds expect waits for each prompt, and for the command to exit
: "${E2E_VERBOSE:=0}"   # 1: show every dialogue live (on stdout) as well as in its transcript
: "${E2E_DIAG:=1}"      # 1: e2e_fail prints the last transcript and the sshd log tail
: "${E2E_KEEP_LOGS:=}"  # a directory: copy the work dir there before it is deleted
export E2E_TIMEOUT E2E_VERBOSE

E2E_SSHD_BIN=/usr/sbin/sshd
E2E_SSH_BIN=/usr/bin/ssh
E2E_HOST_KEY_ALIAS=pam-auth0-e2e

# Public state (read by tests).
E2E_WORK=""        # private work dir
E2E_PASSED=0
E2E_FAILED=0
E2E_SSH_PORT=""    # port of the most recently started sshd
E2E_SSHD_LOG=""    # its -E log (LogLevel DEBUG3)
E2E_SSHD_PID=""
E2E_RC=""          # results of the last e2e_ssh / e2e_spawn: exit status of the command,
E2E_OUT=""         #   its stdout (when captured separately; see -O),
E2E_TRANSCRIPT=""  #   everything it printed on its terminal (CRs removed),
E2E_ERR=""         #   why the dialogue failed ("" if it did not),
E2E_RUN_DIR=""     #   and the dir holding transcript, stdout, body.exp, cmdline

# Internal state.
_E2E_CLEANUP=()     # cleanup stack: shell-quoted commands, run last-registered-first
_E2E_MAIN_PID=""    # BASHPID of the shell that ran e2e_init
_E2E_SEQ=0          # numbers the sshd and run dirs
_E2E_FG_PID=""      # the expect (or e2e_run_as) child currently running, killed first on cleanup
_E2E_PRIVSEP_FD=""  # shared flock on /run/sshd while our sshd may use it
_E2E_SUMMARY_DONE=0
_E2E_REAPING=""     # set by e2e_reap: the dead run's work dir
declare -A _E2E_SECRETS=()

# ---------------------------------------------------------------------------------------------
# Reporting

_e2e_log() { printf 'e2e: %s\n' "$*" >&2; }

# e2e_die MSG: harness error; abort the test script (the EXIT trap still cleans up).
e2e_die() {
	printf 'e2e: FATAL: %s\n' "$*" >&2
	exit 1
}

# e2e_pass NAME
e2e_pass() {
	E2E_PASSED=$((E2E_PASSED + 1))
	printf 'PASS: %s\n' "$1"
}

# e2e_fail NAME [REASON...]: record a failed check and keep going. With E2E_DIAG=1 it also shows
# what the last dialogue printed and the tail of the sshd log, which is usually enough to see why.
e2e_fail() {
	local name=$1
	shift
	E2E_FAILED=$((E2E_FAILED + 1))
	printf 'FAIL: %s%s\n' "$name" "${1:+ -- $*}"
	[[ $E2E_DIAG == 1 ]] || return 0
	if [[ -n $E2E_RUN_DIR && -f $E2E_RUN_DIR/cmdline ]]; then
		printf '  | last command: %s\n' "$(<"$E2E_RUN_DIR/cmdline")"
		printf '  | rc=%s err=%s\n  | transcript:\n' "$E2E_RC" "${E2E_ERR:-none}"
		printf '%s\n' "$E2E_TRANSCRIPT" | tail -n 25 | sed 's/^/  |   /'
	fi
	if [[ -n $E2E_SSHD_LOG && -f $E2E_SSHD_LOG && -f $E2E_RUN_DIR/cmdline &&
		$(<"$E2E_RUN_DIR/cmdline") == "$E2E_SSH_BIN "* ]]; then
		printf '  | sshd log (%s), last lines:\n' "$E2E_SSHD_LOG"
		tail -n 15 "$E2E_SSHD_LOG" | sed 's/^/  |   /'
	fi
}

# e2e_check NAME CMD...: PASS if CMD succeeds, else FAIL.
e2e_check() {
	local name=$1
	shift
	if "$@"; then e2e_pass "$name"; else e2e_fail "$name" "command failed: $*"; fi
}

# e2e_assert_eq NAME EXPECTED ACTUAL
e2e_assert_eq() {
	if [[ $2 == "$3" ]]; then
		e2e_pass "$1"
	else
		e2e_fail "$1" "expected '$2', got '$3'"
	fi
}

# e2e_assert_contains NAME HAYSTACK NEEDLE (literal substring)
e2e_assert_contains() {
	if [[ $2 == *"$3"* ]]; then
		e2e_pass "$1"
	else
		e2e_fail "$1" "'$3' not found"
	fi
}

# e2e_assert_not_contains NAME HAYSTACK NEEDLE
e2e_assert_not_contains() {
	if [[ $2 != *"$3"* ]]; then
		e2e_pass "$1"
	else
		e2e_fail "$1" "'$3' unexpectedly found"
	fi
}

# e2e_summary: print "N passed, N failed"; returns non-zero if anything failed or nothing ran.
e2e_summary() {
	_E2E_SUMMARY_DONE=1
	printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
	((E2E_FAILED == 0 && E2E_PASSED > 0))
}

# ---------------------------------------------------------------------------------------------
# Cleanup machinery

_e2e_require_main_shell() {
	[[ -n $_E2E_MAIN_PID ]] || e2e_die "call e2e_init first"
	[[ $BASHPID == "$_E2E_MAIN_PID" ]] ||
		e2e_die "${FUNCNAME[1]} must run in the test's main shell, not in a subshell (its cleanup would be lost)"
}

# _e2e_defer CMD ARGS...: push a cleanup action. Sets _E2E_DEFER_ID so it can be withdrawn.
# The stack is mirrored to $E2E_WORK/.cleanup, so that e2e_reap (reap.sh) can still undo a run
# that was SIGKILLed; it holds names and paths only, never a secret.
_e2e_defer() {
	local q
	printf -v q '%q ' "$@"
	_E2E_CLEANUP+=("$q")
	_E2E_DEFER_ID=$((${#_E2E_CLEANUP[@]} - 1))
	[[ -z $E2E_WORK || ! -d $E2E_WORK ]] || printf '%s %s\n' "$_E2E_DEFER_ID" "$q" >>"$E2E_WORK/.cleanup"
}

_e2e_undefer() {
	_E2E_CLEANUP[$1]=""
	[[ -z $E2E_WORK || ! -f $E2E_WORK/.cleanup ]] || printf '%s \n' "$1" >>"$E2E_WORK/.cleanup"
}

_e2e_on_signal() {
	_e2e_log "interrupted by SIG$1; cleaning up"
	exit "$2" # runs the EXIT trap
}

# With set -e a failing command ends the script; say which one, or "aborted" is all one sees.
_e2e_on_err() {
	local rc=$?
	[[ $BASHPID == "$_E2E_MAIN_PID" && $_E2E_SUMMARY_DONE == 0 ]] || return "$rc"
	_e2e_log "command failed (status $rc) at ${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]}: $BASH_COMMAND"
	return "$rc"
}

_e2e_cleanup() {
	local rc=$? i
	# Finish cleaning up even if interrupted again, or if whoever reads our output has gone.
	trap '' INT TERM HUP PIPE
	trap - ERR
	set +e
	[[ $BASHPID == "$_E2E_MAIN_PID" ]] || return 0
	_e2e_kill_foreground
	for ((i = ${#_E2E_CLEANUP[@]} - 1; i >= 0; i--)); do
		[[ -n ${_E2E_CLEANUP[i]} ]] || continue
		eval "${_E2E_CLEANUP[i]}" || _e2e_log "cleanup step failed: ${_E2E_CLEANUP[i]}"
	done
	_E2E_CLEANUP=()
	if ((rc != 0 && _E2E_SUMMARY_DONE == 0)); then
		printf 'FAIL: %s aborted (exit %d)\n' "$(basename -- "$0")" "$rc"
	fi
	exit "$rc"
}

# e2e_init: create the work dir and install the cleanup trap. Call once, first.
e2e_init() {
	[[ -z $_E2E_MAIN_PID ]] || e2e_die "e2e_init called twice"
	((EUID == 0)) || e2e_die "the e2e tests must run as root"
	local c
	for c in "$E2E_SSHD_BIN" "$E2E_SSH_BIN" expect ssh-keygen useradd userdel getent setpriv unshare \
		flock ps pgrep cmp; do
		command -v "$c" >/dev/null || e2e_die "missing $c (run tools/install-deps)"
	done
	_E2E_MAIN_PID=$BASHPID
	trap _e2e_cleanup EXIT
	trap '_e2e_on_signal INT 130' INT
	trap '_e2e_on_signal TERM 143' TERM
	trap '_e2e_on_signal HUP 129' HUP
	# SIGPIPE too: a test piped into `head` would otherwise die without cleaning up.
	trap '_e2e_on_signal PIPE 141' PIPE
	set -E
	trap _e2e_on_err ERR
	# Registered before mktemp, so no signal can fall between creating the dir and this.
	_e2e_defer _e2e_remove_work
	E2E_WORK=$(mktemp -d /tmp/pam_auth0_e2e.XXXXXXXX) || e2e_die "mktemp failed"
	# 0755: the sshd privsep child and test users must be able to traverse it and read
	# fixtures; nothing secret is ever written here (see e2e_secret).
	chmod 0755 "$E2E_WORK"
	_E2E_RUN_ID=${E2E_WORK##*/}
	# Who owns the run (pid and start time, which together never repeat): see e2e_reap.
	printf '%s %s\n' "$BASHPID" "$(_e2e_starttime "$BASHPID")" >"$E2E_WORK/.owner"
	_e2e_defer _e2e_sudo_ts_cleanup "$([[ -d /run/sudo/ts ]] && echo 1 || echo 0)"
}

_e2e_starttime() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

_e2e_remove_work() {
	local dir=${E2E_WORK:-}
	[[ $dir == /tmp/pam_auth0_e2e.* && -d $dir ]] || return 0
	if [[ -n $E2E_KEEP_LOGS ]]; then
		mkdir -p -- "$E2E_KEEP_LOGS" && cp -a -- "$dir" "$E2E_KEEP_LOGS/" &&
			_e2e_log "work dir copied to $E2E_KEEP_LOGS/${dir##*/}"
	fi
	rm -rf --one-file-system -- "$dir"
}

# sudo creates /run/sudo/ts the first time it records a timestamp; remove it again if our test
# users' sudo calls were what created it (their own files are removed with the users).
_e2e_sudo_ts_cleanup() {
	(($1 == 0)) || return 0
	rmdir /run/sudo/ts 2>/dev/null || true
}

# _e2e_alive PID: the process exists and is not a zombie.
_e2e_alive() {
	local state
	[[ -r /proc/$1/stat ]] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $state && $state != Z ]]
}

# _e2e_descendants PID: print all descendants of PID (children first-level first).
_e2e_descendants() {
	ps -e -o pid= -o ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(kids[root], q, " ")
			for (i = 1; i <= n; i++) {
				print q[i]
				m = split(kids[q[i]], more, " ")
				for (j = 1; j <= m; j++) q[++n] = more[j]
			}
		}'
}

# _e2e_kill_tree PID: stop a process we started and everything below it, leaves first, so that
# each parent is still alive to reap its child: an orphan would be left to PID 1, and where PID 1
# does not reap (as in some containers) it would stay a zombie for good.
_e2e_kill_tree() {
	local pid=$1 i
	local -a pids
	mapfile -t pids < <(_e2e_descendants "$pid")
	pids=("$pid" "${pids[@]}") # parents before children
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do _e2e_stop_one "${pids[i]}"; done
	wait "$pid" 2>/dev/null
	return 0
}

# _e2e_stop_one PID: TERM (HUP too: an interactive shell ignores TERM), wait up to half a second
# for it to be gone or be a zombie nobody else will reap, then KILL.
_e2e_stop_one() {
	local p=$1 i ppid
	kill -TERM "$p" 2>/dev/null || return 0
	kill -HUP "$p" 2>/dev/null
	for ((i = 0; i < 10; i++)); do
		[[ -e /proc/$p ]] || return 0
		if ! _e2e_alive "$p"; then
			ppid=$(ps -o ppid= -p "$p" | tr -d ' ')
			[[ $ppid == "$_E2E_MAIN_PID" || $ppid == 1 || -z $ppid ]] && return 0
		fi
		sleep 0.05
	done
	kill -KILL "$p" 2>/dev/null
	return 0
}

_e2e_kill_foreground() {
	[[ -n $_E2E_FG_PID ]] || return 0
	_e2e_kill_tree "$_E2E_FG_PID"
	_E2E_FG_PID=""
}

# _e2e_install_exclusive SRC DST MODE: install a copy of SRC at DST, failing if DST exists.
# The file is written under a dot-name in the same directory (ignored by both PAM and sudo's
# @includedir) and then hard-linked into place: link(2) fails if DST exists, so we never clobber a
# file and DST never exists with partial content or the wrong mode. Removal is registered before
# DST exists and only removes a file identical to SRC, so a signal at any point is safe.
_e2e_install_exclusive() {
	local src=$1 dst=$2 mode=$3 tmp id
	tmp=$(dirname -- "$dst")/.${dst##*/}.e2e-$$
	_e2e_defer rm -f -- "$tmp"
	install -m "$mode" -o root -g root -- "$src" "$tmp" || e2e_die "cannot write $tmp"
	_e2e_defer _e2e_remove_if_same "$dst" "$src"
	id=$_E2E_DEFER_ID
	if ! ln -T -- "$tmp" "$dst" 2>/dev/null; then
		_e2e_undefer "$id"
		rm -f -- "$tmp"
		e2e_die "$dst already exists; refusing to overwrite it"
	fi
	rm -f -- "$tmp"
}

_e2e_remove_if_same() {
	if [[ -f $1 ]] && cmp -s -- "$1" "$2"; then rm -f -- "$1"; fi
}

# e2e_reap: undo what runs that died without cleaning up (SIGKILL, a crash, power loss) left
# behind. A run is dead when the shell recorded in its work dir's .owner (pid + start time) is
# gone; its .cleanup stack is then replayed. Live runs are left alone. reap.sh calls this.
e2e_reap() {
	((EUID == 0)) || e2e_die "e2e_reap must run as root"
	local dir pid start
	for dir in /tmp/pam_auth0_e2e.*; do
		[[ -d $dir ]] || continue
		if [[ ! -f $dir/.owner ]]; then
			_e2e_log "skipping $dir: no .owner file"
			continue
		fi
		read -r pid start <"$dir/.owner"
		[[ -d /proc/$pid && $(_e2e_starttime "$pid") == "$start" ]] && continue # still running
		_e2e_log "reaping $dir (its run, pid $pid, is gone)"
		(_e2e_reap_dir "$dir")
	done
}

_e2e_reap_dir() {
	local dir=$1 id cmd
	local -a stack=()
	while read -r id cmd; do stack[id]=$cmd; done <"$dir/.cleanup" # "ID" alone = withdrawn
	set +e
	E2E_WORK=$dir _E2E_REAPING=$dir _E2E_RUN_ID=${dir##*/} _E2E_MAIN_PID=$BASHPID
	for id in $(printf '%s\n' "${!stack[@]}" | sort -rn); do
		[[ -n ${stack[id]} ]] || continue
		eval "${stack[id]}" || _e2e_log "reap step failed: ${stack[id]}"
	done
	_e2e_remove_work
}

# ---------------------------------------------------------------------------------------------
# Secrets. Passwords never appear in any process's argv or environment, and are never written to
# disk: e2e_secret keeps them in this shell's memory, and each e2e_ssh/e2e_spawn streams them to
# expect over a pipe on its stdin (expect's stdin is otherwise unused: the command it drives gets
# a pty). A 0600 file would also hide them from other users, but /tmp is usually on disk, so the
# value would survive in freed blocks after the "wipe"; the pipe leaves nothing behind.

# e2e_secret NAME [VALUE]: define a secret; without VALUE, read one line from stdin.
e2e_secret() {
	local name=$1 value
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || e2e_die "bad secret name '$name'"
	if (($# >= 2)); then value=$2; else IFS= read -r value || true; fi
	[[ $value != *$'\n'* ]] || e2e_die "secret '$name' must not contain a newline"
	_E2E_SECRETS[$name]=$value
}

# e2e_secret_print NAME: the secret and a newline on stdout, e.g. for `sudo -S` via a pipe.
e2e_secret_print() {
	[[ -n ${_E2E_SECRETS[$1]+set} ]] || e2e_die "no secret named '$1'"
	printf '%s\n' "${_E2E_SECRETS[$1]}"
}

_e2e_secret_stream() {
	local k
	for k in "${!_E2E_SECRETS[@]}"; do printf '%s\t%s\n' "$k" "${_E2E_SECRETS[$k]}"; done
}

# ---------------------------------------------------------------------------------------------
# Users

# e2e_user_runtime_dir USER: /run/user/UID (0700, USER's), as pam_systemd would make it, where
# auth0-credentials keeps its lock files (there is no pam_systemd here). Made only when missing,
# and then removed on cleanup if it still belongs to that uid. Call after e2e_add_user USER.
e2e_user_runtime_dir() {
	local u=${1:?usage: e2e_user_runtime_dir USER} uid
	uid=$(id -u "$u")
	[[ ! -e /run/user/$uid ]] || return 0
	install -d -m 0700 -o "$uid" -g "$(id -g "$u")" "/run/user/$uid"
	_e2e_defer _e2e_runtime_dir_cleanup "$uid"
}

_e2e_runtime_dir_cleanup() {
	local d=/run/user/$1
	if [ -d "$d" ] && [ ! -L "$d" ] && [ "$(stat -c %u "$d")" = "$1" ]; then
		rm -rf --one-file-system -- "$d"
	fi
}

# e2e_add_user NAME: create a Linux user (home, bash shell, uid >= 1000) with '*' as its shadow
# password: crypt() never yields '*', so pam_unix refuses every password, but unlike '!' it is not
# a "locked" marker (see README: sshd skips its own lock check with UsePAM=yes either way).
# Removed, with its processes, home and group, on cleanup.
e2e_add_user() {
	local name=${1:?usage: e2e_add_user NAME} base uid
	[[ $name =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || e2e_die "bad user name '$name'"
	getent passwd "$name" >/dev/null &&
		e2e_die "user '$name' already exists and was not created by this run; refusing to touch it"
	getent group "$name" >/dev/null && e2e_die "group '$name' already exists; refusing to touch it"
	base=$(useradd -D | sed -n 's/^HOME=//p')
	[[ ! -e ${base:-/home}/$name && ! -e /var/mail/$name ]] ||
		e2e_die "${base:-/home}/$name or /var/mail/$name already exists; refusing to touch it"
	_e2e_require_main_shell
	# The GECOS marker is what the cleanup checks before deleting, so it can be registered
	# before the user exists and still never deletes someone else's account.
	local marker="pam_auth0 e2e ${_E2E_RUN_ID}"
	_e2e_defer _e2e_del_user "$name" "$marker"
	useradd -m -s /bin/bash -c "$marker" -p '*' -- "$name" || e2e_die "useradd $name failed"
	uid=$(id -u -- "$name")
	((uid >= 1000)) || e2e_die "useradd gave $name uid $uid (< 1000); check UID_MIN in /etc/login.defs"
}

_e2e_del_user() {
	local name=$1 marker=$2 entry uid gecos out i
	entry=$(getent passwd "$name") || return 0
	IFS=: read -r _ _ uid _ gecos _ <<<"$entry"
	if [[ $gecos != "$marker" ]]; then
		_e2e_log "not deleting user $name: it is not the one this run created"
		return 1
	fi
	local -a pids
	for ((i = 0; i < 20; i++)); do # its sessions may still be forking; repeat until none are left
		mapfile -t pids < <(_e2e_user_pids "$uid")
		((${#pids[@]})) || break
		kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.05
	done
	# The kernel keeps a uid's user keyrings (and a hand-off in them) after userdel; the next
	# run's user of the same uid would find them.
	setpriv --reuid="$uid" --regid="$(id -g -- "$name")" --clear-groups -- \
		sh -c 'keyctl invalidate @u; keyctl invalidate @us' >/dev/null 2>&1 || true
	if ! out=$(userdel -r -- "$name" 2>&1); then
		out=$(userdel -r -f -- "$name" 2>&1) || { _e2e_log "userdel $name: $out"; return 1; }
	fi
	rm -f -- "/run/sudo/ts/$name"
}

# Live (non-zombie) processes whose real or effective uid is UID. Zombies are skipped: they are
# already dead, and where PID 1 does not reap orphans they never go away.
_e2e_user_pids() {
	local p
	for p in $(pgrep -u "$1"; pgrep -U "$1"); do _e2e_alive "$p" && echo "$p"; done | sort -u
}

# e2e_run_as USER CMD...: run CMD as USER without a terminal and without PAM (setpriv: real and
# effective uid/gid, supplementary groups, environment reset to HOME/USER/LOGNAME/SHELL/PATH),
# in the work dir. stdin/stdout/stderr are inherited. Returns CMD's status. Good for
# `e2e_secret_print pw | e2e_run_as alice sudo -S -p 'PW:' id -un`.
e2e_run_as() {
	local user=${1:?usage: e2e_run_as USER CMD...} rc=0
	shift
	[[ -n $E2E_WORK ]] || e2e_die "call e2e_init first"
	_e2e_as_user_prefix "$user"
	local -a cmd=("${_E2E_AS_USER[@]}" "$@")
	if [[ $BASHPID != "$_E2E_MAIN_PID" ]]; then
		# In a pipeline or $(...): fine, it creates nothing that needs cleaning up.
		cd -- "$E2E_WORK" && "${cmd[@]}"
		return
	fi
	# In the background + wait, so that an INT/TERM is handled at once (the trap cannot run
	# while bash waits for a foreground child) and the cleanup can kill it.
	# <&0: a background job's stdin would otherwise be /dev/null.
	(cd -- "$E2E_WORK" && exec "${cmd[@]}") <&0 &
	_E2E_FG_PID=$!
	wait "$_E2E_FG_PID" || rc=$?
	_E2E_FG_PID=""
	return "$rc"
}

# Sets _E2E_AS_USER=(setpriv ... --), the prefix that runs a command as USER.
_e2e_as_user_prefix() {
	local uid gid
	if ! uid=$(id -u -- "$1" 2>/dev/null) || ! gid=$(id -g -- "$1" 2>/dev/null); then
		e2e_die "no such user '$1'"
	fi
	_E2E_AS_USER=(setpriv --reuid="$uid" --regid="$gid" --init-groups --reset-env --)
}

# ---------------------------------------------------------------------------------------------
# Users who exist only in Auth0: libnss_auth0 in the real glibc, its cache, their leftovers

E2E_SYNC_DIR=/var/lib/pam_auth0 # where auth0-sync writes and libnss_auth0 reads (A0_CACHE_PATH)

# e2e_sync_dir: create /var/lib/pam_auth0 for the run (refuses if it exists: a host with
# pam_auth0 installed keeps its cache); removed with everything in it on cleanup.
e2e_sync_dir() {
	_e2e_require_main_shell
	[[ ! -e $E2E_SYNC_DIR ]] || e2e_die "$E2E_SYNC_DIR exists; refusing to touch it"
	_e2e_defer _e2e_remove_sync_dir "$_E2E_RUN_ID"
	mkdir -m 0755 -- "$E2E_SYNC_DIR" || e2e_die "cannot create $E2E_SYNC_DIR"
	printf '%s\n' "$_E2E_RUN_ID" >"$E2E_SYNC_DIR/.e2e-run"
}

_e2e_remove_sync_dir() {
	[[ -f $E2E_SYNC_DIR/.e2e-run && $(<"$E2E_SYNC_DIR/.e2e-run") == "$1" ]] || return 0
	rm -rf --one-file-system -- "$E2E_SYNC_DIR"
}

# e2e_nss_install SO: install SO as libnss_auth0.so.2 in the multiarch library directory where
# glibc loads NSS modules (refuses to overwrite one), and append `auth0` to the passwd and group
# lines of /etc/nsswitch.conf. Both are undone on cleanup; nsswitch.conf is restored only if it
# still holds exactly what this run wrote.
e2e_nss_install() {
	local so=${1:?usage: e2e_nss_install SO} arch
	[[ -f $so ]] || e2e_die "no NSS module at $so"
	arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch) ||
		e2e_die "cannot tell the multiarch directory"
	_e2e_require_main_shell
	_e2e_install_exclusive "$so" "/usr/lib/$arch/libnss_auth0.so.2" 0644
	grep -qE '^(passwd|group):.*[[:space:]]auth0([[:space:]]|$)' /etc/nsswitch.conf &&
		e2e_die "/etc/nsswitch.conf already names auth0; refusing to touch it"
	local orig=$E2E_WORK/nsswitch.conf.orig ours=$E2E_WORK/nsswitch.conf.e2e
	cp -p -- /etc/nsswitch.conf "$orig" || e2e_die "cannot copy /etc/nsswitch.conf"
	sed -E 's/^(passwd|group):(.*[^[:space:]])[[:space:]]*$/\1:\2 auth0/' "$orig" >"$ours"
	_e2e_defer _e2e_nsswitch_restore "$orig" "$ours"
	cat -- "$ours" >/etc/nsswitch.conf || e2e_die "cannot write /etc/nsswitch.conf"
}

_e2e_nsswitch_restore() {
	if [[ -f $1 ]] && cmp -s -- /etc/nsswitch.conf "$2"; then cat -- "$1" >/etc/nsswitch.conf; fi
}

# e2e_auth0_user NAME: NAME exists only in Auth0 (the identity cache); nothing is created here,
# but what its logins leave behind (processes, the home directory pam_mkhomedir makes, keyrings,
# sudo timestamps) is removed on cleanup. Refuses a name a local account or home already has.
# Call it after e2e_nss_install: the cleanup looks the uid up while the module is still there.
e2e_auth0_user() {
	local name=${1:?usage: e2e_auth0_user NAME}
	[[ $name =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || e2e_die "bad user name '$name'"
	getent -s files passwd "$name" >/dev/null && e2e_die "'$name' is a local account here"
	[[ ! -e /home/$name ]] || e2e_die "/home/$name exists; refusing to touch it"
	_e2e_require_main_shell
	_e2e_defer _e2e_del_auth0_user "$name"
}

_e2e_del_auth0_user() {
	local name=$1 uid gid i
	local -a pids
	uid=$(getent passwd "$name" | cut -d: -f3) || uid=""
	if [[ -n $uid ]]; then
		for ((i = 0; i < 20; i++)); do
			mapfile -t pids < <(_e2e_user_pids "$uid")
			((${#pids[@]})) || break
			kill -KILL "${pids[@]}" 2>/dev/null
			sleep 0.05
		done
		gid=$(getent passwd "$name" | cut -d: -f4)
		setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
			sh -c 'keyctl invalidate @u; keyctl invalidate @us' >/dev/null 2>&1 || true
	fi
	# e2e_auth0_user refused a name whose home existed: whatever is there now, the run made.
	[[ ! -e /home/$name ]] || rm -rf --one-file-system -- "/home/$name"
	rm -f -- "/run/sudo/ts/$name"
}

# ---------------------------------------------------------------------------------------------
# PAM services and sudoers drop-ins

# e2e_fake_port [NAME]: a port of the fake tenant (tests/with-fake-tenant's A0_FAKE_STATE): its
# main listener, or NAME (port_other_ca, port_wrong_host, port_expired, port_closed).
e2e_fake_port() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"${A0_FAKE_STATE:?}" "${1:-port}"
}

# e2e_module_conf CA_FILE [LINE...]: pam_auth0's configuration for the fake tenant's main
# listener and public client, trusting CA_FILE, binding the fake's users to the local accounts
# of the same name (tests/with-fake-tenant's A0_FAKE_USERS), then LINEs; written to E2E_CONF
# ($E2E_WORK/pam_auth0.conf, 0644: the helper reads the CA path from the record, sshd the file).
e2e_module_conf() {
	local ca=${1:?usage: e2e_module_conf CA_FILE [LINE...]}
	shift
	E2E_CONF=$E2E_WORK/pam_auth0.conf
	printf '%s\n' "domain = localhost:$(e2e_fake_port)" "client_id = pam-native" \
		"ca_file = $ca" "cache_dir = $E2E_WORK/cache" "users_file = ${A0_FAKE_USERS:?}" \
		"state_dir = $E2E_WORK/run" "sync_dir = $E2E_WORK/sync" "$@" \
		>"$E2E_CONF"
	chmod 0644 "$E2E_CONF"
}

# e2e_module_service NAME: e2e_pam_service NAME with the stack pam_auth0(8) shows for sshd:
# pam_auth0 ($module, with E2E_CONF) for auth and, after pam_keyinit, for the session too.
e2e_module_service() {
	e2e_pam_service "${1:?usage: e2e_module_service NAME}" <<EOF
auth     required  ${module:?} config=${E2E_CONF:?}
account  required  pam_unix.so
session  required  pam_keyinit.so force revoke
session  required  pam_unix.so
session  required  $module config=$E2E_CONF
EOF
}

# e2e_pam_service NAME < CONTENT: install /etc/pam.d/NAME (refuses to overwrite); removed on
# cleanup. Use a name unique to the run, e.g. pam_auth0_e2e_$$.
e2e_pam_service() {
	local name=${1:?usage: e2e_pam_service NAME < CONTENT}
	[[ $name =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || e2e_die "bad PAM service name '$name'"
	[[ ! -e /etc/pam.d/$name && ! -L /etc/pam.d/$name ]] ||
		e2e_die "/etc/pam.d/$name already exists; refusing to overwrite it"
	_e2e_require_main_shell
	mkdir -p -- "$E2E_WORK/pam.d"
	local copy=$E2E_WORK/pam.d/$name
	cat >"$copy"
	[[ -s $copy ]] || e2e_die "e2e_pam_service $name: empty content (give it on stdin)"
	_e2e_install_exclusive "$copy" "/etc/pam.d/$name" 0644
}

# e2e_sudoers_dropin NAME CONTENT: validate CONTENT with `visudo -cf`, then install it as
# /etc/sudoers.d/NAME (0440; refuses to overwrite); removed on cleanup. NAME must not contain '.'
# or end in '~': sudo silently skips such files in @includedir. Example:
#   e2e_sudoers_dropin e2e_$$ "Defaults:alice pam_service=$svc
#   alice ALL=(root) /usr/bin/id"
e2e_sudoers_dropin() {
	local name=${1:?usage: e2e_sudoers_dropin NAME CONTENT} content=${2:?usage: e2e_sudoers_dropin NAME CONTENT} out
	[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || e2e_die "bad sudoers drop-in name '$name' (sudo ignores names with '.' or '~')"
	[[ ! -e /etc/sudoers.d/$name && ! -L /etc/sudoers.d/$name ]] ||
		e2e_die "/etc/sudoers.d/$name already exists; refusing to overwrite it"
	[[ -n $E2E_WORK ]] || e2e_die "call e2e_init first"
	mkdir -p -- "$E2E_WORK/sudoers.d"
	local copy=$E2E_WORK/sudoers.d/$name
	printf '%s\n' "$content" >"$copy"
	chmod 0440 "$copy"
	out=$(visudo -c -q -f "$copy" 2>&1) || e2e_die "visudo rejects the drop-in $name: $out"
	_e2e_require_main_shell
	_e2e_install_exclusive "$copy" "/etc/sudoers.d/$name" 0440
}

# ---------------------------------------------------------------------------------------------
# sshd

# /run/sshd is sshd's privsep chroot; Debian's init creates it, and sshd refuses to start without
# it. If it is missing we create it with mode 0711 (Debian's is 0755; sshd accepts both), which
# marks it as ours. Every run holds a shared flock on it while its sshd may use it; the last one
# out (it gets the exclusive lock) removes it if it still carries our mark. A mutex (flock on
# /run) makes create-and-lock and unlock-and-remove atomic between concurrent runs.
_e2e_privsep_acquire() {
	[[ -z $_E2E_PRIVSEP_FD ]] || return 0
	local mutex
	exec {mutex}</run
	flock -w 10 "$mutex" || e2e_die "could not lock /run"
	_e2e_defer _e2e_privsep_release
	if [[ ! -e /run/sshd ]]; then
		mkdir -m 0711 /run/sshd || e2e_die "cannot create /run/sshd"
	fi
	exec {_E2E_PRIVSEP_FD}</run/sshd
	flock -s "$_E2E_PRIVSEP_FD"
	exec {mutex}<&-
}

_e2e_privsep_release() {
	local mutex fd
	exec {mutex}</run
	flock -w 10 "$mutex"
	if [[ -n $_E2E_PRIVSEP_FD ]]; then exec {_E2E_PRIVSEP_FD}<&-; fi
	_E2E_PRIVSEP_FD=""
	if [[ -d /run/sshd && $(stat -c %a /run/sshd) == 711 ]]; then
		exec {fd}</run/sshd
		if flock -n -x "$fd"; then rmdir /run/sshd 2>/dev/null; fi
		exec {fd}<&-
	fi
	exec {mutex}<&-
	return 0
}

# One ed25519 host key per run, shared by all its sshds; the client trusts exactly that key
# under a fixed HostKeyAlias, so nothing depends on the port and nothing is learnt on first use.
_e2e_host_key() {
	local d=$E2E_WORK/hostkey
	[[ -f $d/ssh_host_ed25519_key ]] && return 0
	mkdir -m 0700 -- "$d"
	ssh-keygen -q -t ed25519 -N '' -C "$E2E_HOST_KEY_ALIAS" -f "$d/ssh_host_ed25519_key" ||
		e2e_die "ssh-keygen failed"
	mkdir -m 0755 -- "$E2E_WORK/ssh"
	printf '%s %s\n' "$E2E_HOST_KEY_ALIAS" "$(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" \
		>"$E2E_WORK/ssh/known_hosts"
	# ssh -F FILE reads only FILE: no /etc/ssh/ssh_config, no ~/.ssh/config, and (because -F is
	# given) ssh does not create ~/.ssh. LogLevel must stay INFO: ssh prints keyboard-interactive
	# instructions and the server banner at INFO, so -q or LogLevel ERROR would hide PAM messages.
	cat >"$E2E_WORK/ssh/config" <<-EOF
		Host *
		  HostKeyAlias $E2E_HOST_KEY_ALIAS
		  UserKnownHostsFile $E2E_WORK/ssh/known_hosts
		  GlobalKnownHostsFile /dev/null
		  StrictHostKeyChecking yes
		  CheckHostIP no
		  UpdateHostKeys no
		  PasswordAuthentication yes
		  KbdInteractiveAuthentication yes
		  PubkeyAuthentication no
		  HostbasedAuthentication no
		  GSSAPIAuthentication no
		  IdentityAgent none
		  ForwardAgent no
		  ForwardX11 no
		  ControlMaster no
		  ControlPath none
		  BatchMode no
		  ConnectTimeout 10
		  EscapeChar none
		  LogLevel INFO
	EOF
}

# _e2e_sshd_config FILE DIR PORT [EXTRA...]: extra lines go first because sshd keeps the first
# value it reads for a keyword; a Match block (and what follows it) goes last, where it must be.
_e2e_sshd_config() {
	local file=$1 dir=$2 port=$3 line in_match=0
	shift 3
	local -a head=() tail=()
	for line in "$@"; do
		[[ $line =~ ^[[:space:]]*[Mm]atch[[:space:]] ]] && in_match=1
		if ((in_match)); then tail+=("$line"); else head+=("$line"); fi
	done
	{
		echo "# generated by tests/e2e/lib.sh; test-supplied lines first (first value wins)"
		((${#head[@]} == 0)) || printf '%s\n' "${head[@]}"
		cat <<-EOF
			Port $port
			ListenAddress 127.0.0.1
			AddressFamily inet
			HostKey $E2E_WORK/hostkey/ssh_host_ed25519_key
			PidFile $dir/sshd.pid
			UsePAM yes
			PasswordAuthentication yes
			KbdInteractiveAuthentication yes
			PubkeyAuthentication no
			HostbasedAuthentication no
			GSSAPIAuthentication no
			AuthorizedKeysFile none
			PermitRootLogin no
			PermitEmptyPasswords no
			LogLevel DEBUG3
			LoginGraceTime 60
			MaxStartups 50:30:100
			MaxAuthTries 6
			MaxSessions 10
			UseDNS no
			PrintMotd no
			PrintLastLog no
			Banner none
			X11Forwarding no
			AllowTcpForwarding no
			AllowAgentForwarding no
			AllowStreamLocalForwarding no
			PermitTunnel no
			PermitUserEnvironment no
			StrictModes yes
		EOF
		((${#tail[@]} == 0)) || printf '%s\n' "${tail[@]}"
	} >"$file"
}

_e2e_pick_port() {
	local port
	while :; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		[[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && break
	done
	echo "$port"
}

# e2e_start_sshd SERVICE [SSHD_CONFIG_LINE...]: start /usr/sbin/sshd -D on 127.0.0.1 and a free
# port, using /etc/pam.d/SERVICE. Sets E2E_SSH_PORT, E2E_SSHD_LOG, E2E_SSHD_PID. Stopped (with
# all its connection and session processes) on cleanup. May be called more than once.
#
# OpenSSH 9.2 calls pam_start(__progname, ...) and has no option for the service name, so sshd
# is run through a symlink named SERVICE. The path must be absolute: sshd re-executes itself
# via argv[0] for every connection.
e2e_start_sshd() {
	local service=${1:?usage: e2e_start_sshd SERVICE [sshd_config lines...]}
	shift
	[[ $service =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || e2e_die "bad PAM service name '$service'"
	# Without the file libpam silently uses /etc/pam.d/other (pam_unix on Debian).
	[[ -f /etc/pam.d/$service ]] || e2e_die "no /etc/pam.d/$service (create it with e2e_pam_service)"
	_e2e_require_main_shell
	_e2e_privsep_acquire
	_e2e_host_key
	_E2E_SEQ=$((_E2E_SEQ + 1))
	local dir=$E2E_WORK/sshd$_E2E_SEQ attempt port pid out
	mkdir -m 0755 -- "$dir" "$dir/bin"
	ln -s -- "$E2E_SSHD_BIN" "$dir/bin/$service"
	local exe=$dir/bin/$service log=$dir/sshd.log
	for ((attempt = 1; attempt <= 10; attempt++)); do
		port=$(_e2e_pick_port)
		_e2e_sshd_config "$dir/sshd_config" "$dir" "$port" "$@"
		if ((attempt == 1)); then
			out=$("$exe" -t -f "$dir/sshd_config" 2>&1) || e2e_die "sshd rejects its config: $out"
		fi
		: >"$log"
		# --pdeathsig: should this shell be SIGKILLed (no trap runs), sshd still goes.
		setpriv --pdeathsig TERM -- "$exe" -D -f "$dir/sshd_config" -E "$log" \
			</dev/null >>"$dir/stderr" 2>&1 &
		pid=$!
		_e2e_defer _e2e_stop_sshd "$pid"
		if _e2e_wait_listening "$pid" "$port" "$log"; then
			E2E_SSH_PORT=$port E2E_SSHD_LOG=$log E2E_SSHD_PID=$pid
			export E2E_SSH_PORT E2E_SSHD_LOG E2E_SSHD_PID
			return 0
		fi
		_e2e_stop_sshd "$pid"
		grep -q 'Address already in use' "$log" || break # only a lost port race is worth a retry
	done
	e2e_die "sshd did not start; $log says: $(tail -n 5 "$log" "$dir/stderr" 2>/dev/null)"
}

_e2e_wait_listening() {
	local pid=$1 port=$2 log=$3 i
	for ((i = 0; i < 100; i++)); do
		grep -qF "Server listening on 127.0.0.1 port $port." "$log" && return 0
		_e2e_alive "$pid" || return 1
		sleep 0.05
	done
	return 1
}

# Stops one of our sshds: only if PID is still our own child running sshd (never any other sshd
# on the host), together with its connection and session processes.
_e2e_stop_sshd() {
	local pid=$1 ppid exe
	if _e2e_alive "$pid"; then
		ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
		exe=$(readlink "/proc/$pid/exe")
		if [[ -n $_E2E_REAPING ]]; then
			# The run is dead, so the sshd is no child of ours: recognise it by its argv[0],
			# the symlink in the dead run's work dir.
			[[ $exe == "$E2E_SSHD_BIN" && $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$_E2E_REAPING/sshd"* ]] ||
				return 0
		elif [[ $ppid != "$_E2E_MAIN_PID" || ($exe != "$E2E_SSHD_BIN" && $exe != */setpriv) ]]; then
			_e2e_log "not stopping pid $pid: not our sshd"
			return 1
		fi
		_e2e_kill_tree "$pid"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# ---------------------------------------------------------------------------------------------
# Dialogues (expect)

# e2e_spawn [-u USER] [-P STOCK=SERVICE]... [-O] [--] CMD ARGS... <<'EXP' ... EXP
# Run CMD on a fresh pty and drive it with the expect dialogue read from stdin (see driver.exp
# for the commands available there: await, answer, reply, send_secret, send_line, finish).
#   -u USER           run CMD as USER (setpriv; no PAM, no session)
#   -P STOCK=SERVICE  run CMD in a private mount namespace where /etc/pam.d/SERVICE is
#                     bind-mounted over /etc/pam.d/STOCK, e.g. -P su=$svc or -P login=$svc:
#                     su and login have hard-wired service names, and this changes them for
#                     CMD only; the host's files and mounts are never touched
#   -O                capture CMD's stdout separately into E2E_OUT (prompts written to
#                     /dev/tty or stderr still go to the terminal and E2E_TRANSCRIPT)
# Sets E2E_RC, E2E_OUT, E2E_TRANSCRIPT, E2E_ERR, E2E_RUN_DIR. Returns 0 if the dialogue ran to
# the end (whatever CMD's exit status), 1 if it did not (E2E_ERR says why).
e2e_spawn() {
	local user="" capture=0 opt stock svc
	local -a binds=()
	OPTIND=1
	while getopts ':u:P:O' opt; do
		case $opt in
		u) user=$OPTARG ;;
		P)
			stock=${OPTARG%%=*} svc=${OPTARG#*=}
			[[ $OPTARG == *=* && -f /etc/pam.d/$stock && -f /etc/pam.d/$svc ]] ||
				e2e_die "-P $OPTARG: need STOCK=SERVICE with both /etc/pam.d files present"
			binds+=("/etc/pam.d/$svc" "/etc/pam.d/$stock")
			;;
		O) capture=1 ;;
		*) e2e_die "e2e_spawn: bad option -$OPTARG" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($#)) || e2e_die "usage: e2e_spawn [-u USER] [-P STOCK=SERVICE] [-O] -- CMD..."
	local -a cmd=()
	if ((${#binds[@]})); then
		# unshare(1) makes the new namespace's mounts private by default: nothing propagates back.
		# shellcheck disable=SC2016 # expanded by the inner sh
		cmd+=(unshare --mount --propagation private -- /bin/sh -c \
			'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"' \
			e2e-pam-bind "${binds[@]}" --)
	fi
	if [[ -n $user ]]; then
		_e2e_as_user_prefix "$user"
		cmd+=("${_E2E_AS_USER[@]}")
	fi
	cmd+=("$@")
	_e2e_expect_run "$capture" "${cmd[@]}"
}

# e2e_ssh [-m METHOD] [-n N] [-p PORT] [-o SSH_OPTION]... [-t] USER [REMOTE_CMD...] <<'EXP' ... EXP
# Log in as USER with the real /usr/bin/ssh to our sshd, answering prompts with the expect
# dialogue on stdin. The remote command's stdout is captured separately into E2E_OUT (ssh -n);
# ssh's own messages (banner, keyboard-interactive instructions, "Permission denied") and every
# prompt go to the terminal, i.e. E2E_TRANSCRIPT.
#   -m METHOD  PreferredAuthentications: password (default) or keyboard-interactive
#   -n N       NumberOfPasswordPrompts (default 1: a wrong answer fails at once)
#   -p PORT    default $E2E_SSH_PORT
#   -o OPT     any extra ssh -o option
#   -t         force a remote pty (ssh -tt): remote output then goes to the transcript and
#              E2E_OUT stays empty; use with no REMOTE_CMD for an interactive shell
# Returns like e2e_spawn; ssh's exit status (255 = connection/authentication failure) is E2E_RC.
e2e_ssh() {
	local method=password prompts=1 port=${E2E_SSH_PORT:-} tty=0 opt
	local -a extra=()
	OPTIND=1
	while getopts ':m:n:p:o:t' opt; do
		case $opt in
		m) method=$OPTARG ;;
		n) prompts=$OPTARG ;;
		p) port=$OPTARG ;;
		o) extra+=(-o "$OPTARG") ;;
		t) tty=1 ;;
		*) e2e_die "e2e_ssh: bad option -$OPTARG" ;;
		esac
	done
	shift $((OPTIND - 1))
	local user=${1:?usage: e2e_ssh [options] USER [REMOTE_CMD...]}
	shift
	[[ -n $port ]] || e2e_die "e2e_ssh: no sshd started (E2E_SSH_PORT unset)"
	[[ -f $E2E_WORK/ssh/config ]] || e2e_die "e2e_ssh: no client config; start sshd first"
	local -a cmd=("$E2E_SSH_BIN" -F "$E2E_WORK/ssh/config" -p "$port" -l "$user"
		-o "PreferredAuthentications=$method" -o "NumberOfPasswordPrompts=$prompts")
	if ((tty)); then cmd+=(-tt); else cmd+=(-n); fi
	cmd+=("${extra[@]}" -- 127.0.0.1 "$@")
	_e2e_expect_run $((tty ? 0 : 1)) "${cmd[@]}"
}

# _e2e_expect_run CAPTURE CMD...: the dialogue body is this function's stdin.
_e2e_expect_run() {
	local capture=$1 rc=0 status
	shift
	_e2e_require_main_shell
	_E2E_SEQ=$((_E2E_SEQ + 1))
	E2E_RUN_DIR=$E2E_WORK/run$_E2E_SEQ
	mkdir -m 0755 -- "$E2E_RUN_DIR"
	if [[ -t 0 ]]; then : >"$E2E_RUN_DIR/body.exp"; else cat >"$E2E_RUN_DIR/body.exp"; fi
	printf '%q ' "$@" >"$E2E_RUN_DIR/cmdline"
	local -a cmd=("$@")
	if ((capture)); then
		: >"$E2E_RUN_DIR/stdout"
		# shellcheck disable=SC2016 # expanded by the inner sh
		cmd=(/bin/sh -c 'o=$1; shift; exec "$@" >"$o"' e2e-stdout "$E2E_RUN_DIR/stdout" "${cmd[@]}")
	fi
	# Background + wait: see e2e_run_as. Secrets arrive on expect's stdin (see e2e_secret).
	setpriv --pdeathsig TERM -- expect -f "$E2E_LIB_DIR/driver.exp" "$E2E_RUN_DIR" "${cmd[@]}" \
		< <(_e2e_secret_stream) &
	_E2E_FG_PID=$!
	wait "$_E2E_FG_PID" || rc=$?
	_E2E_FG_PID=""

	E2E_TRANSCRIPT=$(tr -d '\r' <"$E2E_RUN_DIR/transcript" 2>/dev/null) || E2E_TRANSCRIPT=""
	E2E_OUT=""
	[[ -f $E2E_RUN_DIR/stdout ]] && E2E_OUT=$(<"$E2E_RUN_DIR/stdout")
	E2E_ERR=""
	[[ -f $E2E_RUN_DIR/error ]] && E2E_ERR=$(<"$E2E_RUN_DIR/error")
	status=""
	[[ -f $E2E_RUN_DIR/status ]] && status=$(<"$E2E_RUN_DIR/status")
	case $status in
	signal:*) E2E_RC=$((128 + $(kill -l "${status#signal:}" 2>/dev/null || echo 0))) ;;
	'') E2E_RC="" ;; # unknown: expect itself failed (E2E_ERR says so)
	*) E2E_RC=$status ;;
	esac
	if [[ -z $E2E_ERR && $rc != 0 ]]; then E2E_ERR="expect exited with status $rc"; fi
	if [[ -n $E2E_ERR ]]; then
		_e2e_log "dialogue failed: $E2E_ERR (see $E2E_RUN_DIR)"
		return 1
	fi
	return 0
}
