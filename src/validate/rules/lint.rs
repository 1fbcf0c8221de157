//! Lint rules (catalogue §4.9): ECS accepts these, but they are likely mistakes, so every
//! finding here is a warning.
//!
//! Two rows of the lint table repeat a rule of another section, and are reported once, under
//! one id: `TD-LINT-MEMORY-TINY` is reported as TD-CD-MEMORY-MIN (container.rs, which defines
//! its severity), and TD-WINDOWS-TASK-SIZE-IGNORED (§2.4) is reported here as
//! `TD-LINT-WINDOWS-TASKSIZE`, the lint that rule asks for.

use super::ports::{container_port_claims, overlaps};
use crate::model::{Compatibility, ContainerDefinition, LogDriver, NetworkMode};
use crate::validate::Context;

/// TD-LINT-STATIC-HOSTPORT-EPHEMERAL: the ephemeral range as the lint table gives it.
const EPHEMERAL_PORTS: std::ops::RangeInclusive<i32> = 32_768..=65_535;
/// TD-LINT-STATIC-HOSTPORT-EPHEMERAL: ports the ECS agent and Docker reserve on instances.
const RESERVED_PORTS: [i32; 6] = [22, 2375, 2376, 51678, 51679, 51680];
/// TD-LINT-PLAINTEXT-SECRET: name fragments that suggest a secret.
const SECRET_WORDS: [&str; 4] = ["PASSWORD", "SECRET", "TOKEN", "KEY"];
/// TD-LINT-HEALTHCHECK-TIMEOUT: ECS's defaults, in seconds (TD-HC-RANGES).
const DEFAULT_HC_INTERVAL: i32 = 30;
/// TD-LINT-HEALTHCHECK-TIMEOUT: ECS's default timeout, in seconds.
const DEFAULT_HC_TIMEOUT: i32 = 5;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    let ec2_like =
        context.requires(Compatibility::Ec2) || context.requires(Compatibility::External);
    let no_task_memory = context.request().memory.is_none();
    let windows = context.windows();
    let mode = context.network_mode().cloned();
    let bridge_like = context.bridge_like();
    for (index, container) in context.containers() {
        let idx = index.to_string();

        if ec2_like
            && no_task_memory
            && container.memory.is_none()
            && let Some(reservation) = container.memory_reservation
        {
            context.warning(
                "TD-LINT-NO-MEMORY-LIMIT",
                &["containerDefinitions", &idx, "memoryReservation"],
                format!(
                    "Container has only a soft limit (memoryReservation {reservation} MiB) and the task no memory: it can use all of the instance's memory."
                ),
            );
        }
        check_image_tag(context, &idx, container);
        if container.privileged == Some(true) {
            context.warning(
                "TD-LINT-PRIVILEGED",
                &["containerDefinitions", &idx, "privileged"],
                "Privileged containers get root on the host; AWS recommends adding specific Linux capabilities instead.",
            );
        }
        for (env_idx, variable) in container.environment.iter().flatten().enumerate() {
            let Some(name) = variable.name.as_deref() else {
                continue;
            };
            let upper = name.to_ascii_uppercase();
            if let Some(word) = SECRET_WORDS.iter().find(|word| upper.contains(**word)) {
                context.warning(
                    "TD-LINT-PLAINTEXT-SECRET",
                    &["containerDefinitions", &idx, "environment", &env_idx.to_string(), "name"],
                    format!(
                        "Environment variable '{name}' looks like a secret ({word}); AWS advises 'secrets' (Secrets Manager or SSM) for sensitive data."
                    ),
                );
            }
        }
        if mode == Some(NetworkMode::Host) && !windows {
            let root = match container.user.as_deref() {
                None => true,
                Some(user) => {
                    let who = user.split(':').next().unwrap_or(user);
                    who == "root" || who == "0"
                }
            };
            if root {
                context.warning(
                    "TD-LINT-HOST-ROOT",
                    &["containerDefinitions", &idx, "user"],
                    "Container runs as root with networkMode host; AWS advises a non-root user in host mode.",
                );
            }
        }
        if bridge_like {
            for (mapping_idx, mapping) in container.port_mappings.iter().flatten().enumerate() {
                let Some(host_port) = mapping.host_port.filter(|port| *port != 0) else {
                    continue;
                };
                if mapping.container_port_range.is_some() {
                    continue;
                }
                let why = if RESERVED_PORTS.contains(&host_port) {
                    "is reserved on container instances (SSH, Docker, the ECS agent)"
                } else if EPHEMERAL_PORTS.contains(&host_port) {
                    "is in the ephemeral range ECS uses for dynamic host ports"
                } else {
                    continue;
                };
                context.warning(
                    "TD-LINT-STATIC-HOSTPORT-EPHEMERAL",
                    &[
                        "containerDefinitions",
                        &idx,
                        "portMappings",
                        &mapping_idx.to_string(),
                        "hostPort",
                    ],
                    format!("Static hostPort {host_port} {why}."),
                );
            }
        }
        if let Some(log) = container.log_configuration.as_ref()
            && log.log_driver == Some(LogDriver::Awslogs)
            && !log
                .options
                .as_ref()
                .is_some_and(|options| options.contains_key("awslogs-stream-prefix"))
        {
            context.warning(
                "TD-LINT-AWSLOGS-NO-PREFIX",
                &["containerDefinitions", &idx, "logConfiguration"],
                "The awslogs driver has no awslogs-stream-prefix: Fargate requires it and the console needs it to link logs to tasks.",
            );
        }
        if let Some(health_check) = container.health_check.as_ref() {
            let interval = health_check.interval.unwrap_or(DEFAULT_HC_INTERVAL);
            let timeout = health_check.timeout.unwrap_or(DEFAULT_HC_TIMEOUT);
            if timeout >= interval {
                let member = if health_check.timeout.is_some() {
                    "timeout"
                } else {
                    "interval"
                };
                context.warning(
                    "TD-LINT-HEALTHCHECK-TIMEOUT",
                    &["containerDefinitions", &idx, "healthCheck", member],
                    format!(
                        "Health check timeout {timeout}s is not shorter than its interval {interval}s, so checks overlap."
                    ),
                );
            }
        }
        if !windows && container.readonly_root_filesystem != Some(true) {
            context.warning(
                "TD-LINT-READONLY-ROOT",
                &["containerDefinitions", &idx, "readonlyRootFilesystem"],
                "The root filesystem is writable; set readonlyRootFilesystem to true unless the container needs to write to it.",
            );
        }
        let claims = container_port_claims(index, container);
        for overlap in overlaps(&claims, false) {
            let later = overlap.later;
            let member = if later.range {
                "containerPortRange"
            } else {
                "containerPort"
            };
            context.warning(
                "TD-LINT-TCP-UDP-SAME-PORT",
                &[
                    "containerDefinitions",
                    &idx,
                    "portMappings",
                    &later.mapping.to_string(),
                    member,
                ],
                format!(
                    "Container port {} is mapped for both tcp and udp; ECS documents this as an error, though it is observed to register.",
                    overlap.port()
                ),
            );
        }
    }
    check_windows_task_size(context);
}

