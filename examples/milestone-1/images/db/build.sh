#!/bin/bash
# Runs once, as root, at image build time: an own cluster (not Debian's 15/main, whose config lives in
# /etc and whose pg_ctlcluster wrapper we do not want as PID 1), the roles, the database m1 and the
# mesh schema. The data directory is part of the image, so a container starts in about a second.
set -euo pipefail
share=/usr/local/share/m1-db
rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main
install -d -o postgres -g postgres -m 0700 "$PGDATA"
install -d -o postgres -g postgres -m 2775 /var/run/postgresql
runuser -u postgres -- initdb -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
install -o postgres -g postgres -m 0600 "$share/m1.conf" "$share/pg_hba.conf" "$PGDATA/"
echo "include 'm1.conf'" >>"$PGDATA/postgresql.conf"
runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -s start
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres -f "$share/setup.sql"
runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w -s stop
