//! Container identity, size and essential rules (catalogue §3.1–§3.3): name, image,
//! repository credentials, container cpu and memory against the task, essential containers.

use std::collections::BTreeMap;

use super::task::{error_unless_placeholder, is_name_chars, written};
use crate::model::ContainerDefinition;
use crate::validate::Context;

/// TD-CD-NAME-PATTERN: the longest container name.
const MAX_CONTAINER_NAME_LEN: usize = 255;
/// TD-CD-IMAGE-FORMAT: the longest image reference (before any `@digest`).
const MAX_IMAGE_LEN: usize = 255;
/// TD-CD-MEMORY-MIN: the least memory Docker 20.10 and later will start a container with, MiB.
const MIN_CONTAINER_MEMORY: i32 = 6;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    let mut first_index_by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, container) in context.containers() {
        let idx = index.to_string();
        check_name(context, &idx, container);
        if let Some(name) = container.name.as_deref().filter(|name| !name.is_empty()) {
            if let Some(first) = first_index_by_name.get(name) {
                // TD-CD-NAME-UNIQUE [inferred]: the text is ECS's, quoted in Shippable/support#2946.
                context.error(
                    "TD-CD-NAME-UNIQUE",
                    &["containerDefinitions", &idx, "name"],
                    format!(
                        "Container names must be unique within a Task Definition. ('{name}' is also container {first}.)"
                    ),
                );
            } else {
                first_index_by_name.insert(name, index);
            }
        }
        check_image(context, &idx, container);
        check_repository_credentials(context, &idx, container);
        check_container_cpu(context, &idx, container);
        check_container_memory(context, &idx, container);
    }
    check_sums(context);
    check_essential(context);
}

/// The container's name for messages: as written, or its index when it has none.
pub(super) fn display_name(index: &str, container: &ContainerDefinition) -> String {
    container
        .name
        .clone()
        .unwrap_or_else(|| format!("#{index}"))
}

fn check_name(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    match container.name.as_deref() {
        None if written(context, &["containerDefinitions", idx, "name"]) => {}
        None | Some("") => context.error(
            "TD-CD-NAME-REQUIRED",
            &["containerDefinitions", idx, "name"],
            "Container.name should not be null or empty.",
        ),
        Some(name) => {
            if !is_name_chars(name) {
                // TD-CD-NAME-PATTERN: message from hashicorp/terraform-provider-aws#5950.
                error_unless_placeholder(
                    context,
                    "TD-CD-NAME-PATTERN",
                    &["containerDefinitions", idx, "name"],
                    name,
                    "Container.name contains invalid characters.".to_string(),
                );
            } else if name.len() > MAX_CONTAINER_NAME_LEN {
                context.error(
                    "TD-CD-NAME-PATTERN",
                    &["containerDefinitions", idx, "name"],
                    format!(
                        "Container name is {} characters long; the limit is {MAX_CONTAINER_NAME_LEN}.",
                        name.len()
                    ),
                );
            }
        }
    }
}

fn check_image(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    let path = ["containerDefinitions", idx, "image"];
    let image = match container.image.as_deref() {
        None if written(context, &path) => return,
        None => "",
        Some(image) => image,
    };
    if image.trim().is_empty() {
        // TD-CD-IMAGE-REQUIRED: message from aws/aws-cli#5924.
        context.error(
            "TD-CD-IMAGE-REQUIRED",
            &path,
            "Container.image should not be null or empty.",
        );
        return;
    }
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    let length = reference.chars().count();
    if length > MAX_IMAGE_LEN {
        context.error(
            "TD-CD-IMAGE-FORMAT",
            &path,
            format!("Image reference is {length} characters long; the limit is {MAX_IMAGE_LEN}."),
        );
    }
    if let Some(digest) = digest {
        let valid = digest
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            context.error(
                "TD-CD-IMAGE-FORMAT",
                &path,
                format!(
                    "Image digest '{digest}' is not 'sha256:' followed by 64 hexadecimal characters."
                ),
            );
        }
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_:./#".contains(c);
    if let Some(bad) = reference.chars().find(|&c| !allowed(c)) {
        // Whether ECS checks characters at registration or only at pull is not documented.
        context.warning(
            "TD-CD-IMAGE-FORMAT",
            &path,
            format!(
                "Image '{image}' contains '{bad}'; image references use letters, digits and - _ : . / #."
            ),
        );
    }
}

fn check_repository_credentials(
    context: &mut Context<'_>,
    idx: &str,
    container: &ContainerDefinition,
) {
    let Some(credentials) = container.repository_credentials.as_ref() else {
        return;
    };
    let path = [
        "containerDefinitions",
        idx,
        "repositoryCredentials",
        "credentialsParameter",
    ];
    let missing = match credentials.credentials_parameter.as_deref() {
        None => !written(context, &path),
        Some(parameter) => parameter.trim().is_empty(),
    };
    if missing {
        context.error(
            "TD-CD-REPOCREDS",
            &path,
            "repositoryCredentials needs a credentialsParameter: the ARN or name of a Secrets Manager secret.",
        );
    }
}

