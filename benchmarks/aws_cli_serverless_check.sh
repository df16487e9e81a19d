#!/usr/bin/env bash
# The AWS CLI against the local DMS: a DMS Serverless lifecycle (create-replication-config,
# describe-replication-configs, start-replication, describe-replications in a wait loop that
# checks every Status against AWS's list, describe-replication-table-statistics, stop-replication,
# delete-replication-config) and a premigration assessment run of a task
# (describe-applicable-individual-assessments, start-replication-task-assessment-run,
# describe-replication-task-assessment-runs, describe-replication-task-individual-assessments, the
# result files in S3). Full loads between scratch databases on one PostgreSQL server; every
# resource is deleted at the end. docs/emulator.md ("Other outside clients") records the result.
# Exits non-zero at the first command or check that fails.
#
#   neon-dms local-dms --port 4566 &                      # the emulator, AWS-like state timing
#   AWS=/path/to/aws benchmarks/aws_cli_serverless_check.sh http://127.0.0.1:4566 postgres@127.0.0.1:5432
#
# tests/local/test_aws_cli.py runs it when the AWS CLI (the `awscli` package of the dev extra) is
# installed.
set -euo pipefail

# shellcheck source=benchmarks/_aws_cli_common.sh
source "$(dirname "$0")/_aws_cli_common.sh"

# Replication.Status values, in AWS's order (user guide "AWS DMS Serverless components"), and the
# end states of a run; ProvisionData.ProvisionState values.
STATUSES=" created initializing preparing_metadata_resources testing_connection fetching_metadata \
calculating_capacity provisioning_capacity replication_starting running stopping stopped failed "
PROVISION_STATES=" provisioning provisioned deprovisioning deprovisioned "

replication() {  # JMESPATH -> value of the config's replication
  dms describe-replications --filters "Name=replication-config-arn,Values=$CONFIG" \
    --query "Replications[0].$1" --output text
}
wait_status() {  # WANTED... -> prints the statuses seen, fails on one AWS does not list
  local seen="" status
  for _ in $(seq 1 600); do
    status=$(replication Status)
    [[ "$STATUSES" == *" $status "* ]] || { echo "unknown Status $status" >&2; return 1; }
    [[ "$seen" == *"$status" ]] || seen="$seen $status"
    for wanted in "$@"; do
      if [ "$status" = "$wanted" ]; then echo "$seen"; return 0; fi
    done
    [ "$status" != failed ] || { echo "failed: $(replication FailureMessages)" >&2; return 1; }
    sleep 0.2
  done
  echo "still $status after 120 s" >&2
  return 1
}
wait_provision() {  # WANTED -> waits until ProvisionData.ProvisionState is WANTED
  local state
  for _ in $(seq 1 600); do
    state=$(replication ProvisionData.ProvisionState)
    [[ "$PROVISION_STATES" == *" $state "* ]] || { echo "unknown ProvisionState $state" >&2; return 1; }
    [ "$state" != "$1" ] || return 0
    sleep 0.2
  done
  echo "ProvisionState still $state after 120 s" >&2
  return 1
}
MAPPINGS='{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"}]}'

step "create-endpoint (source, target)"
SOURCE=$(endpoint source "$SRC_DB")
TARGET=$(endpoint target "$DST_DB")
ok

step "create-replication-config + describe-replication-configs"
CONFIG=$(dms create-replication-config --replication-config-identifier "cli-config-$SUFFIX" \
  --source-endpoint-arn "$SOURCE" --target-endpoint-arn "$TARGET" \
  --compute-config MaxCapacityUnits=2,MinCapacityUnits=1 --replication-type full-load \
  --table-mappings "$MAPPINGS" | field "['ReplicationConfig']['ReplicationConfigArn']")
UNITS=$(dms describe-replication-configs --filters "Name=replication-config-arn,Values=$CONFIG" \
  | field "['ReplicationConfigs'][0]['ComputeConfig']['MaxCapacityUnits']")
[ "$UNITS" = 2 ] && [ "$(replication Status)" = created ]
ok "(MaxCapacityUnits $UNITS, Status created)"

step "start-replication + stop-replication while provisioning"
dms start-replication --replication-config-arn "$CONFIG" \
  --start-replication-type start-replication >/dev/null
dms stop-replication --replication-config-arn "$CONFIG" >/dev/null
SEEN=$(wait_status stopped)
[ "$(replication ProvisionData.ProvisionState)" != provisioning ]
ok "(Status:$SEEN)"

step "start-replication reload-target + describe-replications loop"
# DMS refuses a start while a stopped replication's capacity is being released
# (deprovisioning); whether the release has begun depends on how long the stop took, so
# wait until it is over, as a client must.
wait_provision deprovisioned
dms start-replication --replication-config-arn "$CONFIG" \
  --start-replication-type reload-target >/dev/null
SEEN=$(wait_status stopped)
[ "$(replication StopReason)" = "Stop Reason FULL_LOAD_ONLY_FINISHED" ]
ok "(Status:$SEEN)"

