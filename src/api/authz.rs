//! Authorization of ECS calls at the API edge (spec permissions.md §1–§2).
//!
//! [`checks_for`] turns an operation and its request into the IAM requests ECS makes before it
//! runs the call: `ecs:<Operation>` on the resources of the Service Authorization Reference
//! table (§1.2) with the ECS and global condition keys (§1.3), `ecs:TagResource` with
//! `ecs:CreateAction` when a create call carries tags (§1.4), and `iam:PassRole` with
//! `iam:PassedToService` for every role the request hands to ECS (§2.1). [`authorize`]
//! evaluates them for the caller; the first denied one is an `AccessDeniedException` with IAM's
//! message (§4.6). Nothing is written, so a denied call changes nothing.
//!
//! Model choices (spec §7):
//! - Batch Describe* calls are authorized item by item and the whole call is denied when any
//!   item is (no partial answer).
//! - ListTasks is authorized on `*` (or on the container instance when `containerInstance` is
//!   given), with `ecs:cluster` always in the context, as the ECS guide's examples expect.
//! - CreateService/UpdateService check PassRole only for the roles the request itself names
//!   (`role`, load-balancer `advancedConfiguration.roleArn`, EBS `roleArn`, all to
//!   `ecs.amazonaws.com`); the task definition's roles were checked when it was registered.
//! - RunTask/StartTask check PassRole (to `ecs-tasks.amazonaws.com`) for the task and
//!   execution roles they launch with: the overrides' and the task definition's.
//! - Tag-on-create authorizes `ecs:TagResource` on the resource to be created; for a task,
//!   whose id is not drawn yet, on `arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/*`.

use serde_json::Value;

use super::ApiError;
use crate::control::iam::{AuthCheck, ContextKeys, ECS_PRINCIPAL, ECS_TASKS_PRINCIPAL};
use crate::control::{Caller, Ecs};

fn text<'a>(request: &'a Value, member: &str) -> Option<&'a str> {
    request.get(member).and_then(Value::as_str)
}

fn texts<'a>(request: &'a Value, member: &str) -> Vec<&'a str> {
    request
        .get(member)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn cluster_name(parameter: Option<&str>) -> &str {
    match parameter {
        None | Some("") => "default",
        Some(text) => match text.split_once(":cluster/") {
            Some((_, name)) if text.starts_with("arn:") => name,
            _ => text,
        },
    }
}

/// The ARN a child resource parameter (a task, container instance or service id/name or ARN)
/// names in `cluster`.
fn child_arn(ecs: &Ecs, kind: &str, cluster: &str, parameter: &str) -> String {
    if parameter.starts_with("arn:") {
        parameter.to_string()
    } else {
        ecs.ecs_arn(&format!("{kind}/{cluster}/{parameter}"))
    }
}

/// The task definition a reference names, revision resolved (spec §1.4).
fn task_definition_arn(ecs: &Ecs, reference: &str) -> String {
    match ecs.registry().describe(reference) {
        Ok(found) => found.task_definition_arn.clone().unwrap_or_default(),
        Err(_) if reference.starts_with("arn:") => reference.to_string(),
        Err(_) => ecs.ecs_arn(&format!("task-definition/{reference}")),
    }
}

/// `aws:ResourceTag/*` and `ecs:ResourceTag/*` of an existing resource.
fn resource_tags(ecs: &Ecs, arn: &str, keys: &mut ContextKeys) {
    let tags = if arn.contains(":service/") {
        service_tags(ecs, arn)
    } else {
        ecs.list_tags_for_resource(arn)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
            .collect()
    };
    for (key, value) in tags {
        keys.insert(&format!("aws:ResourceTag/{key}"), value.clone());
        keys.insert(&format!("ecs:ResourceTag/{key}"), value);
    }
}

