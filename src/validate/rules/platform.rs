//! Task-level parameters and launch-type rules (catalogue §4.1–4.4, §4.6–4.8): namespaces,
//! ephemeral storage, runtime platform, fault injection, trusted execution, placement
//! constraints, App Mesh proxy, roles, Fargate-unsupported container members, Managed
//! Instances and External.
//!
//! TD-FARGATE-UNSUPPORTED is reported here for the container networking members; its other
//! entries carry the more specific id of their area (TD-LOG-DRIVER, TD-VOL-FARGATE,
//! TD-LINUX-FARGATE, TD-PRIVILEGED, TD-DOCKERSECOPTS, TD-GPU-FARGATE, TD-INFACC-REF, TD-PIDMODE,
//! TD-IPCMODE, TD-PLACEMENT-FARGATE).

use std::collections::BTreeSet;

use crate::model::{
    CPUArchitecture, Compatibility, IpcMode, IsolationMode, NetworkMode, OSFamily, PidMode,
    ProxyConfigurationType, TaskDefinitionPlacementConstraintType,
};
use crate::validate::Context;

/// The allowed `ephemeralStorage.sizeInGiB` (TD-EPHEMERAL-RANGE).
const EPHEMERAL_GIB: std::ops::RangeInclusive<i32> = 21..=200;

/// The most placement constraints a task definition may hold (TD-PLACEMENT-MAX).
const MAX_PLACEMENT_CONSTRAINTS: usize = 10;

/// The longest placement-constraint expression, in characters (TD-PLACEMENT-MAX).
const MAX_EXPRESSION_LENGTH: usize = 2000;

/// App Mesh proxy property names (TD-PROXY).
const PROXY_PROPERTIES: &[&str] = &[
    "IgnoredUID",
    "IgnoredGID",
    "AppPorts",
    "ProxyIngressPort",
    "ProxyEgressPort",
    "EgressIgnoredPorts",
    "EgressIgnoredIPs",
];

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    fargate_unsupported(context);
    namespaces(context);
    ephemeral_storage(context);
    runtime_platform(context);
    trusted_execution(context);
    placement_constraints(context);
    proxy(context);
    roles(context);
    managed_instances_and_external(context);
}

/// TD-FARGATE-UNSUPPORTED for the container networking members.
fn fargate_unsupported(context: &mut Context<'_>) {
    if !context.fargate() {
        return;
    }
    for (index, container) in context.containers() {
        let c = index.to_string();
        let non_empty = |n: Option<usize>| n.is_some_and(|n| n > 0);
        for (member, used) in [
            (
                "disableNetworking",
                container.disable_networking == Some(true),
            ),
            (
                "dnsSearchDomains",
                non_empty(container.dns_search_domains.as_ref().map(Vec::len)),
            ),
            (
                "dnsServers",
                non_empty(container.dns_servers.as_ref().map(Vec::len)),
            ),
            (
                "extraHosts",
                non_empty(container.extra_hosts.as_ref().map(Vec::len)),
            ),
            ("links", non_empty(container.links.as_ref().map(Vec::len))),
        ] {
            if used {
                context.error(
                    "TD-FARGATE-UNSUPPORTED",
                    &["containerDefinitions", &c, member],
                    format!("Fargate compatible task definitions do not support {member}"),
                );
            }
        }
    }
}

/// TD-PIDMODE, TD-IPCMODE.
fn namespaces(context: &mut Context<'_>) {
    let request = context.request();
    match &request.pid_mode {
        Some(PidMode::Unknown(mode)) => context.error(
            "TD-PIDMODE",
            &["pidMode"],
            format!("pidMode '{mode}' must be 'host' or 'task'."),
        ),
        Some(PidMode::Host) if context.fargate() => context.error(
            "TD-PIDMODE",
            &["pidMode"],
            // moto's text [inferred].
            "Tasks using the Fargate launch type do not support pidMode 'host'. The supported \
             value for pidMode is 'task'.",
        ),
        _ => {}
    }
    match &request.ipc_mode {
        Some(IpcMode::Unknown(mode)) => context.error(
            "TD-IPCMODE",
            &["ipcMode"],
            format!("ipcMode '{mode}' must be 'host', 'task' or 'none'."),
        ),
        // Observed text (cn-terraform/terraform-aws-ecs-fargate#2).
        Some(_) if context.fargate() => context.error(
            "TD-IPCMODE",
            &["ipcMode"],
            "Tasks using the Fargate launch type do not support ipcMode.",
        ),
        _ => {}
    }
}

