"""boto3 against stowplan-server, as a user's test suite would drive it (issue 11).

Every successful response also passes the `checker` fixture (conftest.py): botocore's model
validation of the parsed output, epoch-second timestamps on the wire, no member outside the model.
"""

import json
import os
import sys

import boto3
import botocore.exceptions
import pytest

from conftest import ENDPOINT, REGION, harness, make_client, post

FAST = {"Delay": 1, "MaxAttempts": 30}


def identity_document(instance_id, zone, instance_type="m5.large"):
    return json.dumps(
        {"instanceId": instance_id, "availabilityZone": zone, "instanceType": instance_type,
         "region": REGION}
    )


def register_instance(ecs, cluster, instance_id, zone, cpu=2048, memory=7680):
    response = ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=identity_document(instance_id, zone),
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
        ],
    )
    return response["containerInstance"]


def small_cluster(ecs, name="wire", instances=2):
    ecs.create_cluster(clusterName=name)
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    return [
        register_instance(ecs, name, f"i-0{i:016x}", zones[i % 3])["containerInstanceArn"]
        for i in range(instances)
    ]


def web_definition(ecs, family="web", memory=256):
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[
            {"name": "web", "image": "nginx:1.27", "cpu": 128, "memory": memory, "essential": True}
        ],
    )["taskDefinition"]


# --- clusters ---------------------------------------------------------------------------


def test_create_describe_and_list_clusters(ecs):
    created = ecs.create_cluster(clusterName="prod", tags=[{"key": "team", "value": "a"}])
    assert created["cluster"]["status"] == "ACTIVE"
    assert created["cluster"]["clusterArn"] == f"arn:aws:ecs:{REGION}:123456789012:cluster/prod"
    ecs.create_cluster(clusterName="dev")
    described = ecs.describe_clusters(clusters=["prod", "nope"], include=["TAGS"])
    assert [c["clusterName"] for c in described["clusters"]] == ["prod"]
    assert described["clusters"][0]["tags"] == [{"key": "team", "value": "a"}]
    assert described["failures"][0]["reason"] == "MISSING"
    arns = ecs.list_clusters()["clusterArns"]
    assert sorted(a.rsplit("/", 1)[1] for a in arns) == ["dev", "prod"]


def test_request_ids_come_back_in_response_metadata(ecs):
    first = ecs.list_clusters()["ResponseMetadata"]
    second = ecs.list_clusters()["ResponseMetadata"]
    assert first["HTTPStatusCode"] == 200
    assert first["RequestId"] != second["RequestId"]
    assert first["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"


def test_list_clusters_paginator(ecs):
    for i in range(5):
        ecs.create_cluster(clusterName=f"c{i}")
    pages = list(ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["clusterArns"]) for p in pages] == [2, 2, 1]


# --- container instances ------------------------------------------------------------------


def test_register_container_instances_with_identity_documents(ecs):
    arns = small_cluster(ecs, instances=3)
    described = ecs.describe_container_instances(cluster="wire", containerInstances=arns)
    by_id = {ci["ec2InstanceId"]: ci for ci in described["containerInstances"]}
    assert len(by_id) == 3
    first = by_id["i-00000000000000000"]
    attributes = {a["name"]: a.get("value") for a in first["attributes"]}
    assert attributes["ecs.availability-zone"] == "us-east-1a"
    assert attributes["ecs.instance-type"] == "m5.large"
    assert first["status"] == "ACTIVE" and first["agentConnected"] is True
    remaining = {r["name"]: r for r in first["remainingResources"]}
    assert remaining["MEMORY"]["integerValue"] == 7680


def test_list_container_instances_paginator_and_filter(ecs):
    small_cluster(ecs, instances=3)
    paginator = ecs.get_paginator("list_container_instances")
    pages = list(paginator.paginate(cluster="wire", PaginationConfig={"PageSize": 2}))
    assert [len(p["containerInstanceArns"]) for p in pages] == [2, 1]
    in_b = ecs.list_container_instances(
        cluster="wire", filter="attribute:ecs.availability-zone == us-east-1b"
    )
    assert len(in_b["containerInstanceArns"]) == 1


