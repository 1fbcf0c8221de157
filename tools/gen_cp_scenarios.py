#!/usr/bin/env python3
"""Writes the capacity-provider conformance scenarios tests/scenarios/CP-*.json.

Each scenario is written here by hand from the rule catalogue (placement-and-services.md §7)
and the AWS documentation it cites; the expectations are not recorded from a runner. The script
only saves typing: the same cluster, instance and task-definition steps recur in every file.

    python3 tools/gen_cp_scenarios.py   # rewrites tests/scenarios/CP-*.json
"""
import json
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "scenarios")
DG_CP = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html"
DG_ASG = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers.html"
DG_CAS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-auto-scaling.html"
DG_PROVIDERS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html"
API_CP = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html"


def step(action, request, **extra):
    s = {"action": action, "request": request}
    s.update(extra)
    return s


def cluster(name="prod", providers=None, strategy=None):
    req = {"clusterName": name}
    if providers is not None:
        req["capacityProviders"] = providers
    if strategy is not None:
        req["defaultCapacityProviderStrategy"] = strategy
    return step("CreateCluster", req)


def ec2_td(family="web", cpu=1024, memory=1024, **extra):
    return step("RegisterTaskDefinition", {
        "family": family,
        "containerDefinitions": [{"name": "app", "image": "nginx:1", "cpu": cpu,
                                  "memory": memory, "essential": True}],
        **extra,
    })


def fargate_td(family="api"):
    return step("RegisterTaskDefinition", {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx:1", "essential": True}],
    })


VPC = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}


def asg(name="asg-1", cluster_name="prod", min_size=0, max_size=10, desired=0,
        zones=("us-east-1a", "us-east-1b"), instance_type="m5.large"):
    return step("Sim.CreateAutoScalingGroup", {
        "AutoScalingGroupName": name, "InstanceType": instance_type, "MinSize": min_size,
        "MaxSize": max_size, "DesiredCapacity": desired, "AvailabilityZones": list(zones),
        "cluster": cluster_name,
    }, capture={name.replace("-", "_") + "_arn": "/AutoScalingGroupARN"})


def provider(name="cp-1", group="asg-1", managed=True, target=100, warmup=0,
             termination=None, draining=None, **extra):
    settings = {"autoScalingGroupArn": "${" + group.replace("-", "_") + "_arn}"}
    if managed is not None:
        settings["managedScaling"] = {
            "status": "ENABLED" if managed else "DISABLED",
            "targetCapacity": target, "instanceWarmupPeriod": warmup}
    if termination:
        settings["managedTerminationProtection"] = termination
    if draining:
        settings["managedDraining"] = draining
    return step("CreateCapacityProvider", {"name": name, "autoScalingGroupProvider": settings}, **extra)


def put(cluster_name, providers, strategy, **extra):
    return step("PutClusterCapacityProviders", {
        "cluster": cluster_name, "capacityProviders": providers,
        "defaultCapacityProviderStrategy": strategy}, **extra)


def item(name, weight=None, base=None):
    i = {"capacityProvider": name}
    if weight is not None:
        i["weight"] = weight
    if base is not None:
        i["base"] = base
    return i


def advance(seconds=60, **extra):
    return step("Sim.Advance", {"seconds": seconds}, **extra)


