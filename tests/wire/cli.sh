#!/usr/bin/env bash
# A few AWS CLI commands against a running stowplan-server (issue 11).
# Usage: STOWPLAN_ENDPOINT=http://127.0.0.1:PORT bash tests/wire/cli.sh   (run.sh does this)
set -euo pipefail
endpoint=${STOWPLAN_ENDPOINT:?set STOWPLAN_ENDPOINT to the server URL}
export AWS_ACCESS_KEY_ID=AKIAEXAMPLECLI AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
aws_ecs() { aws ecs "$@" --endpoint-url "$endpoint" --output json; }
passed=0 failed=0
check() { # check NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }

curl_reset() { python3 - "$endpoint" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", data=b"", method="POST"), timeout=10)
PY
}
curl_reset

created=$(aws_ecs create-cluster --cluster-name cli-prod)
check "create-cluster returns the ARN" \
  test "$(echo "$created" | json_get "['cluster']['clusterArn']")" = "arn:aws:ecs:us-east-1:123456789012:cluster/cli-prod"
aws_ecs create-cluster --cluster-name cli-dev >/dev/null

listed=$(aws_ecs list-clusters)
check "list-clusters lists both" test "$(echo "$listed" | json_get "['clusterArns'].__len__()")" = 2

# The CLI paginates by itself: a page size of 1 still yields every cluster.
paged=$(aws_ecs list-clusters --page-size 1)
check "list-clusters --page-size 1 follows nextToken" test "$(echo "$paged" | json_get "['clusterArns'].__len__()")" = 2

described=$(aws_ecs describe-clusters --clusters cli-prod missing)
check "describe-clusters finds one" test "$(echo "$described" | json_get "['clusters'][0]['status']")" = ACTIVE
check "describe-clusters reports the missing one" test "$(echo "$described" | json_get "['failures'][0]['reason']")" = MISSING

set +e
error=$(aws_ecs describe-services --cluster nowhere --services web 2>&1 >/dev/null)
status=$?
set -e
check "an error exits non-zero" test "$status" -ne 0
check "an error names ClusterNotFoundException" grep -q "ClusterNotFoundException" <<<"$error"

set +e
error=$(aws_ecs run-task --cluster cli-prod --task-definition web --count 11 2>&1 >/dev/null)
set -e
check "run-task --count 11 is InvalidParameterException" grep -q "InvalidParameterException" <<<"$error"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
