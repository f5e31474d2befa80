# A throwaway PostgreSQL cluster for the tests (sourced after lib.sh):
# initdb and pg_ctl refuse root, so the cluster runs as nobody, in $T/pg,
# on a free loopback port, with a database "calls" owned by user cw.
#   pg_setup: creates and starts it; sets PGBIN, PGPORT, PGURL
#   pg_start / pg_stop: starts or stops the server (stop -m fast)
#   psql_q SQL: one query's rows, unaligned
#   pg_cleanup: stops it for good (call from the EXIT trap)
set -u

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
    runuser -u nobody -- "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -t 30 \
        -o "-p $PGPORT -k $T/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}

pg_stop() {
    runuser -u nobody -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m fast -w stop >/dev/null
}

pg_cleanup() {
    [ ! -f "$T/pg/data/postmaster.pid" ] ||
        runuser -u nobody -- "$PGBIN/pg_ctl" -D "$T/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
}

psql_q() {
    "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U cw -d calls -tAc "$1"
}

pg_setup() {
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ ! -x "$PGBIN/initdb" ]; then
        echo "FAIL: no PostgreSQL server (Debian package postgresql)" >&2
        return 1
    fi
    PGPORT=$(free_port)
    PGURL="postgresql://cw@127.0.0.1:$PGPORT/calls"
    chmod 755 "$T"
    mkdir -p "$T/pg"
    chown nobody "$T/pg"
    runuser -u nobody -- "$PGBIN/initdb" -D "$T/pg/data" -A trust -U cw --no-sync >"$T/pg/initdb.log" 2>&1
    pg_start
    runuser -u nobody -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U cw calls
}