def write(name, description, source, steps):
    if not any(s.startswith("https://") for s in source):
        source = source + [DG_PROVIDERS]
    for s in steps:
        if "expect" in s or "expect_error" in s:
            s.setdefault("source", source)
    doc = {"description": description, "source": source, "steps": steps}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main():
    # ---- CP-NAME ------------------------------------------------------------------------
    write("CP-NAME-reserved-prefixes",
          "A capacity provider name may not start with aws, ecs or fargate (in any case); a plain name is accepted.",
          ["CP-NAME", "https://github.com/aws-samples/aws-cdk-examples/issues/628"],
          [cluster(), asg(),
           step("CreateCapacityProvider", {"name": "ecs-capacity", "autoScalingGroupProvider": {"autoScalingGroupArn": "${asg_1_arn}"}},
                expect_error="ClientException",
                note="The specified capacity provider name is invalid. ... The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\"."),
           step("CreateCapacityProvider", {"name": "AWSCapacity", "autoScalingGroupProvider": {"autoScalingGroupArn": "${asg_1_arn}"}},
                expect_error="ClientException"),
           step("CreateCapacityProvider", {"name": "Fargate-like", "autoScalingGroupProvider": {"autoScalingGroupArn": "${asg_1_arn}"}},
                expect_error="ClientException"),
           step("CreateCapacityProvider", {"name": "my_provider-1", "autoScalingGroupProvider": {"autoScalingGroupArn": "${asg_1_arn}"}},
                expect={"capacityProvider": {"name": "my_provider-1", "status": "ACTIVE", "type": "EC2_AUTOSCALING",
                                             "capacityProviderArn": {"$regex": "^arn:aws:ecs:us-east-1:123456789012:capacity-provider/my_provider-1$"}}})])

    # ---- CP-KINDS -----------------------------------------------------------------------
    write("CP-KINDS-fargate-providers-always-present",
          "FARGATE and FARGATE_SPOT exist in every account: DescribeCapacityProviders lists them without any CreateCapacityProvider, and an unknown name is a MISSING failure.",
          ["CP-KINDS", "CP-FARGATE", DG_CP],
          [step("DescribeCapacityProviders", {},
                expect={"capacityProviders": {"$len": 2, "$distinct": "/name",
                                              "$each": {"status": "ACTIVE", "type": {"$one_of": ["FARGATE", "FARGATE_SPOT"]}}}}),
           step("DescribeCapacityProviders", {"capacityProviders": ["FARGATE_SPOT", "nope"]},
                expect={"capacityProviders": [{"name": "FARGATE_SPOT"}],
                        "failures": [{"reason": "MISSING", "arn": {"$regex": "capacity-provider/nope$"}}]})])

    write("CP-KINDS-fargate-cannot-be-deleted",
          "The predefined FARGATE and FARGATE_SPOT providers cannot be deleted or created.",
          ["CP-KINDS", "CP-DELETE", "CP-NAME"],
          [step("DeleteCapacityProvider", {"capacityProvider": "FARGATE"},
                expect_error=["ClientException", "InvalidParameterException"]),
           step("CreateCapacityProvider", {"name": "FARGATE_SPOT", "autoScalingGroupProvider": {"autoScalingGroupArn": "x"}},
                expect_error="ClientException"),
           step("DescribeCapacityProviders", {"capacityProviders": ["FARGATE"]},
                expect={"capacityProviders": [{"name": "FARGATE", "status": "ACTIVE"}]})])

    # ---- CP-ASG-SETTINGS ----------------------------------------------------------------
    write("CP-ASG-SETTINGS-defaults",
          "Managed scaling settings not given take their documented defaults: targetCapacity 100, minimumScalingStepSize 1, maximumScalingStepSize 10000, instanceWarmupPeriod 300; termination protection is off.",
          ["CP-ASG-SETTINGS", "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedScaling.html"],
          [cluster(), asg(),
           step("CreateCapacityProvider", {"name": "cp-1", "autoScalingGroupProvider": {
               "autoScalingGroupArn": "${asg_1_arn}", "managedScaling": {"status": "ENABLED"}}},
                expect={"capacityProvider": {"autoScalingGroupProvider": {
                    "autoScalingGroupArn": {"$ref": "asg_1_arn"},
                    "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
                                       "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300},
                    "managedTerminationProtection": "DISABLED"}}}),
           step("DescribeCapacityProviders", {"capacityProviders": ["cp-1"], "include": ["TAGS"]},
                expect={"capacityProviders": [{"name": "cp-1", "tags": []}], "failures": []})])

    write("CP-ASG-SETTINGS-out-of-range",
          "targetCapacity outside 1-100 and managed termination protection without managed scaling are refused; nothing is created.",
          ["CP-ASG-SETTINGS", "ERR-ATOMIC"],
          [cluster(), asg(),
           provider(target=0, expect_error=["InvalidParameterException", "ClientException"]),
           step("CreateCapacityProvider", {"name": "cp-2", "autoScalingGroupProvider": {
               "autoScalingGroupArn": "${asg_1_arn}", "managedScaling": {"status": "DISABLED"},
               "managedTerminationProtection": "ENABLED"}},
                expect_error=["InvalidParameterException", "ClientException"]),
           step("DescribeCapacityProviders", {},
                expect={"capacityProviders": {"$len": 2}})])

    # ---- CP-ASSOCIATE -------------------------------------------------------------------
    write("CP-ASSOCIATE-put-and-describe",
          "PutClusterCapacityProviders replaces the cluster's providers and default strategy; DescribeClusters shows both.",
          ["CP-ASSOCIATE", "CP-DEFAULT-STRATEGY", "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html"],
          [cluster(), asg(), provider(),
           put("prod", ["cp-1", "FARGATE"], [item("cp-1", weight=1, base=1)],
               expect={"cluster": {"capacityProviders": ["cp-1", "FARGATE"],
                                   "defaultCapacityProviderStrategy": [{"capacityProvider": "cp-1", "weight": 1, "base": 1}]}}),
           put("prod", ["FARGATE_SPOT"], [],
               expect={"cluster": {"capacityProviders": ["FARGATE_SPOT"], "defaultCapacityProviderStrategy": []}}),
           step("DescribeClusters", {"clusters": ["prod"]},
                expect={"clusters": [{"capacityProviders": ["FARGATE_SPOT"], "defaultCapacityProviderStrategy": []}]})])

    write("CP-ASSOCIATE-remove-in-use",
          "Removing a capacity provider that a service still uses is refused with ResourceInUseException; the association is unchanged.",
          ["CP-ASSOCIATE", "ERR-WHEN", "ERR-ATOMIC"],
          [cluster(providers=["FARGATE"]), fargate_td(),
           step("CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "api", "desiredCount": 1,
                                  "capacityProviderStrategy": [item("FARGATE", weight=1)], "networkConfiguration": VPC}),
           put("prod", [], [], expect_error="ResourceInUseException"),
           step("DescribeClusters", {"clusters": ["prod"]},
                expect={"clusters": [{"capacityProviders": ["FARGATE"]}]})])

    write("CP-ASSOCIATE-not-associated",
          "A strategy may only name providers associated with the cluster: FARGATE_SPOT on a cluster without it is refused.",
          ["CP-ASSOCIATE", "CP-STRATEGY-RULES"],
          [cluster(providers=["FARGATE"]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "networkConfiguration": VPC,
                            "capacityProviderStrategy": [item("FARGATE_SPOT", weight=1)]},
                expect_error="InvalidParameterException"),
           step("ListTasks", {"cluster": "prod"}, expect={"taskArns": []})])

    write("CP-ASSOCIATE-one-cluster-only",
          "An Auto Scaling group provider with managed scaling can be associated with only one cluster at a time.",
          ["CP-ASSOCIATE", "CP-ASG-SETTINGS", DG_CAS],
          [cluster(), cluster("other"), asg(), provider(),
           put("prod", ["cp-1"], []),
           put("other", ["cp-1"], [], expect_error=["InvalidParameterException", "ClientException"]),
           step("DescribeClusters", {"clusters": ["other"]},
                expect={"clusters": [{"capacityProviders": []}]})])

    # ---- CP-STRATEGY-RULES --------------------------------------------------------------
    write("CP-STRATEGY-RULES-launch-type-and-strategy",
          "launchType and capacityProviderStrategy are mutually exclusive.",
          ["CP-STRATEGY-RULES", "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html"],
          [cluster(providers=["FARGATE"]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "launchType": "FARGATE", "networkConfiguration": VPC,
                            "capacityProviderStrategy": [item("FARGATE", weight=1)]},
                expect_error="InvalidParameterException",
                note="moto: Specify either Launch Type or Capacity Provider Strategy, but not both.")])

    write("CP-STRATEGY-RULES-one-base",
          "Only one item of a capacity provider strategy may have a base.",
          ["CP-STRATEGY-RULES", API_CP],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "networkConfiguration": VPC,
                            "capacityProviderStrategy": [item("FARGATE", weight=1, base=1), item("FARGATE_SPOT", weight=1, base=2)]},
                expect_error="InvalidParameterException")])

    write("CP-STRATEGY-RULES-weight-range",
          "A weight must be between 0 and 1000; the cluster default strategy is checked the same way.",
          ["CP-STRATEGY-RULES", API_CP],
          [cluster(providers=["FARGATE"]),
           put("prod", ["FARGATE"], [item("FARGATE", weight=1001)], expect_error="InvalidParameterException"),
           put("prod", ["FARGATE"], [item("FARGATE", weight=1000)],
               expect={"cluster": {"defaultCapacityProviderStrategy": [{"weight": 1000}]}})])

    write("CP-STRATEGY-RULES-no-mixing",
          "A strategy cannot mix Fargate providers with Auto Scaling group providers.",
          ["CP-STRATEGY-RULES", DG_CP],
          [cluster(), asg(), provider(),
           put("prod", ["cp-1", "FARGATE"], [item("cp-1", weight=1), item("FARGATE", weight=1)],
               expect_error="InvalidParameterException")])

    write("CP-STRATEGY-RULES-all-weights-zero",
          "With several providers at least one weight must be greater than zero.",
          ["CP-STRATEGY-RULES", API_CP],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "api", "desiredCount": 1,
                                  "networkConfiguration": VPC,
                                  "capacityProviderStrategy": [item("FARGATE", weight=0), item("FARGATE_SPOT", weight=0)]},
                expect_error="InvalidParameterException"),
           step("ListServices", {"cluster": "prod"}, expect={"serviceArns": []})])

    write("CP-STRATEGY-RULES-21-items",
          "A strategy has at most 20 items (the limit was 6 in older documentation).",
          ["CP-STRATEGY-RULES", "QUOTA-TABLE"],
          [cluster(providers=["FARGATE"]),
           put("prod", ["FARGATE"], [item("FARGATE", weight=1) for _ in range(21)],
               expect_error="InvalidParameterException")])

    # ---- CP-DEFAULT-STRATEGY ------------------------------------------------------------
    write("CP-DEFAULT-STRATEGY-runtask-uses-default",
          "A RunTask naming neither launchType nor a strategy uses the cluster's default strategy: the task runs on FARGATE_SPOT.",
          ["CP-DEFAULT-STRATEGY", "CP-FARGATE", DG_CP],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"], strategy=[item("FARGATE_SPOT", weight=1)]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "networkConfiguration": VPC},
                expect={"tasks": [{"capacityProviderName": "FARGATE_SPOT", "launchType": "FARGATE"}], "failures": []})])

    write("CP-DEFAULT-STRATEGY-empty-update-no-fallback",
          "UpdateService with an empty strategy reverts to the cluster default; without one it fails because the service has no launch type to fall back to.",
          ["CP-DEFAULT-STRATEGY", "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-service.html"],
          [cluster(providers=["FARGATE"]), fargate_td(),
           step("CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "api", "desiredCount": 1,
                                  "networkConfiguration": VPC, "capacityProviderStrategy": [item("FARGATE", weight=1)]},
                expect={"service": {"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}],
                                    "launchType": {"$absent": True}}}),
           step("UpdateService", {"cluster": "prod", "service": "api", "capacityProviderStrategy": []},
                expect_error="InvalidParameterException",
                note="No launch type to fall back to for empty capacity provider strategy. Your service was not created with a launch type.")])

    # ---- CP-DISTRIBUTION ----------------------------------------------------------------
    write("CP-DISTRIBUTION-base-then-weights",
          "FARGATE {base 1, weight 1} and FARGATE_SPOT {weight 3} with 9 tasks: FARGATE gets its base and then one task in four: 3 and 6.",
          ["CP-DISTRIBUTION", DG_CP],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "count": 9, "networkConfiguration": VPC,
                            "capacityProviderStrategy": [item("FARGATE", weight=1, base=1), item("FARGATE_SPOT", weight=3)]},
                expect={"tasks": {"$len": 9, "$count_by": "/capacityProviderName", "counts": [3, 6]}},
                capture={"first": "/tasks/0/capacityProviderName"}),
           ])

    write("CP-DISTRIBUTION-equal-weights-odd-count",
          "Weights 1 and 1 split tasks evenly; with 5 tasks the odd one goes to the earlier item (stowplan's tie rule).",
          ["CP-DISTRIBUTION"],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "api", "count": 5, "networkConfiguration": VPC,
                            "capacityProviderStrategy": [item("FARGATE", weight=1), item("FARGATE_SPOT", weight=1)]},
                expect={"tasks": {"$len": 5, "$count_by": "/capacityProviderName", "counts": [3, 2]}}),
           step("ListTasks", {"cluster": "prod"}, capture={"arns": "/taskArns"}),
           step("DescribeTasks", {"cluster": "prod", "tasks": "${arns}"},
                expect={"tasks": {"$len": 5, "$contains": {"capacityProviderName": "FARGATE"}}})])

    write("CP-DISTRIBUTION-service-base-and-ratio",
          "A service of 12 tasks with A {base 2, weight 1} and B {weight 4} runs 4 tasks on A (2 base + 2) and 8 on B.",
          ["CP-DISTRIBUTION", DG_CP],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "api", "desiredCount": 12,
                                  "networkConfiguration": VPC,
                                  "capacityProviderStrategy": [item("FARGATE", weight=1, base=2), item("FARGATE_SPOT", weight=4)]}),
           advance(), advance(), advance(),
           step("ListTasks", {"cluster": "prod", "serviceName": "api"}, capture={"arns": "/taskArns"},
                expect={"taskArns": {"$len": 12}}),
           step("DescribeTasks", {"cluster": "prod", "tasks": "${arns}"},
                expect={"tasks": {"$count_by": "/capacityProviderName", "counts": [4, 8],
                                  "$each": {"lastStatus": "RUNNING", "launchType": "FARGATE"}}})])

    write("CP-DISTRIBUTION-scale-in-keeps-proportions",
          "Scaling a service from 10 to 5 tasks over FARGATE {weight 1} and FARGATE_SPOT {weight 1} keeps the even split (3 and 2).",
          ["CP-DISTRIBUTION", "PL-SCALEIN"],
          [cluster(providers=["FARGATE", "FARGATE_SPOT"]), fargate_td(),
           step("CreateService", {"cluster": "prod", "serviceName": "api", "taskDefinition": "api", "desiredCount": 10,
                                  "networkConfiguration": VPC,
                                  "capacityProviderStrategy": [item("FARGATE", weight=1), item("FARGATE_SPOT", weight=1)]}),
           advance(), advance(), advance(),
           step("UpdateService", {"cluster": "prod", "service": "api", "desiredCount": 5}),
           advance(), advance(), advance(), advance(),
           step("ListTasks", {"cluster": "prod", "serviceName": "api"}, capture={"arns": "/taskArns"},
                expect={"taskArns": {"$len": 5}}),
           step("DescribeTasks", {"cluster": "prod", "tasks": "${arns}"},
                expect={"tasks": {"$count_by": "/capacityProviderName", "counts": [3, 2]}})])

    # ---- CP-PLACE-PER-PROVIDER ----------------------------------------------------------
    hand_instance = step("RegisterContainerInstance", {
        "cluster": "prod",
        "instanceIdentityDocument": "{\"instanceId\":\"i-0f000000000000001\",\"availabilityZone\":\"us-east-1a\",\"instanceType\":\"m5.4xlarge\"}",
        "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 16384},
                           {"name": "MEMORY", "type": "INTEGER", "integerValue": 65536}]},
        capture={"hand": "/containerInstance/containerInstanceArn"})
    write("CP-PLACE-PER-PROVIDER-group-instances-only",
          "Tasks assigned to an Auto Scaling group provider are placed only on that group's instances, never on a larger instance registered by hand.",
          ["CP-PLACE-PER-PROVIDER", DG_ASG],
          [cluster(), hand_instance, asg(desired=1), provider(managed=False), put("prod", ["cp-1"], []),
           advance(),
           step("Sim.DescribeAutoScalingGroups", {},
                expect={"AutoScalingGroups": [{"DesiredCapacity": 1, "Instances": {"$len": 1, "$each": {"LifecycleState": "InService"}}}]}),
           ec2_td(cpu=512, memory=512),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web", "count": 2,
                            "capacityProviderStrategy": [item("cp-1", weight=1)]},
                expect={"tasks": {"$len": 2, "$each": {"capacityProviderName": "cp-1", "lastStatus": "PENDING",
                                                       "containerInstanceArn": {"$not": {"$ref": "hand"}, "$any": True}}}})])

    write("CP-PLACE-PER-PROVIDER-waits-in-provisioning",
          "With managed scaling, a task that no instance of the group can take stays PROVISIONING; the group grows and the task then runs.",
          ["CP-PLACE-PER-PROVIDER", "CP-CPR", DG_CAS],
          [cluster(), asg(desired=0), provider(), put("prod", ["cp-1"], [item("cp-1", weight=1)]),
           ec2_td(cpu=1024, memory=1024),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web"},
                expect={"tasks": [{"lastStatus": "PROVISIONING", "capacityProviderName": "cp-1",
                                   "containerInstanceArn": {"$absent": True}}], "failures": []},
                capture={"t": "/tasks/0/taskArn"}),
           advance(),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 2}]},
                note="N = 0 with work waiting: ECS scales out to 2 instances (CP-CPR special case)."),
           step("DescribeTasks", {"cluster": "prod", "tasks": ["${t}"]},
                expect={"tasks": [{"lastStatus": "PROVISIONING"}]}),
           advance(), advance(),
           step("DescribeTasks", {"cluster": "prod", "tasks": ["${t}"]},
                expect={"tasks": [{"lastStatus": "RUNNING", "containerInstanceArn": {"$any": True}}]}),
           step("DescribeClusters", {"clusters": ["prod"]},
                expect={"clusters": [{"registeredContainerInstancesCount": 2, "runningTasksCount": 1}]})])

    write("CP-PLACE-PER-PROVIDER-empty-provider-fails",
          "Without managed scaling, a task assigned to a provider whose group has no instances stops with TaskFailedToStart: EMPTY CAPACITY PROVIDER.",
          ["CP-PLACE-PER-PROVIDER", "TASK-STOPCODE", "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html"],
          [cluster(), asg(desired=0), provider(managed=False), put("prod", ["cp-1"], []),
           ec2_td(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web", "capacityProviderStrategy": [item("cp-1", weight=1)]},
                capture={"t": "/tasks/0/taskArn"}),
           advance(),
           step("DescribeTasks", {"cluster": "prod", "tasks": ["${t}"]},
                expect={"tasks": [{"lastStatus": "STOPPED", "stopCode": "TaskFailedToStart",
                                   "stoppedReason": {"$regex": "EMPTY CAPACITY PROVIDER"}}]})])

    # ---- CP-CPR -------------------------------------------------------------------------
    write("CP-CPR-grows-to-fit-service",
          "A service of 6 tasks of 1 vCPU on m5.large (2 vCPU) instances: managed scaling grows the group from 1 to 3 instances and all 6 tasks run; the metric then reads 100.",
          ["CP-CPR", "CP-PLACE-PER-PROVIDER", DG_CAS],
          [cluster(), asg(desired=1, max_size=10), provider(),
           put("prod", ["cp-1"], [item("cp-1", weight=1)]),
           ec2_td(cpu=1024, memory=1024),
           advance(),
           step("CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 6}),
           advance(), advance(), advance(), advance(), advance(),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 3, "Instances": {"$len": 3}}]}),
           step("DescribeServices", {"cluster": "prod", "services": ["web"]},
                expect={"services": [{"runningCount": 6, "pendingCount": 0, "capacityProviderStrategy": [{"capacityProvider": "cp-1"}]}]}),
           step("Sim.DescribeCapacityProviderMetrics", {"capacityProvider": "cp-1"},
                expect={"metrics": [{"CapacityProviderReservation": 100, "instancesRunning": 3, "instancesNeeded": 3}]})])

    write("CP-CPR-target-capacity-keeps-spare",
          "With targetCapacity 50 the group keeps twice the instances its tasks need: one busy instance → desired 2.",
          ["CP-CPR", DG_CAS],
          [cluster(), asg(desired=1, max_size=10), provider(target=50),
           put("prod", ["cp-1"], [item("cp-1", weight=1)]),
           ec2_td(cpu=512, memory=512),
           advance(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web"}),
           advance(), advance(),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 2}]}),
           advance(),
           step("Sim.DescribeCapacityProviderMetrics", {},
                expect={"metrics": [{"capacityProvider": "cp-1", "CapacityProviderReservation": 50, "instancesNeeded": 1, "instancesRunning": 2}]})])

    write("CP-CPR-shrinks-after-15-minutes",
          "When a service scales to 0 the metric drops below target; managed scaling waits 15 minutes of low readings before lowering the desired capacity, and the empty instances terminate.",
          ["CP-CPR", "CP-MANAGED-TERMINATION", DG_CAS],
          [cluster(), asg(desired=2, min_size=0, max_size=10), provider(termination="ENABLED"),
           put("prod", ["cp-1"], [item("cp-1", weight=1)]),
           ec2_td(cpu=1024, memory=1024),
           advance(),
           step("CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}),
           advance(), advance(), advance(),
           step("DescribeServices", {"cluster": "prod", "services": ["web"]}, expect={"services": [{"runningCount": 4}]}),
           step("UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 0}),
           advance(), advance(), advance(),
           step("Sim.DescribeCapacityProviderMetrics", {}, expect={"metrics": [{"CapacityProviderReservation": 0, "instancesRunning": 2}]}),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 2}]},
                note="less than 15 minutes below target: no scale-in yet"),
           advance(900), advance(900),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 1}]},
                note="at most half the group per scale-in step (DG-ARCHIVE cluster-auto-scaling)"),
           advance(900), advance(900), advance(900), advance(900),
           step("Sim.DescribeAutoScalingGroups", {}, expect={"AutoScalingGroups": [{"DesiredCapacity": 0, "Instances": {"$len": 0}}]}),
           step("DescribeClusters", {"clusters": ["prod"]}, expect={"clusters": [{"registeredContainerInstancesCount": 0}]})])

    # ---- CP-MANAGED-TERMINATION / DRAINING ----------------------------------------------
    write("CP-MANAGED-TERMINATION-busy-instances-protected",
          "With managed termination protection, lowering the desired capacity terminates only instances without tasks; busy instances report ProtectedFromScaleIn and stay.",
          ["CP-MANAGED-TERMINATION", DG_CAS],
          [cluster(), asg(desired=2, zones=["us-east-1a"]), provider(termination="ENABLED"),
           put("prod", ["cp-1"], []),
           ec2_td(cpu=2048, memory=1024),
           advance(),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web", "capacityProviderStrategy": [item("cp-1", weight=1)]}),
           step("RunTask", {"cluster": "prod", "taskDefinition": "web", "capacityProviderStrategy": [item("cp-1", weight=1)]}),
           advance(),
           step("Sim.DescribeAutoScalingGroups", {},
                expect={"AutoScalingGroups": [{"Instances": {"$len": 2, "$each": {"ProtectedFromScaleIn": True}}}]}),
           step("Sim.SetDesiredCapacity", {"AutoScalingGroupName": "asg-1", "DesiredCapacity": 0}),
           advance(),
           step("DescribeClusters", {"clusters": ["prod"]},
                expect={"clusters": [{"registeredContainerInstancesCount": 2, "runningTasksCount": 2}]})])

    write("CP-MANAGED-DRAINING-drains-before-terminating",
          "With managed draining, the instance the group removes is set DRAINING first; a service moves its task away and the instance then terminates.",
          ["CP-MANAGED-DRAINING", "CI-DRAIN-EFFECT", "SVC-DRAIN-REPLACE",
           "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instance-draining.html"],
          [cluster(), asg(desired=2, zones=["us-east-1a"]), provider(managed=False, draining="ENABLED"),
           put("prod", ["cp-1"], [item("cp-1", weight=1)]),
           ec2_td(cpu=512, memory=512),
           advance(),
           step("CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2}),
           advance(), advance(),
           step("Sim.SetDesiredCapacity", {"AutoScalingGroupName": "asg-1", "DesiredCapacity": 1}),
           advance(),
           step("ListContainerInstances", {"cluster": "prod", "status": "DRAINING"}, expect={"containerInstanceArns": {"$len": 1}}),
           step("Sim.DescribeAutoScalingGroups", {},
                expect={"AutoScalingGroups": [{"Instances": {"$count_by": "/LifecycleState", "counts": [1, 1]}}]}),
           advance(), advance(), advance(), advance(), advance(),
           step("Sim.DescribeAutoScalingGroups", {},
                expect={"AutoScalingGroups": [{"Instances": {"$len": 1, "$each": {"LifecycleState": "InService"}}}]}),
           step("DescribeServices", {"cluster": "prod", "services": ["web"]}, expect={"services": [{"runningCount": 2}]}),
           step("DescribeClusters", {"clusters": ["prod"]}, expect={"clusters": [{"registeredContainerInstancesCount": 1}]})])

    # ---- CP-DELETE ----------------------------------------------------------------------
    write("CP-DELETE-associated-then-inactive",
          "A provider associated with a cluster cannot be deleted; once disassociated DeleteCapacityProvider makes it INACTIVE (DELETE_COMPLETE).",
          ["CP-DELETE", "CP-ASSOCIATE"],
          [cluster(), asg(), provider(), put("prod", ["cp-1"], []),
           step("DeleteCapacityProvider", {"capacityProvider": "cp-1"},
                expect_error=["ClientException", "ResourceInUseException", "UpdateInProgressException"]),
           put("prod", [], []),
           step("DeleteCapacityProvider", {"capacityProvider": "cp-1"},
                expect={"capacityProvider": {"name": "cp-1", "status": "INACTIVE", "updateStatus": "DELETE_COMPLETE"}}),
           step("DescribeCapacityProviders", {},
                expect={"capacityProviders": {"$len": 2, "$not": {"$contains": {"name": "cp-1"}}}})])

    write("CP-CLUSTER-create-with-providers",
          "CreateCluster takes capacityProviders and a defaultCapacityProviderStrategy and shows them; a default strategy naming a provider not in the list is refused.",
          ["CP-ASSOCIATE", "CP-DEFAULT-STRATEGY", "CL-CREATE"],
          [step("CreateCluster", {"clusterName": "bad", "capacityProviders": ["FARGATE"],
                                  "defaultCapacityProviderStrategy": [item("FARGATE_SPOT", weight=1)]},
                expect_error="InvalidParameterException"),
           cluster(providers=["FARGATE", "FARGATE_SPOT"], strategy=[item("FARGATE", base=1, weight=1), item("FARGATE_SPOT", weight=4)]),
           step("DescribeClusters", {"clusters": ["prod", "bad"]},
                expect={"clusters": [{"capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                                      "defaultCapacityProviderStrategy": {"$len": 2}}],
                        "failures": [{"reason": "MISSING"}]})])


if __name__ == "__main__":
    main()