/// TD-EPHEMERAL-RANGE.
fn ephemeral_storage(context: &mut Context<'_>) {
    let Some(storage) = &context.request().ephemeral_storage else {
        return;
    };
    match storage.size_in_gi_b {
        None => context.error(
            "TD-EPHEMERAL-RANGE",
            &["ephemeralStorage"],
            "ephemeralStorage must have 'sizeInGiB'.",
        ),
        Some(size) if !EPHEMERAL_GIB.contains(&size) => context.error(
            "TD-EPHEMERAL-RANGE",
            &["ephemeralStorage", "sizeInGiB"],
            format!(
                "ephemeralStorage sizeInGiB {size} must be between {} and {} GiB.",
                EPHEMERAL_GIB.start(),
                EPHEMERAL_GIB.end()
            ),
        ),
        Some(_) => {}
    }
    let listed = context.request().requires_compatibilities.as_deref();
    if listed.is_some_and(|list| !list.is_empty()) && !context.fargate() {
        context.warning(
            "TD-EPHEMERAL-RANGE",
            &["ephemeralStorage"],
            "ephemeralStorage only takes effect on Fargate, which requiresCompatibilities does \
             not list.",
        );
    }
}

/// TD-RUNTIME-PLATFORM.
fn runtime_platform(context: &mut Context<'_>) {
    let Some(platform) = &context.request().runtime_platform else {
        return;
    };
    if let Some(CPUArchitecture::Unknown(architecture)) = &platform.cpu_architecture {
        context.error(
            "TD-RUNTIME-PLATFORM",
            &["runtimePlatform", "cpuArchitecture"],
            format!("cpuArchitecture '{architecture}' must be 'X86_64' or 'ARM64'."),
        );
    }
    let family = platform.operating_system_family.as_ref();
    if let Some(OSFamily::Unknown(family)) = family {
        context.error(
            "TD-RUNTIME-PLATFORM",
            &["runtimePlatform", "operatingSystemFamily"],
            format!(
                "operatingSystemFamily '{family}' is not one of {}.",
                OSFamily::VALUES.join(", ")
            ),
        );
        return;
    }
    if context.windows() && platform.cpu_architecture == Some(CPUArchitecture::Arm64) {
        let message = "cpuArchitecture 'ARM64' is only available for the LINUX operating system \
                       family.";
        let path = ["runtimePlatform", "cpuArchitecture"];
        if context.fargate() {
            context.error("TD-RUNTIME-PLATFORM", &path, message);
        } else {
            context.warning("TD-RUNTIME-PLATFORM", &path, message);
        }
    }
    // Fargate offers the 2019 and 2022 Windows families [inferred from older documentation].
    if context.fargate()
        && let Some(
            family @ (OSFamily::WindowsServer2016Full
            | OSFamily::WindowsServer2004Core
            | OSFamily::WindowsServer20h2Core),
        ) = family
    {
        context.warning(
            "TD-RUNTIME-PLATFORM",
            &["runtimePlatform", "operatingSystemFamily"],
            format!("operatingSystemFamily '{family}' is not offered on Fargate."),
        );
    }
}

/// TD-TRUSTED-EXEC (and its Managed-Instances-only part of TD-MI-FEATURES).
fn trusted_execution(context: &mut Context<'_>) {
    let Some(trusted) = &context.request().trusted_execution_configuration else {
        return;
    };
    match &trusted.isolation_mode {
        None => context.error(
            "TD-TRUSTED-EXEC",
            &["trustedExecutionConfiguration"],
            "trustedExecutionConfiguration must have 'isolationMode'.",
        ),
        Some(IsolationMode::Unknown(mode)) => context.error(
            "TD-TRUSTED-EXEC",
            &["trustedExecutionConfiguration", "isolationMode"],
            format!(
                "isolationMode '{mode}' must be 'SHARED', 'ISOLATED_SANDBOX' or \
                 'CONFIDENTIAL_SANDBOX'."
            ),
        ),
        Some(IsolationMode::ConfidentialSandbox)
            if trusted
                .attestation_policy
                .as_deref()
                .is_none_or(|policy| policy.trim().is_empty()) =>
        {
            context.error(
                "TD-TRUSTED-EXEC",
                &["trustedExecutionConfiguration"],
                "isolationMode 'CONFIDENTIAL_SANDBOX' needs an 'attestationPolicy'.",
            );
        }
        _ => {}
    }
    let isolated = matches!(
        trusted.isolation_mode,
        Some(IsolationMode::IsolatedSandbox | IsolationMode::ConfidentialSandbox)
    );
    let others: Vec<&str> = [
        Compatibility::Ec2,
        Compatibility::Fargate,
        Compatibility::External,
    ]
    .iter()
    .filter(|target| context.requires((*target).clone()))
    .map(Compatibility::as_str)
    .collect();
    if isolated && !others.is_empty() {
        // Where ECS enforces this is not documented: warn.
        context.warning(
            "TD-TRUSTED-EXEC",
            &["trustedExecutionConfiguration", "isolationMode"],
            format!(
                "Sandboxed isolation modes are available only on Managed Instances, not {}.",
                others.join(", ")
            ),
        );
    }
}