def test_drain_an_instance(ecs):
    arns = small_cluster(ecs, instances=1)
    updated = ecs.update_container_instances_state(
        cluster="wire", containerInstances=arns, status="DRAINING"
    )
    assert updated["containerInstances"][0]["status"] == "DRAINING"


# --- task definitions --------------------------------------------------------------------


def test_task_definition_lifecycle_and_paginators(ecs):
    for _ in range(3):
        web_definition(ecs)
    web_definition(ecs, family="worker")
    described = ecs.describe_task_definition(taskDefinition="web:2")["taskDefinition"]
    assert (described["family"], described["revision"], described["status"]) == ("web", 2, "ACTIVE")
    assert "EC2" in described["compatibilities"]
    paginator = ecs.get_paginator("list_task_definitions")
    pages = list(paginator.paginate(familyPrefix="web", PaginationConfig={"PageSize": 2}))
    assert [len(p["taskDefinitionArns"]) for p in pages] == [2, 1]
    families = ecs.get_paginator("list_task_definition_families").paginate().build_full_result()
    assert families["families"] == ["web", "worker"]
    gone = ecs.deregister_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert gone["status"] == "INACTIVE"
    active = ecs.list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]
    assert len(active) == 2


def test_an_invalid_task_definition_is_a_client_exception(ecs):
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.register_task_definition(
            family="bad", containerDefinitions=[{"name": "x", "memory": 64}]
        )


# --- tasks -------------------------------------------------------------------------------


def test_run_tasks_wait_running_stop_and_wait_stopped(ecs):
    small_cluster(ecs)
    web_definition(ecs)
    run = ecs.run_task(cluster="wire", taskDefinition="web", count=2)
    assert run["failures"] == []
    arns = [t["taskArn"] for t in run["tasks"]]
    assert len(arns) == 2
    ecs.get_waiter("tasks_running").wait(cluster="wire", tasks=arns, WaiterConfig=FAST)
    tasks = ecs.describe_tasks(cluster="wire", tasks=arns)["tasks"]
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert all(t["startedAt"] >= t["createdAt"] for t in tasks)
    ecs.stop_task(cluster="wire", task=arns[0], reason="done with it")
    ecs.get_waiter("tasks_stopped").wait(cluster="wire", tasks=arns[:1], WaiterConfig=FAST)
    stopped = ecs.describe_tasks(cluster="wire", tasks=arns[:1])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "done with it"
    assert stopped["stopCode"] == "UserInitiated"


def test_list_tasks_paginator_and_filters(ecs):
    small_cluster(ecs)
    web_definition(ecs)
    ecs.run_task(cluster="wire", taskDefinition="web", count=5)
    pages = list(
        ecs.get_paginator("list_tasks").paginate(cluster="wire", PaginationConfig={"PageSize": 2})
    )
    assert [len(p["taskArns"]) for p in pages] == [2, 2, 1]
    by_family = ecs.list_tasks(cluster="wire", family="web")["taskArns"]
    assert len(by_family) == 5
    stopped = ecs.list_tasks(cluster="wire", desiredStatus="STOPPED")["taskArns"]
    assert stopped == []


def test_a_placement_failure_carries_its_reason(ecs):
    arns = small_cluster(ecs, instances=1)
    web_definition(ecs, family="huge", memory=100_000)
    run = ecs.run_task(cluster="wire", taskDefinition="huge")
    assert run["tasks"] == []
    assert run["failures"] == [{"arn": arns[0], "reason": "RESOURCE:MEMORY"}]


