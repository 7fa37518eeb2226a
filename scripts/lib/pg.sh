# shellcheck shell=bash
#
# Throwaway PostgreSQL for tests. Source this file, then call start_test_postgres:
#
#   source scripts/lib/pg.sh
#   start_test_postgres     # exports SKULD_TEST_PG_URL and SKULD_REQUIRE_PG=1
#
# The server runs from a fresh temp dir (no system service, no systemctl), listens on 127.0.0.1 on
# the first free port from 55432 upward, trusts every connection as role `skuld`, and is stopped and
# deleted when the calling shell exits (an EXIT trap, chained after any EXIT trap already set).
# If SKULD_TEST_PG_URL is already set, nothing is started and that server is used.
#
# As root the server runs as the `postgres` user (postgres refuses to run as root); as any other
# user it runs as that user. Missing binaries are installed with apt-get (root only).
#
# Variables read: SKULD_TEST_PG_URL (use an existing server), SKULD_PG_BASE_PORT (default 55432).
# Variables set:  SKULD_TEST_PG_URL, SKULD_REQUIRE_PG, SKULD_TEST_PG_DIR, SKULD_TEST_PG_PORT.

_SKULD_APT_UPDATED=${_SKULD_APT_UPDATED:-0}

_pg_log() { printf 'pg: %s\n' "$*" >&2; }

