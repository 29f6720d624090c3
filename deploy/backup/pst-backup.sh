#!/usr/bin/env bash
# Back up PST Konsultasi's MongoDB: one consistent, point-in-time dump of the replica set.
#
#   MONGODB_URI='mongodb://db1,db2,db3/?replicaSet=rs0&readPreference=secondaryPreferred' \
#   BACKUP_DIR=/var/backups/pst KEEP_DAYS=14 deploy/backup/pst-backup.sh
#
# Everything the product keeps is in MongoDB (attachments too, in GridFS); Redis holds nothing that
# outlives a restart, so it is not backed up. `--oplog` records the writes made while the dump runs,
# so a restore with `--oplogReplay` is consistent as of the dump's end; it needs a replica set (a
# single-member one is enough) and dumps the whole instance (it cannot be combined with --db).
# Reading from a secondary keeps the load off the primary.
set -euo pipefail

: "${MONGODB_URI:?set MONGODB_URI (a replica set member or the set)}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/pst}
KEEP_DAYS=${KEEP_DAYS:-14}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$BACKUP_DIR/pst-$stamp.archive.gz"
umask 077
mkdir -p "$BACKUP_DIR"
# Written under a temporary name: a half-written archive is never mistaken for a backup.
mongodump --uri="$MONGODB_URI" --oplog --gzip --archive="$final.partial" --quiet
mv "$final.partial" "$final"
# Keep KEEP_DAYS days; a failed run above exits before anything is deleted.
find "$BACKUP_DIR" -maxdepth 1 -name 'pst-*.archive.gz' -mtime +"$KEEP_DAYS" -delete
find "$BACKUP_DIR" -maxdepth 1 -name 'pst-*.archive.gz.partial' -mtime +1 -delete
echo "backup written: $final ($(du -h "$final" | cut -f1))"