def test_the_tasks_running_waiter_fails_on_a_stopped_task(ecs):
    small_cluster(ecs)
    web_definition(ecs)
    harness("FailTasks", {"taskDefinition": "web", "mode": "failToStart"})
    arns = [t["taskArn"] for t in ecs.run_task(cluster="wire", taskDefinition="web")["tasks"]]
    with pytest.raises(botocore.exceptions.WaiterError):
        ecs.get_waiter("tasks_running").wait(cluster="wire", tasks=arns, WaiterConfig=FAST)


def test_start_task_on_a_chosen_instance(ecs):
    arns = small_cluster(ecs)
    web_definition(ecs)
    started = ecs.start_task(cluster="wire", taskDefinition="web", containerInstances=arns[1:])
    assert started["tasks"][0]["containerInstanceArn"] == arns[1]


# --- services ----------------------------------------------------------------------------


def test_a_service_becomes_stable_under_the_services_stable_waiter(ecs):
    small_cluster(ecs, instances=3)
    web_definition(ecs)
    created = ecs.create_service(
        cluster="wire", serviceName="api", taskDefinition="web", desiredCount=3
    )["service"]
    assert created["status"] == "ACTIVE"
    ecs.get_waiter("services_stable").wait(cluster="wire", services=["api"], WaiterConfig=FAST)
    service = ecs.describe_services(cluster="wire", services=["api"])["services"][0]
    assert (service["runningCount"], service["desiredCount"]) == (3, 3)
    assert len(service["deployments"]) == 1
    # Stable is not yet COMPLETED: the tasks must first stay healthy for a while.
    assert service["deployments"][0]["rolloutState"] in ("IN_PROGRESS", "COMPLETED")
    harness("Advance", {"seconds": 60})
    service = ecs.describe_services(cluster="wire", services=["api"])["services"][0]
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    tasks = ecs.list_tasks(cluster="wire", serviceName="api")["taskArns"]
    assert len(tasks) == 3

    web_definition(ecs)  # web:2
    ecs.update_service(cluster="wire", service="api", taskDefinition="web:2")
    ecs.get_waiter("services_stable").wait(cluster="wire", services=["api"], WaiterConfig=FAST)
    service = ecs.describe_services(cluster="wire", services=["api"])["services"][0]
    assert service["taskDefinition"].endswith(":task-definition/web:2")
    assert service["events"], "the service scheduler reports events"

    ecs.update_service(cluster="wire", service="api", desiredCount=0)
    ecs.get_waiter("services_stable").wait(cluster="wire", services=["api"], WaiterConfig=FAST)
    deleted = ecs.delete_service(cluster="wire", service="api")["service"]
    assert deleted["status"] in ("DRAINING", "INACTIVE")


def test_list_services_paginator(ecs):
    small_cluster(ecs)
    web_definition(ecs)
    for i in range(3):
        ecs.create_service(cluster="wire", serviceName=f"s{i}", taskDefinition="web", desiredCount=0)
    pages = list(
        ecs.get_paginator("list_services").paginate(cluster="wire", PaginationConfig={"PageSize": 2})
    )
    assert [len(p["serviceArns"]) for p in pages] == [2, 1]


# --- tags --------------------------------------------------------------------------------


def test_tag_untag_and_list_tags(ecs):
    arn = ecs.create_cluster(clusterName="tagged")["cluster"]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]


# --- modelled exceptions -----------------------------------------------------------------


def test_cluster_not_found_is_the_modelled_exception(ecs):
    with pytest.raises(ecs.exceptions.ClusterNotFoundException) as caught:
        ecs.run_task(cluster="nope", taskDefinition="web")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ClusterNotFoundException"
    assert response["Error"]["Message"]
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.describe_services(cluster="nope", services=["x"])


def test_invalid_parameter_is_the_modelled_exception(ecs):
    small_cluster(ecs)
    web_definition(ecs)
    with pytest.raises(ecs.exceptions.InvalidParameterException) as caught:
        ecs.run_task(cluster="wire", taskDefinition="web", count=11)
    assert caught.value.response["Error"]["Message"] == "Task count can not be greater than 10"


