# A private MariaDB server for tests: its own datadir, socket and loopback
# port under $CT_TMP, started by PID and stopped by PID. Sourced after lib.sh.
#   mariadb_start [EXTRA mariadbd OPTIONS]   sets DB_PORT, DB_SOCK, DB_PID
#   db_client ARGS...                         the mariadb client over TCP

mariadb_start() {
    need mariadbd
    need mariadb-install-db
    local dir=$CT_TMP/db
    mkdir -p "$dir"
    DB_SOCK=$CT_TMP/db.sock
    DB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
        --auth-root-authentication-method=normal >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log"; fail "mariadb-install-db failed"; }
    env -u LD_PRELOAD mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$DB_SOCK" \
        --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin \
        --pid-file="$dir/pid" --log-error="$dir/error.log" "$@" &
    DB_PID=$!
    track "$DB_PID"
    local i
    for i in $(seq 1 100); do
        mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot ping >/dev/null 2>&1 && return 0
        kill -0 "$DB_PID" 2>/dev/null || { tail -n 20 "$dir/error.log"; fail "mariadbd exited"; }
        sleep 0.1
    done
    tail -n 20 "$dir/error.log"
    fail "mariadbd did not answer within 10 s"
}

db_client() {
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$DB_PORT" -uroot "$@"
}
