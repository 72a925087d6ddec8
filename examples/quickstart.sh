#!/usr/bin/env bash
# Installs casman into ./.venv and runs its main job end to end on the embedded default:
# local SQLite databases and the `local` backup backend, no credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e . -e plugins/casman_local
.venv/bin/python -m compileall -q casman plugins/casman_local >/dev/null

demo="$PWD/quickstart"
rm -rf "$demo"
export CASMAN_DATABASE_DIR="$demo/database" CASMAN_LOCAL_PATH="$demo/backups"
casman() { .venv/bin/casman "$@"; }
step() { printf '\n$ casman %s\n' "$*"; casman "$@"; }

step parts add ANTENNA 2 1
step parts add LNA 2 1
step parts add COAXSHORT 2 1
step parts add COAXLONG 2 1
step parts add BACBOARD 2 1
step assembly connect ANT00001P1 LNA00001P1
step assembly connect LNA00001P1 CXS00001P1
step assembly connect CXS00001P1 CXL00001P1
step assembly connect CXL00001P1 BAC00001P1
step assembly connect BAC00001P1 SNAP1A05
step database load-snap-boards --csv examples/data/snap_boards.csv
step database load-coordinates --csv examples/data/grid_positions.csv
step antenna assign ANT00001 CN002E03
step assembly chain ANT00001P1
step antenna show ANT00001
step sync backup
key=$(casman sync list --db parts.db --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
printf '\n# damage parts.db, then restore it from the backup\n'
printf 'not a database any more' > "$CASMAN_DATABASE_DIR/parts.db"
step sync restore "$key" --no-backup
step antenna show ANT00001
printf '\nDone. Databases in %s, backups in %s\n' "$CASMAN_DATABASE_DIR" "$CASMAN_LOCAL_PATH"

printf '\n# the Python API for pipelines: read-only, one consistent snapshot\n'
printf '$ python -c "import casman; a = casman.open_array(); print(a.by_packet_index(5))"\n'
.venv/bin/python -c "import casman; a = casman.open_array(); print(a.by_packet_index(5))"
step antenna export --format csv
printf '\n$ python examples/pipeline_example.py\n'
.venv/bin/python examples/pipeline_example.py
