#!/bin/bash
# tests/e2e/reap.sh: remove what e2e runs that were SIGKILLed (or crashed) left behind: their
# test users, /etc/pam.d and /etc/sudoers.d files, sshd processes and work dirs. Runs that are
# still alive are not touched. A normal or interrupted (INT/TERM/HUP) run cleans up after
# itself; this is only for the case no trap can catch. Usage (as root): tests/e2e/reap.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
e2e_reap
