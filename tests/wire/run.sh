#!/usr/bin/env bash
# The wire tests (issue 11): build stowplan-server, install boto3 / the AWS CLI / pytest into a
# virtual environment, start the server on a free loopback port, run the boto3 suite, the hostile
# HTTP suite and the CLI script, and stop the server whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

cargo build --release --features server --bin stowplan-server --locked

venv=target/wire-venv
stamp=$venv/.requirements
if ! cmp -s tests/wire/requirements.txt "$stamp" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/wire/requirements.txt
  cp tests/wire/requirements.txt "$stamp"
fi
echo "wire: venv ready after $((SECONDS - started)) s"

auto_advance=30
read_timeout=2
max_connections=32
log=$(mktemp)
./target/release/stowplan-server --port 0 --host 127.0.0.1 --seed 1 \
  --auto-advance "$auto_advance" --read-timeout "$read_timeout" \
  --max-connections "$max_connections" >"$log" 2>&1 &
server_pid=$!
stop_server() {
  status=$?
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    echo "stowplan-server's output:"; tail -50 "$log"
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop_server EXIT

# The first line is "listening on 127.0.0.1:PORT".
address=""
for _ in $(seq 1 100); do
  address=$(sed -n 's/^listening on //p' "$log" | head -1)
  [ -n "$address" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "stowplan-server exited early:"; cat "$log"; exit 1
  fi
  sleep 0.1
done
[ -n "$address" ] || { echo "stowplan-server did not report its port"; cat "$log"; exit 1; }
echo "wire: server on $address"

export STOWPLAN_ENDPOINT="http://$address"
export STOWPLAN_AUTO_ADVANCE=$auto_advance STOWPLAN_READ_TIMEOUT=$read_timeout
export STOWPLAN_MAX_CONNECTIONS=$max_connections
# Keep the user's AWS configuration out of the tests.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export PYTHONDONTWRITEBYTECODE=1
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECS AWS_DEFAULT_REGION AWS_REGION || true

"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/wire
PATH="$PWD/$venv/bin:$PATH" bash tests/wire/cli.sh

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "stowplan-server died during the tests:"; cat "$log"; exit 1
fi
echo "wire: done in $((SECONDS - started)) s"