# Newest /usr/lib/postgresql/<major>/bin that has pg_ctl; empty if none.
pg_bindir() {
    local d best="" best_ver=-1 ver
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/pg_ctl" ]] || continue
        ver=${d#/usr/lib/postgresql/}
        ver=${ver%%/*}
        ver=${ver%%.*} # "9.6" -> 9
        [[ $ver =~ ^[0-9]+$ ]] || continue
        if ((ver > best_ver)); then
            best_ver=$ver
            best=$d
        fi
    done
    printf '%s' "$best"
}

# apt-get install the given Debian packages, running `apt-get update` at most once per shell.
skuld_apt_install() {
    if [[ $EUID -ne 0 ]]; then
        _pg_log "missing Debian packages ($*) and not root: install them (apt-get install $*) and retry"
        return 1
    fi
    if [[ $_SKULD_APT_UPDATED -eq 0 ]]; then
        apt-get update
        _SKULD_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Fast path: nothing to do when a PostgreSQL server binary is already installed.
ensure_postgresql_installed() {
    if [[ -n "$(pg_bindir)" ]]; then
        return 0
    fi
    _pg_log "PostgreSQL not found under /usr/lib/postgresql/*/bin, installing it"
    skuld_apt_install postgresql
    if [[ -z "$(pg_bindir)" ]]; then
        _pg_log "postgresql installed but no /usr/lib/postgresql/*/bin/pg_ctl found"
        return 1
    fi
}

# True if something accepts TCP connections on 127.0.0.1:$1 or listens on that port anywhere.
_pg_port_in_use() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 0
    fi
    if command -v ss >/dev/null 2>&1 && [[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]; then
        return 0
    fi
    return 1
}

# Run a command as the owner of the data directory, from inside it (so `postgres` is never left in
# a cwd it cannot read, such as /root/...).
_pg_as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$SKULD_TEST_PG_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$SKULD_TEST_PG_DIR" && "$@")
    fi
}

_pg_third_arg() { printf '%s' "$3"; }
_pg_return() { return "$1"; }

_PG_PREV_EXIT_TRAP=${_PG_PREV_EXIT_TRAP:-}

# EXIT trap: stop the server, then run the caller's previous EXIT trap with $? still holding the
# shell's exit status (so it can report success or failure correctly).
_pg_on_exit() {
    local rc=$?
    stop_test_postgres
    if [[ -n "$_PG_PREV_EXIT_TRAP" ]]; then
        if ((rc == 0)); then
            eval "$_PG_PREV_EXIT_TRAP"
        else
            _pg_return "$rc" || eval "$_PG_PREV_EXIT_TRAP"
        fi
    fi
}

stop_test_postgres() {
    local dir=${SKULD_TEST_PG_DIR:-}
    [[ -n "$dir" && -d "$dir" ]] || return 0
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        _pg_as_owner "$SKULD_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
            _pg_log "pg_ctl stop failed (server already gone?)"
    fi
    rm -rf -- "$dir"
    unset SKULD_TEST_PG_DIR
}

start_test_postgres() {
    if [[ -n "${SKULD_TEST_PG_URL:-}" ]]; then
        _pg_log "SKULD_TEST_PG_URL is set, using that server"
        export SKULD_REQUIRE_PG=1
        return 0
    fi
    ensure_postgresql_installed || return 1
    SKULD_PG_BIN=$(pg_bindir)

    local base
    if [[ $EUID -eq 0 ]]; then
        id -u postgres >/dev/null 2>&1 || {
            _pg_log "user 'postgres' does not exist (it comes with the Debian postgresql package)"
            return 1
        }
        base=/tmp # must be reachable by the postgres user, whatever TMPDIR says
    else
        base=${TMPDIR:-/tmp}
    fi
    SKULD_TEST_PG_DIR=$(mktemp -d "$base/skuld-pg.XXXXXXXX") || return 1
    export SKULD_TEST_PG_DIR

    # Chain our cleanup in front of any EXIT trap the caller already has, and turn INT/TERM into a
    # normal exit so the EXIT trap runs on Ctrl-C or kill too.
    local prev
    prev=$(trap -p EXIT) # trap -- '<command>' EXIT, shell-quoted
    if [[ -n "$prev" ]]; then
        _PG_PREV_EXIT_TRAP=$(eval "_pg_third_arg $prev")
    fi
    trap _pg_on_exit EXIT
    [[ -n "$(trap -p INT)" ]] || trap 'exit 130' INT
    [[ -n "$(trap -p TERM)" ]] || trap 'exit 143' TERM

    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$SKULD_TEST_PG_DIR" || return 1
    fi

    if ! _pg_as_owner "$SKULD_PG_BIN/initdb" -D "$SKULD_TEST_PG_DIR/data" -A trust -U skuld \
        --encoding=UTF8 --locale=C --no-sync >"$SKULD_TEST_PG_DIR/initdb.log" 2>&1; then
        cat "$SKULD_TEST_PG_DIR/initdb.log" >&2
        _pg_log "initdb failed"
        return 1
    fi

    # Two runs may race for the same free port: on a bind failure, try the next one.
    local port=${SKULD_PG_BASE_PORT:-55432} attempts=0
    while :; do
        while _pg_port_in_use "$port"; do
            port=$((port + 1))
        done
        if _pg_as_owner "$SKULD_PG_BIN/pg_ctl" -D "$SKULD_TEST_PG_DIR/data" -w -t 60 \
            -l "$SKULD_TEST_PG_DIR/log" \
            -o "-c listen_addresses=127.0.0.1 -p $port -k '$SKULD_TEST_PG_DIR' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            break
        fi
        attempts=$((attempts + 1))
        if ((attempts < 10)) && grep -qiE 'could not (bind|create listen)|address already in use' "$SKULD_TEST_PG_DIR/log" 2>/dev/null; then
            _pg_log "port $port taken, trying the next one"
            : >"$SKULD_TEST_PG_DIR/log"
            port=$((port + 1))
            continue
        fi
        cat "$SKULD_TEST_PG_DIR/log" >&2 || true
        _pg_log "could not start PostgreSQL"
        return 1
    done

    export SKULD_TEST_PG_PORT=$port
    export SKULD_TEST_PG_URL="postgres://skuld@127.0.0.1:$port/postgres"
    export SKULD_REQUIRE_PG=1
    _pg_log "PostgreSQL $("$SKULD_PG_BIN/postgres" --version | awk '{print $3}') on $SKULD_TEST_PG_URL (dir $SKULD_TEST_PG_DIR)"
}