step "describe-replication-table-statistics"
ROWS=$(dms describe-replication-table-statistics --replication-config-arn "$CONFIG" \
  | field "['ReplicationTableStatistics'][0]['FullLoadRows']")
COPIED=$(sql -d "$DST_DB" -A -t -c "SELECT count(*) FROM public.items")
[ "$ROWS" = 100 ] && [ "$COPIED" = 100 ]
ok "(FullLoadRows $ROWS, $COPIED rows on the target)"

step "ProvisionState deprovisioned + delete-replication-config"
wait_provision deprovisioned
dms delete-replication-config --replication-config-arn "$CONFIG" >/dev/null
for _ in $(seq 1 600); do
  if ! GONE=$(dms describe-replication-configs \
      --filters "Name=replication-config-arn,Values=$CONFIG" 2>&1); then
    grep -q ResourceNotFoundFault <<<"$GONE" && break
    echo "$GONE" >&2
    exit 1
  fi
  sleep 0.2
done
grep -q ResourceNotFoundFault <<<"$GONE"
ok "(then ResourceNotFoundFault)"

# --- premigration assessment of a task -----------------------------------------------------------
sql -d "$SRC_DB" -c "CREATE TABLE public.positions (id int, at pg_lsn)"
BUCKET=cli-assessment-$SUFFIX
step "create-replication-instance + create-replication-task + s3 bucket"
INSTANCE=$(dms create-replication-instance --replication-instance-identifier "cli-$SUFFIX" \
  --replication-instance-class dms.t3.medium | field "['ReplicationInstance']['ReplicationInstanceArn']")
dms wait replication-instance-available --filters "Name=replication-instance-arn,Values=$INSTANCE"
TASK=$(dms create-replication-task --replication-task-identifier "cli-task-$SUFFIX" \
  --source-endpoint-arn "$SOURCE" --target-endpoint-arn "$TARGET" \
  --replication-instance-arn "$INSTANCE" --migration-type full-load-and-cdc \
  --table-mappings "$MAPPINGS" | field "['ReplicationTask']['ReplicationTaskArn']")
dms wait replication-task-ready --filters "Name=replication-task-arn,Values=$TASK"
s3api create-bucket --bucket "$BUCKET" >/dev/null
ok

step "describe-applicable-individual-assessments"
APPLICABLE=$(dms describe-applicable-individual-assessments --replication-task-arn "$TASK" \
  --query 'IndividualAssessmentNames' --output text)
grep -qw unsupported-data-types-in-source <<<"$APPLICABLE"
grep -qw table-with-no-primary-key-or-unique-constraint <<<"$APPLICABLE"
ok "($(wc -w <<<"$APPLICABLE") assessments)"

step "start-replication-task-assessment-run + describe-...-runs loop"
RUN=$(dms start-replication-task-assessment-run --replication-task-arn "$TASK" \
  --service-access-role-arn arn:aws:iam::123456789012:role/dms-assessment \
  --result-location-bucket "$BUCKET" --result-location-folder checks \
  --assessment-run-name "cli-run-$SUFFIX" \
  | field "['ReplicationTaskAssessmentRun']['ReplicationTaskAssessmentRunArn']")
for _ in $(seq 1 600); do
  RUN_STATUS=$(dms describe-replication-task-assessment-runs \
    --filters "Name=replication-task-assessment-run-arn,Values=$RUN" \
    --query 'ReplicationTaskAssessmentRuns[0].Status' --output text)
  case "$RUN_STATUS" in starting|provisioning|running) sleep 0.2 ;; *) break ;; esac
done
[ "$RUN_STATUS" = failed ]
ok "(Status $RUN_STATUS)"

step "describe-replication-task-individual-assessments"
FAILED=$(dms describe-replication-task-individual-assessments \
  --filters "Name=replication-task-assessment-run-arn,Values=$RUN" "Name=status,Values=failed" \
  --query 'ReplicationTaskIndividualAssessments[].IndividualAssessmentName' --output text)
grep -qw unsupported-data-types-in-source <<<"$FAILED"
grep -qw table-with-no-primary-key-or-unique-constraint <<<"$FAILED"
ok "(failed: $FAILED)"

step "result files in s3 (list-objects-v2)"
KEYS=$(s3api list-objects-v2 --bucket "$BUCKET" --query 'Contents[].Key' --output text)
grep -q 'unsupported-data-types-in-source' <<<"$KEYS"
ok "($(wc -w <<<"$KEYS") objects)"

step "delete the run, task, endpoints and instance"
dms delete-replication-task-assessment-run --replication-task-assessment-run-arn "$RUN" >/dev/null
dms delete-replication-task --replication-task-arn "$TASK" >/dev/null
dms wait replication-task-deleted --filters "Name=replication-task-arn,Values=$TASK"
for arn in "$SOURCE" "$TARGET"; do
  dms delete-endpoint --endpoint-arn "$arn" >/dev/null
done
dms delete-replication-instance --replication-instance-arn "$INSTANCE" >/dev/null
ok

echo "AWS CLI $("$AWS" --version 2>&1 | cut -d' ' -f1,4): serverless and assessment done against $URL"
