# Helpers sourced by every c-tests/*/t_*.sh. The harness (scripts/test) sets:
#   CT_LIB       absolute path of the built libsockfix.so
#   CT_LIB32     the library built for i386 (32-bit programs on x86_64), or
#                empty when it could not be built: CT_LIB32_WHY says why
#   CT_BIN       directory holding the compiled c-tests/*/*.c programs
#   CT_TMP       a private temporary directory, removed after the test
#   CT_ROOT      the project root
# A test exits 0 to pass, 77 to skip (last line says why), anything else fails.
set -u

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }
note() { echo "# $*"; }

# Run a command with the library preloaded and an empty config file (the
# machine's /etc/sockfix.conf must not interfere).
with_lib() { env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "$@"; }
# The same command without the library, for the "without" half of a story.
without_lib() { env -u LD_PRELOAD "$@"; }

# clear_stray_settings [NAME...]: no stray settings from whoever runs the
# suite, every test states its own. Unsets every exported SOCKFIX_* variable
# and libkeepalive's KEEPALIVE, KEEPIDLE, KEEPINTVL and KEEPCNT (which the
# library reads too), and the NAMEs given (LD_PRELOAD, for most callers).
clear_stray_settings() {
    local v
    for v in $(compgen -e); do
        case $v in SOCKFIX_*|KEEPALIVE|KEEPIDLE|KEEPINTVL|KEEPCNT) unset "$v";; esac
    done
    [ $# = 0 ] || unset "$@"
}

# Kill what a test started, by PID only.
CT_PIDS=()
track() { CT_PIDS+=("$1"); }
cleanup_pids() { local p; for p in "${CT_PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup_pids EXIT

need() { command -v "$1" >/dev/null || skip "$1 not installed"; }
