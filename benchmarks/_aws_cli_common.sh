# Shared by the AWS CLI checks (aws_cli_check.sh, aws_cli_serverless_check.sh): arguments, the
# `dms`/`sql`/`field` functions, scratch databases that are dropped on exit. Source it after
# `set -euo pipefail`; it reads $1 (the emulator's URL) and $2 (USER@HOST:PORT of a PostgreSQL).
URL=${1:-http://127.0.0.1:4566}
SERVER=${2:-postgres@127.0.0.1:5432}     # USER@HOST:PORT of a PostgreSQL that trusts USER
AWS=${AWS:-aws}
PG_USER=${SERVER%@*}
HOST_PORT=${SERVER#*@}
PG_HOST=${HOST_PORT%:*}
PG_PORT=${HOST_PORT##*:}
SUFFIX=$(date +%s)$$
SRC_DB=cli_check_src_$SUFFIX
DST_DB=cli_check_dst_$SUFFIX
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1

dms() { "$AWS" dms --endpoint-url "$URL" --output json "$@"; }
s3api() { "$AWS" s3api --endpoint-url "$URL" --output json "$@"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
step() { printf '%-66s' "$1"; }
ok() { echo "ok ${1:-}"; }

cleanup() {
  sql -d postgres -c "DROP DATABASE IF EXISTS $SRC_DB" -c "DROP DATABASE IF EXISTS $DST_DB" || true
}
trap cleanup EXIT

sql -d postgres -c "CREATE DATABASE $SRC_DB" -c "CREATE DATABASE $DST_DB"
sql -d "$SRC_DB" -c "CREATE TABLE public.items (id int PRIMARY KEY, name text)" \
  -c "INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 100) g"

endpoint() {  # TYPE DB -> ARN
  dms create-endpoint --endpoint-identifier "cli-$1-$SUFFIX" --endpoint-type "$1" \
    --engine-name postgres --server-name "$PG_HOST" --port "$PG_PORT" --username "$PG_USER" \
    --password unused --database-name "$2" | field "['Endpoint']['EndpointArn']"
}