def test_service_not_found_is_the_modelled_exception(ecs):
    ecs.create_cluster(clusterName="wire")
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.update_service(cluster="wire", service="ghost", desiredCount=1)


def test_an_unimplemented_operation_is_a_client_error_not_a_silent_success(ecs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ecs.list_account_settings()
    assert caught.value.response["Error"]["Code"] == "UnsupportedOperation"


def test_access_denied_for_a_user_without_permission(checker):
    """AccessDeniedException through the permissions layer: a user, an inline policy that allows
    only ecs:ListClusters, an access key, and a second client signing with that key."""
    status, _, body = harness("CreateUser", {"UserName": "alice"})
    if status == 400 and body.get("__type") == "UnknownOperationException":
        pytest.skip("this server has no IAM harness actions yet (Stowplan.CreateUser is unknown)")
    assert status == 200, body
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}],
    }
    status, _, body = harness(
        "PutUserPolicy",
        {"UserName": "alice", "PolicyName": "list-only", "PolicyDocument": json.dumps(policy)},
    )
    assert status == 200, body
    status, _, body = harness("CreateAccessKey", {"UserName": "alice"})
    assert status == 200, body
    key = body.get("AccessKey", body)
    alice = make_client(
        checker,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key.get("SecretAccessKey", "any"),
    )
    assert alice.list_clusters()["clusterArns"] == []
    with pytest.raises(alice.exceptions.AccessDeniedException) as caught:
        alice.create_cluster(clusterName="forbidden")
    message = caught.value.response["Error"]["Message"]
    assert "ecs:CreateCluster" in message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The root's key still may.
    make_client(checker).create_cluster(clusterName="allowed")


# --- endpoints, Regions and the harness over HTTP ----------------------------------------


def test_aws_endpoint_url_ecs_points_an_unchanged_client_here(checker, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECS", ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client = boto3.session.Session(region_name=REGION).client("ecs")
    client.meta.events.register("after-call.ecs", checker)
    client.create_cluster(clusterName="from-env")
    assert client.describe_clusters(clusters=["from-env"])["clusters"][0]["status"] == "ACTIVE"


def test_each_region_is_its_own_ecs(checker):
    east = make_client(checker)
    west = make_client(checker, region_name="eu-west-1")
    made = west.create_cluster(clusterName="dublin")["cluster"]["clusterArn"]
    assert made.startswith("arn:aws:ecs:eu-west-1:123456789012:cluster/")
    assert east.list_clusters()["clusterArns"] == []
    assert west.list_clusters()["clusterArns"] == [made]


def test_harness_actions_over_http(ecs):
    status, headers, body = harness("Advance", {"seconds": 5})
    assert status == 200 and isinstance(body["now"], int)
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    ecs.create_cluster(clusterName="snap")
    status, _, snapshot = harness("Snapshot")
    assert status == 200 and "snap" in json.dumps(snapshot)
    status, _, body = harness("NoSuchAction")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = harness("Advance", {"seconds": "soon"})
    assert (status, body["__type"]) == (400, "ScenarioError")
    status, _, body = harness("Reset")
    assert status == 200
    assert ecs.list_clusters()["clusterArns"] == []


def test_unknown_targets_and_bad_bodies_are_json_errors():
    status, headers, body = post("/", b"{}", {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.Brew"})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    assert headers["x-amzn-RequestId"]
    status, _, body = post("/", b"{", {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"})
    assert (status, body["__type"]) == (400, "SerializationException")
    status, _, body = post("/", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_auto_advance_is_deterministic_logical_time(ecs):
    # The server runs with --auto-advance 30: each ECS request moves the clock 30 s first.
    _, _, before = harness("Advance", {"seconds": 1})
    ecs.list_clusters()
    ecs.list_clusters()
    _, _, after = harness("Advance", {"seconds": 1})
    advance = int(os.environ.get("STOWPLAN_AUTO_ADVANCE", "30"))
    assert after["now"] - before["now"] == 2 * advance + 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