/// TD-PLACEMENT-TYPE, TD-PLACEMENT-MAX, TD-PLACEMENT-FARGATE.
fn placement_constraints(context: &mut Context<'_>) {
    let Some(constraints) = &context.request().placement_constraints else {
        return;
    };
    if constraints.is_empty() {
        return;
    }
    if context.fargate() {
        context.error(
            "TD-PLACEMENT-FARGATE",
            &["placementConstraints"],
            "Fargate compatible task definitions do not support placementConstraints",
        );
    }
    if constraints.len() > MAX_PLACEMENT_CONSTRAINTS {
        context.error(
            "TD-PLACEMENT-MAX",
            &[
                "placementConstraints",
                &MAX_PLACEMENT_CONSTRAINTS.to_string(),
            ],
            format!(
                "A task definition may hold at most {MAX_PLACEMENT_CONSTRAINTS} placement \
                 constraints, not {}.",
                constraints.len()
            ),
        );
    }
    for (index, constraint) in constraints.iter().enumerate() {
        let p = index.to_string();
        match &constraint.r#type {
            None => context.error(
                "TD-PLACEMENT-TYPE",
                &["placementConstraints", &p],
                "A placement constraint must have 'type': 'memberOf'.",
            ),
            Some(TaskDefinitionPlacementConstraintType::Unknown(kind)) => context.error(
                "TD-PLACEMENT-TYPE",
                &["placementConstraints", &p, "type"],
                format!(
                    "Placement constraint type '{kind}' is not valid in a task definition; only \
                     'memberOf' is."
                ),
            ),
            Some(TaskDefinitionPlacementConstraintType::MemberOf) => {
                match constraint.expression.as_deref() {
                    None => context.error(
                        "TD-PLACEMENT-TYPE",
                        &["placementConstraints", &p],
                        "A memberOf placement constraint must have an 'expression'.",
                    ),
                    Some(expression) if expression.trim().is_empty() => context.error(
                        "TD-PLACEMENT-TYPE",
                        &["placementConstraints", &p, "expression"],
                        "A memberOf placement constraint's expression must not be blank.",
                    ),
                    Some(expression) => {
                        let length = expression.chars().count();
                        if length > MAX_EXPRESSION_LENGTH {
                            context.error(
                                "TD-PLACEMENT-MAX",
                                &["placementConstraints", &p, "expression"],
                                format!(
                                    "Placement constraint expression is {length} characters; \
                                     the limit is {MAX_EXPRESSION_LENGTH}."
                                ),
                            );
                        }
                        // CQL-ERRORS: a syntactically invalid expression is refused at
                        // registration. Regular expressions are Java's on ECS and the regex
                        // crate's here, so a pattern this crate cannot compile only warns
                        // (rejecting a definition ECS accepts is the worse mistake).
                        if length <= MAX_EXPRESSION_LENGTH
                            && let Err(err) = crate::cql::parse(expression)
                        {
                            let regex_only = matches!(
                                err.kind(),
                                crate::cql::ErrorKind::InvalidRegex { .. }
                                    | crate::cql::ErrorKind::RegexTooBig
                            );
                            let path = ["placementConstraints", &p, "expression"];
                            let message = format!(
                                "The memberOf expression is not valid cluster query language: {} (at byte {}).",
                                err.kind(),
                                err.span().start
                            );
                            if regex_only {
                                context.warning("TD-PLACEMENT-TYPE", &path, message);
                            } else {
                                context.error("TD-PLACEMENT-TYPE", &path, message);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// TD-PROXY.
fn proxy(context: &mut Context<'_>) {
    let Some(proxy) = &context.request().proxy_configuration else {
        return;
    };
    let names: BTreeSet<&str> = context
        .containers()
        .filter_map(|(_, container)| container.name.as_deref())
        .collect();
    match proxy.container_name.as_deref() {
        None => context.error(
            "TD-PROXY",
            &["proxyConfiguration"],
            "proxyConfiguration must have a 'containerName'.",
        ),
        // Whether ECS checks the name at registration is unknown, and a published
        // DescribeTaskDefinition fixture (kayac/ecspresso tests/td.json) names a container the
        // task lacks, so this warns.
        Some(name) if !names.contains(name) => context.warning(
            "TD-PROXY",
            &["proxyConfiguration", "containerName"],
            format!(
                "proxyConfiguration containerName '{name}' is not a container of this task \
                 definition."
            ),
        ),
        Some(_) => {}
    }
    if let Some(ProxyConfigurationType::Unknown(kind)) = &proxy.r#type {
        context.error(
            "TD-PROXY",
            &["proxyConfiguration", "type"],
            format!("proxyConfiguration type '{kind}' must be 'APPMESH'."),
        );
    }
    for (index, property) in proxy.properties.iter().flatten().enumerate() {
        let p = index.to_string();
        if property.value.is_none() {
            // Observed text (aws-actions/amazon-ecs-deploy-task-definition#163).
            context.error(
                "TD-PROXY",
                &["proxyConfiguration", "properties", &p],
                "ProxyConfiguration properties value cannot be null.",
            );
        }
        match property.name.as_deref() {
            Some(name) if PROXY_PROPERTIES.contains(&name) => {}
            Some(name) => context.warning(
                "TD-PROXY",
                &["proxyConfiguration", "properties", &p, "name"],
                format!(
                    "proxyConfiguration property '{name}' is not one of {}.",
                    PROXY_PROPERTIES.join(", ")
                ),
            ),
            None => context.error(
                "TD-PROXY",
                &["proxyConfiguration", "properties", &p],
                "A proxyConfiguration property must have a 'name'.",
            ),
        }
    }
    // App Mesh's CNI plugin works on the task's ENI [inferred].
    if !context.awsvpc() {
        context.warning(
            "TD-PROXY",
            &["proxyConfiguration"],
            "proxyConfiguration (App Mesh) needs networkMode 'awsvpc'.",
        );
    }
}

/// Whether `role` looks like an IAM role ARN (`arn:<partition>:iam::<account>:role/<name>`).
fn role_arn(role: &str) -> bool {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[5].len() > "role/".len()
        && parts[5].starts_with("role/")
}

/// Whether `role` is an IAM role name, optionally with a path (`[\w+=,.@-]+`).
fn role_name(role: &str) -> bool {
    !role.is_empty()
        && role
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_+=,.@-/".contains(ch))
}

/// TD-TASKROLE-FORMAT. ECS does not verify roles at registration and AWS staff say both members
/// accept a role name, so these are warnings.
fn roles(context: &mut Context<'_>) {
    let request = context.request();
    for (member, role) in [
        ("taskRoleArn", request.task_role_arn.as_deref()),
        ("executionRoleArn", request.execution_role_arn.as_deref()),
    ] {
        let Some(role) = role else {
            continue;
        };
        let valid = if role.starts_with("arn:") {
            role_arn(role)
        } else {
            role_name(role)
        };
        if !valid {
            context.warning(
                "TD-TASKROLE-FORMAT",
                &[member],
                format!("{member} '{role}' is neither an IAM role ARN nor a role name."),
            );
        }
    }
}

/// TD-MI-NETMODE, TD-EXTERNAL.
fn managed_instances_and_external(context: &mut Context<'_>) {
    if context.requires(Compatibility::ManagedInstances)
        && let Some(mode @ (NetworkMode::Bridge | NetworkMode::None)) = context.network_mode()
    {
        // Whether ECS rejects these at registration is open (catalogue §9, question 12).
        context.warning(
            "TD-MI-NETMODE",
            &["networkMode"],
            format!("Managed Instances support networkMode 'awsvpc' or 'host', not '{mode}'."),
        );
    }
    // External + awsvpc is TD-NETMODE-PLATFORM's (rules/task.rs); it is not repeated here.
    if !context.requires(Compatibility::External) {
        return;
    }
    // The agent on an external instance never advertises these capabilities, so a task that
    // needs them cannot be placed there.
    let request = context.request();
    if request.proxy_configuration.is_some() {
        context.error(
            "TD-EXTERNAL",
            &["proxyConfiguration"],
            "External (ECS Anywhere) instances do not support App Mesh proxyConfiguration.",
        );
    }
    if request.enable_fault_injection == Some(true) {
        context.error(
            "TD-EXTERNAL",
            &["enableFaultInjection"],
            "External (ECS Anywhere) instances do not support fault injection.",
        );
    }
    for (index, volume) in request.volumes.iter().flatten().enumerate() {
        if volume.configured_at_launch == Some(true) {
            let v = index.to_string();
            context.error(
                "TD-EXTERNAL",
                &["volumes", &v, "configuredAtLaunch"],
                "External (ECS Anywhere) instances do not support volumes configured at launch \
                 (Amazon EBS task attach).",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_forms() {
        assert!(role_arn(
            "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
        ));
        assert!(role_arn(
            "arn:aws-us-gov:iam::123456789012:role/service-role/x"
        ));
        assert!(!role_arn("arn:aws:iam::123456789012:user/bob"));
        assert!(!role_arn("arn:aws:iam::123456789012:role/"));
        assert!(!role_arn("arn:aws:sts::123456789012:role/x"));
        assert!(role_name("ecsTaskExecutionRole"));
        assert!(role_name("path/to/role+name=a,b.c@d-e"));
        assert!(!role_name(""));
        assert!(!role_name("{{role}}"));
    }
}