fn service_tags(ecs: &Ecs, arn: &str) -> Vec<(String, String)> {
    let mut parts = arn.rsplit('/');
    let (Some(name), Some(cluster)) = (parts.next(), parts.next()) else {
        return Vec::new();
    };
    ecs.cluster(Some(cluster))
        .ok()
        .and_then(|c| c.services.get(name))
        .and_then(|s| s.service.tags.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

/// `aws:RequestTag/*` and `aws:TagKeys` of a request's `tags`; whether there were any.
fn request_tags(request: &Value, keys: &mut ContextKeys) -> bool {
    let tags = request
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut names = Vec::new();
    for tag in &tags {
        if let Some(key) = text(tag, "key") {
            keys.insert(
                &format!("aws:RequestTag/{key}"),
                text(tag, "value").unwrap_or_default(),
            );
            names.push(key.to_string());
        }
    }
    if !names.is_empty() {
        keys.insert_list("aws:TagKeys", names);
    }
    !tags.is_empty()
}

fn flag(request: &Value, member: &str) -> Option<String> {
    request
        .get(member)
        .and_then(Value::as_bool)
        .map(|b| b.to_string())
}

fn pass_role(role: &str, service: &str) -> AuthCheck {
    let mut context = ContextKeys::new();
    context.insert("iam:PassedToService", service);
    AuthCheck {
        action: "iam:PassRole".to_string(),
        resource: role.to_string(),
        context,
    }
}

fn check(operation: &str, resource: String, context: ContextKeys) -> AuthCheck {
    AuthCheck {
        action: format!("ecs:{operation}"),
        resource,
        context,
    }
}

/// The tag-on-create check (spec §1.4).
fn tag_on_create(operation: &str, resource: String, request: &Value) -> AuthCheck {
    let mut context = ContextKeys::new();
    request_tags(request, &mut context);
    context.insert("ecs:CreateAction", operation);
    check("TagResource", resource, context)
}

/// Roles in `volumeConfigurations[].managedEBSVolume.roleArn` (infrastructure roles).
fn ebs_roles(request: &Value) -> Vec<String> {
    request
        .get("volumeConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| text(v.get("managedEBSVolume")?, "roleArn").map(str::to_string))
        .collect()
}

/// Task-level cpu and memory keys (`ecs:task-cpu`, `ecs:task-memory`) from a registered
/// definition or a request.
fn task_size(source: &Value, keys: &mut ContextKeys) {
    for (member, key) in [("cpu", "ecs:task-cpu"), ("memory", "ecs:task-memory")] {
        match source.get(member) {
            Some(Value::String(s)) => keys.insert(key, s.clone()),
            Some(Value::Number(n)) => keys.insert(key, n.to_string()),
            _ => {}
        }
    }
}

fn capacity_providers(request: &Value, keys: &mut ContextKeys) {
    let mut names: Vec<String> = texts(request, "capacityProviders")
        .into_iter()
        .map(str::to_string)
        .collect();
    for item in request
        .get("capacityProviderStrategy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = text(item, "capacityProvider") {
            names.push(name.to_string());
        }
    }
    if !names.is_empty() {
        keys.insert_list("ecs:capacity-provider", names);
    }
}

/// Launch-time checks of RunTask / StartTask.
fn launch_checks(ecs: &Ecs, operation: &str, request: &Value, out: &mut Vec<AuthCheck>) {
    let cluster = cluster_name(text(request, "cluster")).to_string();
    let cluster_arn = ecs.ecs_arn(&format!("cluster/{cluster}"));
    let reference = text(request, "taskDefinition").unwrap_or_default();
    let td_arn = task_definition_arn(ecs, reference);
    let mut keys = ContextKeys::new();
    keys.insert("ecs:cluster", cluster_arn.clone());
    resource_tags(ecs, &td_arn, &mut keys);
    let tagged = request_tags(request, &mut keys);
    capacity_providers(request, &mut keys);
    keys.insert(
        "ecs:enable-execute-command",
        flag(request, "enableExecuteCommand").unwrap_or_else(|| "false".to_string()),
    );
    keys.insert(
        "ecs:enable-ebs-volumes",
        (!ebs_roles(request).is_empty()).to_string(),
    );
    if operation == "StartTask" {
        let instances = texts(request, "containerInstances")
            .into_iter()
            .map(|i| child_arn(ecs, "container-instance", &cluster, i))
            .collect();
        keys.insert_list("ecs:container-instances", instances);
    }
    out.push(check(operation, td_arn, keys));
    if tagged {
        out.push(tag_on_create(
            operation,
            ecs.ecs_arn(&format!("task/{cluster}/*")),
            request,
        ));
    }
    let overrides = request.get("overrides");
    let definition = ecs.registry().describe(reference).ok();
    for (member, own) in [
        (
            "taskRoleArn",
            definition.and_then(|d| d.task_role_arn.as_deref()),
        ),
        (
            "executionRoleArn",
            definition.and_then(|d| d.execution_role_arn.as_deref()),
        ),
    ] {
        let role = overrides
            .and_then(|o| text(o, member))
            .or(own)
            .filter(|r| !r.is_empty());
        if let Some(role) = role {
            out.push(pass_role(role, ECS_TASKS_PRINCIPAL));
        }
    }
    for role in ebs_roles(request) {
        out.push(pass_role(&role, ECS_PRINCIPAL));
    }
}

/// Service checks of CreateService / UpdateService.
fn service_checks(ecs: &Ecs, operation: &str, request: &Value, out: &mut Vec<AuthCheck>) {
    let cluster = cluster_name(text(request, "cluster")).to_string();
    let name = text(request, "serviceName")
        .or_else(|| text(request, "service"))
        .unwrap_or_default();
    let arn = child_arn(ecs, "service", &cluster, name);
    let mut keys = ContextKeys::new();
    keys.insert("ecs:cluster", ecs.ecs_arn(&format!("cluster/{cluster}")));
    if operation == "UpdateService" {
        resource_tags(ecs, &arn, &mut keys);
    }
    let tagged = operation == "CreateService" && request_tags(request, &mut keys);
    if let Some(reference) = text(request, "taskDefinition") {
        let td_arn = task_definition_arn(ecs, reference);
        if let Ok(found) = ecs.registry().describe(reference)
            && let Ok(value) = serde_json::to_value(found)
        {
            task_size(&value, &mut keys);
        }
        keys.insert("ecs:task-definition", td_arn);
    }
    capacity_providers(request, &mut keys);
    for (member, key) in [
        ("enableExecuteCommand", "ecs:enable-execute-command"),
        ("enableECSManagedTags", "ecs:enable-ecs-managed-tags"),
    ] {
        if let Some(value) = flag(request, member) {
            keys.insert(key, value);
        }
    }
    if let Some(propagate) = text(request, "propagateTags") {
        keys.insert("ecs:propagate-tags", propagate);
    }
    if let Some(vpc) = request
        .get("networkConfiguration")
        .and_then(|n| n.get("awsvpcConfiguration"))
    {
        let subnets = texts(vpc, "subnets")
            .into_iter()
            .map(str::to_string)
            .collect();
        keys.insert_list("ecs:subnet", subnets);
        if let Some(assign) = text(vpc, "assignPublicIp") {
            keys.insert(
                "ecs:auto-assign-public-ip",
                (assign == "ENABLED").to_string(),
            );
        }
    }
    out.push(check(operation, arn.clone(), keys));
    if tagged {
        out.push(tag_on_create(operation, arn, request));
    }
    let mut roles: Vec<String> = text(request, "role")
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    for balancer in request
        .get("loadBalancers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(role) = balancer
            .get("advancedConfiguration")
            .and_then(|a| text(a, "roleArn"))
        {
            roles.push(role.to_string());
        }
    }
    roles.extend(ebs_roles(request));
    for role in roles {
        // A bare role name is resolved in the account, as ECS does for `role`.
        let arn = if role.starts_with("arn:") {
            role
        } else {
            format!("arn:aws:iam::{}:role/{role}", ecs.config().account)
        };
        out.push(pass_role(&arn, ECS_PRINCIPAL));
    }
}

/// The IAM requests ECS makes before running `operation` with `request` (spec §1.2–§2.1).
/// An operation stowplan does not know is authorized as `ecs:<Operation>` on `*`.
pub fn checks_for(ecs: &Ecs, operation: &str, request: &Value) -> Vec<AuthCheck> {
    let mut out = Vec::new();
    let cluster = cluster_name(text(request, "cluster")).to_string();
    let cluster_arn = ecs.ecs_arn(&format!("cluster/{cluster}"));
    let on_cluster = |ecs: &Ecs, arn: &str| {
        let mut keys = ContextKeys::new();
        keys.insert("ecs:cluster", arn);
        resource_tags(ecs, arn, &mut keys);
        keys
    };
    match operation {
        "CreateCluster" => {
            let name = text(request, "clusterName").unwrap_or("default");
            let arn = ecs.ecs_arn(&format!("cluster/{name}"));
            let mut keys = ContextKeys::new();
            let tagged = request_tags(request, &mut keys);
            capacity_providers(request, &mut keys);
            out.push(check(operation, arn.clone(), keys));
            if tagged {
                out.push(tag_on_create(operation, arn, request));
            }
        }
        "DescribeClusters" => {
            let wanted = texts(request, "clusters");
            let wanted = if wanted.is_empty() {
                vec!["default"]
            } else {
                wanted
            };
            for parameter in wanted {
                let arn = ecs.ecs_arn(&format!("cluster/{}", cluster_name(Some(parameter))));
                out.push(check(operation, arn.clone(), on_cluster(ecs, &arn)));
            }
        }
        "DeleteCluster"
        | "UpdateCluster"
        | "UpdateClusterSettings"
        | "PutClusterCapacityProviders"
        | "ListContainerInstances"
        | "ListAttributes"
        | "DeregisterContainerInstance" => {
            let mut keys = on_cluster(ecs, &cluster_arn);
            capacity_providers(request, &mut keys);
            out.push(check(operation, cluster_arn, keys));
        }
        "RegisterContainerInstance" => {
            let mut keys = on_cluster(ecs, &cluster_arn);
            let tagged = request_tags(request, &mut keys);
            out.push(check(operation, cluster_arn, keys));
            if tagged {
                out.push(tag_on_create(
                    operation,
                    ecs.ecs_arn(&format!("container-instance/{cluster}/*")),
                    request,
                ));
            }
        }
        "RegisterTaskDefinition" => {
            let family = text(request, "family").unwrap_or_default();
            let next = ecs
                .registry()
                .iter()
                .filter(|d| d.family.as_deref() == Some(family))
                .filter_map(|d| d.revision)
                .max()
                .unwrap_or(0)
                + 1;
            let arn = ecs.ecs_arn(&format!("task-definition/{family}:{next}"));
            let mut keys = ContextKeys::new();
            let tagged = request_tags(request, &mut keys);
            let compat = texts(request, "requiresCompatibilities")
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>();
            if !compat.is_empty() {
                keys.insert_list("ecs:compute-compatibility", compat);
            }
            let privileged = request
                .get("containerDefinitions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c.get("privileged").and_then(Value::as_bool) == Some(true));
            keys.insert("ecs:privileged", privileged.to_string());
            task_size(request, &mut keys);
            out.push(check(operation, arn.clone(), keys));
            if tagged {
                out.push(tag_on_create(operation, arn, request));
            }
            for member in ["taskRoleArn", "executionRoleArn"] {
                if let Some(role) = text(request, member).filter(|r| !r.is_empty()) {
                    out.push(pass_role(role, ECS_TASKS_PRINCIPAL));
                }
            }
        }
        "DeleteTaskDefinitions" => {
            for reference in texts(request, "taskDefinitions") {
                let arn = task_definition_arn(ecs, reference);
                let mut keys = ContextKeys::new();
                resource_tags(ecs, &arn, &mut keys);
                out.push(check(operation, arn, keys));
            }
        }
        "DescribeContainerInstances" | "UpdateContainerInstancesState" => {
            for parameter in texts(request, "containerInstances") {
                let arn = child_arn(ecs, "container-instance", &cluster, parameter);
                let mut keys = on_cluster(ecs, &cluster_arn);
                resource_tags(ecs, &arn, &mut keys);
                out.push(check(operation, arn, keys));
            }
        }
        "PutAttributes" | "DeleteAttributes" => {
            let mut targets: Vec<String> = request
                .get("attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| text(a, "targetId"))
                .map(|t| child_arn(ecs, "container-instance", &cluster, t))
                .collect();
            targets.dedup();
            if targets.is_empty() {
                targets.push(cluster_arn.clone());
            }
            for arn in targets {
                let mut keys = on_cluster(ecs, &cluster_arn);
                resource_tags(ecs, &arn, &mut keys);
                out.push(check(operation, arn, keys));
            }
        }
        "RunTask" | "StartTask" => launch_checks(ecs, operation, request, &mut out),
        "StopTask" | "DescribeTasks" => {
            let wanted = if operation == "StopTask" {
                text(request, "task").into_iter().collect()
            } else {
                texts(request, "tasks")
            };
            for parameter in wanted {
                let arn = child_arn(ecs, "task", &cluster, parameter);
                let mut keys = ContextKeys::new();
                keys.insert("ecs:cluster", cluster_arn.clone());
                resource_tags(ecs, &arn, &mut keys);
                out.push(check(operation, arn, keys));
            }
        }
        "ListTasks" => {
            let resource = match text(request, "containerInstance") {
                Some(instance) => child_arn(ecs, "container-instance", &cluster, instance),
                None => "*".to_string(),
            };
            let mut keys = ContextKeys::new();
            keys.insert("ecs:cluster", cluster_arn);
            out.push(check(operation, resource, keys));
        }
        "CreateService" | "UpdateService" => service_checks(ecs, operation, request, &mut out),
        "DeleteService" | "DescribeServices" => {
            let wanted = if operation == "DeleteService" {
                text(request, "service").into_iter().collect()
            } else {
                texts(request, "services")
            };
            for parameter in wanted {
                let arn = child_arn(ecs, "service", &cluster, parameter);
                let mut keys = ContextKeys::new();
                keys.insert("ecs:cluster", cluster_arn.clone());
                resource_tags(ecs, &arn, &mut keys);
                out.push(check(operation, arn, keys));
            }
        }
        "ListServices" => {
            let mut keys = ContextKeys::new();
            keys.insert("ecs:cluster", cluster_arn);
            out.push(check(operation, "*".to_string(), keys));
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            let arn = text(request, "resourceArn").unwrap_or("*").to_string();
            let mut keys = ContextKeys::new();
            resource_tags(ecs, &arn, &mut keys);
            if operation == "TagResource" {
                request_tags(request, &mut keys);
            } else if operation == "UntagResource" {
                let names = texts(request, "tagKeys")
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                keys.insert_list("aws:TagKeys", names);
            }
            out.push(check(operation, arn, keys));
        }
        "CreateCapacityProvider" => {
            let name = text(request, "name").unwrap_or_default();
            let arn = ecs.ecs_arn(&format!("capacity-provider/{name}"));
            let mut keys = ContextKeys::new();
            let tagged = request_tags(request, &mut keys);
            out.push(check(operation, arn.clone(), keys));
            if tagged {
                out.push(tag_on_create(operation, arn, request));
            }
        }
        // ListClusters, ListTaskDefinitions, ListTaskDefinitionFamilies,
        // DescribeTaskDefinition, DeregisterTaskDefinition and the rest: `*` (SAR: no
        // resource type).
        _ => {
            let mut keys = ContextKeys::new();
            if request.get("cluster").is_some() {
                keys.insert("ecs:cluster", cluster_arn);
            }
            out.push(check(operation, "*".to_string(), keys));
        }
    }
    out
}

/// Authorizes an ECS call for `caller` (the root passes without evaluation): the first denied
/// IAM request is an `AccessDeniedException` with IAM's message (spec §4.6).
pub fn authorize(
    ecs: &Ecs,
    operation: &str,
    request: &Value,
    caller: &Caller,
) -> Result<(), ApiError> {
    if ecs.is_root(caller) {
        return Ok(());
    }
    ecs.authorize(caller, &checks_for(ecs, operation, request))
        .map_err(|denial| ApiError::new("AccessDeniedException", denial.message))
}
