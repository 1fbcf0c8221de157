"""Shared fixtures for the wire tests (issue 11).

The suite talks to a running `stowplan-server` whose base URL is in `STOWPLAN_ENDPOINT`
(tests/wire/run.sh starts one with `--port 0 --auto-advance 30 --read-timeout 2
--max-connections 32`). Every test
starts from an empty server: the autouse fixture posts to `/moto-api/reset`, as suites written for
moto's server mode do.
"""

import json
import os
import urllib.request

import boto3
import botocore.config
import pytest
from botocore.validate import ParamValidator

ENDPOINT = os.environ.get("STOWPLAN_ENDPOINT", "http://127.0.0.1:4566")
REGION = "us-east-1"


def post(path, body=b"", headers=None):
    """A plain HTTP POST; returns (status, headers, parsed JSON body)."""
    request = urllib.request.Request(ENDPOINT + path, data=body, method="POST")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"{}")


def harness(action, body=None):
    """Runs `Sim.<action>` through `X-Amz-Target: Stowplan.<action>` (unsigned: the default Region)."""
    return post(
        "/",
        json.dumps(body or {}).encode(),
        {"X-Amz-Target": "Stowplan." + action, "Content-Type": "application/x-amz-json-1.1"},
    )


class WireChecker:
    """Checks every successful ECS response against botocore's own model of its output shape.

    botocore's parser is lenient (a string where an integer belongs passes through), so after
    each call this validates the parsed response with botocore's `ParamValidator` (required
    members present, every value of its modelled type) and the raw body for the wire format
    itself: timestamps must be JSON numbers (epoch seconds), as ECS's JSON protocol sends them,
    and no member may be unknown to the model.
    """

    def __init__(self):
        self.problems = []
        self.checked = 0

    def __call__(self, http_response, parsed, model, **_):
        if http_response.status_code != 200 or model.output_shape is None:
            return
        self.checked += 1
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        report = ParamValidator().validate(body, model.output_shape)
        if report.has_errors():
            self.problems.append(f"{model.name}: {report.generate_report()}")
        raw = json.loads(http_response.content or b"{}")
        self._walk(model.name, raw, model.output_shape, "")

    def _walk(self, operation, value, shape, path):
        kind = shape.type_name
        if kind == "structure":
            if not isinstance(value, dict):
                self.problems.append(f"{operation}{path}: expected an object")
                return
            for name, member in value.items():
                if name not in shape.members:
                    self.problems.append(f"{operation}{path}/{name}: not in the model")
                elif member is not None:
                    self._walk(operation, member, shape.members[name], f"{path}/{name}")
        elif kind == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                self._walk(operation, item, shape.member, f"{path}/{i}")
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                self._walk(operation, item, shape.value, f"{path}/{key}")
        elif kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problems.append(f"{operation}{path}: timestamp {value!r} is not epoch seconds")


def make_client(checker=None, **overrides):
    settings = dict(
        region_name=REGION,
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIAEXAMPLEROOT",
        aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    settings.update(overrides)
    client = boto3.client("ecs", **settings)
    if checker is not None:
        client.meta.events.register("after-call.ecs", checker)
    return client


@pytest.fixture(autouse=True)
def reset_server():
    status, _, body = post("/moto-api/reset")
    assert (status, body) == (200, {"status": "ok"})


@pytest.fixture
def checker():
    checker = WireChecker()
    yield checker
    assert checker.problems == [], "\n".join(checker.problems)


@pytest.fixture
def ecs(checker):
    return make_client(checker)
