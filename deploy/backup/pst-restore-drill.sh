#!/usr/bin/env bash
# Restore drill: restore the newest backup into a throw-away mongod, compare it with the live
# database, and start a PST web process on it. Run it monthly; a backup never restored is a hope.
#
#   MONGODB_URI=<live, for the comparison> BACKUP_DIR=/var/backups/pst deploy/backup/pst-restore-drill.sh
#
# Needs mongod, mongorestore and mongosh (the MongoDB packages) and the PST venv at /opt/pst (PST_HOME).
set -euo pipefail

: "${MONGODB_URI:?set MONGODB_URI to the live database (read only here)}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/pst}
PST_HOME=${PST_HOME:-/opt/pst}
DB=${PST_DB_NAME:-pst}
PORT=${DRILL_PORT:-27999}
WEB_PORT=${DRILL_WEB_PORT:-8099}

archive=$(ls -1t "$BACKUP_DIR"/pst-*.archive.gz | head -n1)
work=$(mktemp -d)
trap 'kill "${web_pid:-}" "${mongod_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

echo "restoring $archive into a scratch mongod on port $PORT"
mongod --dbpath "$work" --port "$PORT" --bind_ip 127.0.0.1 --logpath "$work/mongod.log" &
mongod_pid=$!
until mongosh --quiet --port "$PORT" --eval 'db.adminCommand("ping").ok' >/dev/null 2>&1; do sleep 0.5; done
mongorestore --uri="mongodb://127.0.0.1:$PORT/" --oplogReplay --gzip --archive="$archive" --quiet

count() {  # count <uri> <collection>
  mongosh --quiet "$1" --eval "db.getSiblingDB('$DB').getCollection('$2').estimatedDocumentCount()"
}
status=0
for coll in users consultations messages outbox complaints queue_tickets attachments_fs.files; do
  live=$(count "$MONGODB_URI" "$coll")
  restored=$(count "mongodb://127.0.0.1:$PORT/" "$coll")
  # The live side has moved on since the backup: restored may be lower, never higher.
  printf '%-22s live %10s restored %10s\n' "$coll" "$live" "$restored"
  if [ "$restored" -gt "$live" ]; then status=1; fi
done

echo "starting a PST web process on the restored copy (port $WEB_PORT)"
MONGODB_URI="mongodb://127.0.0.1:$PORT/" PST_DB_NAME="$DB" REDIS_URL= PST_DATA_DIR="$work/data" \
  PST_SECRET_KEY=drill-only-not-a-real-key-0123456789 \
  "$PST_HOME/.venv/bin/pst" serve --role web --host 127.0.0.1 --port "$WEB_PORT" >"$work/web.log" 2>&1 &
web_pid=$!
for _ in $(seq 60); do
  if curl -fsS "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null || { echo "the restored copy does not serve"; status=1; }
curl -fsS "http://127.0.0.1:$WEB_PORT/api/v1/offices" | head -c 200; echo
[ "$status" -eq 0 ] && echo "restore drill passed: $archive" || echo "restore drill FAILED"
exit "$status"