/// TD-LINT-IMAGE-LATEST: a `latest` tag, or no tag and no digest.
fn check_image_tag(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    let Some(image) = container
        .image
        .as_deref()
        .filter(|image| !image.trim().is_empty())
    else {
        return;
    };
    if image.contains('@') {
        return;
    }
    // A ':' before the last '/' is a registry port, not a tag.
    let last_component = image.rsplit('/').next().unwrap_or(image);
    let tag = last_component.split_once(':').map(|(_, tag)| tag);
    let message = match tag {
        None => format!("Image '{image}' has no tag, so it means 'latest'; pin a tag or digest."),
        Some("latest") => format!("Image '{image}' uses the tag 'latest'; pin a tag or digest."),
        Some(_) => return,
    };
    context.warning(
        "TD-LINT-IMAGE-LATEST",
        &["containerDefinitions", idx, "image"],
        message,
    );
}

/// TD-LINT-WINDOWS-TASKSIZE (TD-WINDOWS-TASK-SIZE-IGNORED): on EC2 (and EXTERNAL) Windows, task-level cpu and
/// memory are ignored, so a definition that sizes only the task leaves its containers unsized.
fn check_windows_task_size(context: &mut Context<'_>) {
    // Only for the launch types that ignore the task size; Fargate honours it.
    let ec2_like =
        context.requires(Compatibility::Ec2) || context.requires(Compatibility::External);
    if !context.windows() || !ec2_like {
        return;
    }
    let request = context.request();
    let no_container_cpu = context.containers().all(|(_, c)| c.cpu.is_none());
    let no_container_memory = context
        .containers()
        .all(|(_, c)| c.memory.is_none() && c.memory_reservation.is_none());
    if request.cpu.is_some() && no_container_cpu {
        context.warning(
            "TD-LINT-WINDOWS-TASKSIZE",
            &["cpu"],
            "Task-level cpu is ignored for Windows containers on EC2; set cpu on the containers.",
        );
    }
    if request.memory.is_some() && no_container_memory {
        context.warning(
            "TD-LINT-WINDOWS-TASKSIZE",
            &["memory"],
            "Task-level memory is ignored for Windows containers on EC2; set memory on the containers.",
        );
    }
}