fn check_container_cpu(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    if let Some(cpu) = container.cpu
        && cpu < 0
    {
        context.error(
            "TD-CD-CPU-RANGE",
            &["containerDefinitions", idx, "cpu"],
            format!("Container cpu {cpu} is negative; it must be 0 or more CPU units."),
        );
    }
}

fn check_container_memory(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    let name = display_name(idx, container);
    let memory = container.memory;
    let reservation = container.memory_reservation;
    let task_memory = context.request().memory.as_ref();

    // TD-CD-MEMORY-EC2: observed for every definition without task memory, whatever its
    // compatibilities (getmoto/moto#7280). Zero (or less) counts as not set.
    let has_limit = memory.is_some_and(|m| m > 0) || reservation.is_some_and(|m| m > 0);
    // A member of the wrong JSON type is TD-SHAPE already; do not call it missing too.
    let shape_broken = (memory.is_none()
        && written(context, &["containerDefinitions", idx, "memory"]))
        || (reservation.is_none()
            && written(context, &["containerDefinitions", idx, "memoryReservation"]));
    let task_memory_written = task_memory.is_some() || written(context, &["memory"]);
    if !has_limit && !task_memory_written && !shape_broken {
        context.error(
            "TD-CD-MEMORY-EC2",
            &["containerDefinitions", idx],
            format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            ),
        );
    }

    for (member, value) in [("memory", memory), ("memoryReservation", reservation)] {
        let Some(value) = value else { continue };
        if value < 0 {
            context.error(
                "TD-CD-MEMORY-MIN",
                &["containerDefinitions", idx, member],
                format!("Container {member} {value} MiB is negative."),
            );
        } else if value < MIN_CONTAINER_MEMORY {
            // Docker refuses to start such a container; ECS registers it (advice only).
            context.warning(
                "TD-CD-MEMORY-MIN",
                &["containerDefinitions", idx, member],
                format!(
                    "Container {member} {value} MiB is below {MIN_CONTAINER_MEMORY} MiB, the least Docker 20.10 and later will start a container with."
                ),
            );
        }
    }

    if let (Some(memory), Some(reservation)) = (memory, reservation)
        && memory < reservation
    {
        // Equality is accepted (awsdocs/amazon-ecs-developer-guide#242).
        context.error(
            "TD-CD-MEMORY-GE-RESERVATION",
            &["containerDefinitions", idx, "memory"],
            format!(
                "Container '{name}' memory {memory} MiB is less than its memoryReservation {reservation} MiB; the hard limit must be at least the soft limit."
            ),
        );
    }

    if reservation.is_some() && context.windows() {
        context.warning(
            "TD-CD-WINDOWS-MEMRES",
            &["containerDefinitions", idx, "memoryReservation"],
            "memoryReservation is not supported for Windows containers.",
        );
    }

    if let (Some(memory), Some(task_memory)) = (memory, context.task_memory())
        && i64::from(memory) > i64::from(task_memory)
    {
        // TD-CD-MEMORY-LE-TASK: message from pulumi/pulumi-awsx#1220.
        context.error(
            "TD-CD-MEMORY-LE-TASK",
            &["containerDefinitions", idx, "memory"],
            format!("The 'memory' setting for container '{name}' is greater than for the task."),
        );
    }
}

/// TD-CD-CPU-SUM and TD-CD-MEMORY-SUM: only a strictly greater total is refused (equality is
/// observed to register, §9 question 4).
fn check_sums(context: &mut Context<'_>) {
    if let Some(task_cpu) = context.task_cpu() {
        let total: i64 = context
            .containers()
            .filter_map(|(_, container)| container.cpu)
            .map(|cpu| i64::from(cpu.max(0)))
            .sum();
        if total > i64::from(task_cpu) {
            // Message from aws/aws-cdk#1553.
            context.error(
                "TD-CD-CPU-SUM",
                &["cpu"],
                format!(
                    "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'. ({total} > {task_cpu})"
                ),
            );
        }
    }
    if let Some(task_memory) = context.task_memory() {
        let mut any_over = false;
        let mut total: i64 = 0;
        for (_, container) in context.containers() {
            any_over |= container
                .memory
                .is_some_and(|memory| i64::from(memory) > i64::from(task_memory));
            let reserved = container
                .memory_reservation
                .or(container.memory)
                .unwrap_or(0);
            total += i64::from(reserved.max(0));
        }
        // A container over the task on its own is TD-CD-MEMORY-LE-TASK already.
        if !any_over && total > i64::from(task_memory) {
            context.error(
                "TD-CD-MEMORY-SUM",
                &["memory"],
                format!(
                    "The containers reserve {total} MiB in total (memoryReservation, else memory), more than the task 'memory' of {task_memory} MiB."
                ),
            );
        }
    }
}

fn check_essential(context: &mut Context<'_>) {
    let mut containers = context.containers().peekable();
    if containers.peek().is_none() {
        return;
    }
    // TD-CD-ESSENTIAL-DEFAULT: an omitted essential is true.
    let any_essential = containers.any(|(_, container)| container.essential != Some(false));
    if !any_essential {
        // Message from eagletmt/hako#68, confirmed in aws-cloudformation/cfn-lint#4536.
        context.error(
            "TD-CD-ESSENTIAL-ATLEASTONE",
            &["containerDefinitions"],
            "Task definition doesn't have any essential container.",
        );
    }
}
