//! Container dependencies, timeouts and health checks (catalogue §3.6–§3.7).

use std::collections::BTreeMap;

use super::container::display_name;
use super::task::{error_unless_placeholder, written};
use crate::model::{ContainerCondition, ContainerDefinition};
use crate::validate::Context;

/// TD-TIMEOUTS: the start/stop timeouts Fargate accepts, in seconds.
const FARGATE_TIMEOUTS: std::ops::RangeInclusive<i32> = 2..=120;

/// TD-DEP-NO-SELF-OR-CYCLE: how many container names a cycle's message lists.
const MAX_CYCLE_NAMES: usize = 10;

/// TD-HC-RANGES: each health-check member, its bounds, and the unit for messages.
const HEALTH_CHECK_BOUNDS: [(&str, i32, i32); 4] = [
    ("interval", 5, 300),
    ("timeout", 2, 60),
    ("retries", 1, 10),
    ("startPeriod", 0, 300),
];

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    let index_by_name = first_index_by_name(context);
    for (index, container) in context.containers() {
        let idx = index.to_string();
        check_depends_on(context, &idx, container, &index_by_name);
        check_timeouts(context, &idx, container);
        check_health_check(context, &idx, container);
    }
    check_cycles(context, &index_by_name);
}

/// Container name → index of the first container with that name.
fn first_index_by_name<'a>(context: &Context<'a>) -> BTreeMap<&'a str, usize> {
    let mut map = BTreeMap::new();
    for (index, container) in context.containers() {
        if let Some(name) = container.name.as_deref() {
            map.entry(name).or_insert(index);
        }
    }
    map
}

fn check_depends_on(
    context: &mut Context<'_>,
    idx: &str,
    container: &ContainerDefinition,
    index_by_name: &BTreeMap<&str, usize>,
) {
    let containers = context
        .request()
        .container_definitions
        .as_deref()
        .unwrap_or_default();
    for (dep_idx, dependency) in container.depends_on.iter().flatten().enumerate() {
        let dep = dep_idx.to_string();
        let name_path = [
            "containerDefinitions",
            idx,
            "dependsOn",
            &dep,
            "containerName",
        ];
        let condition_path = ["containerDefinitions", idx, "dependsOn", &dep, "condition"];

        // TD-DEP-CONDITION: both members are required; the condition is an enum.
        match &dependency.condition {
            None if !written(context, &condition_path) => context.error(
                "TD-DEP-CONDITION",
                &condition_path,
                "A dependsOn entry needs a condition: START, COMPLETE, SUCCESS or HEALTHY.",
            ),
            Some(ContainerCondition::Unknown(condition)) => error_unless_placeholder(
                context,
                "TD-DEP-CONDITION",
                &condition_path,
                condition,
                format!(
                    "'{condition}' is not a dependency condition; use START, COMPLETE, SUCCESS or HEALTHY."
                ),
            ),
            _ => {}
        }
        let target_name = match dependency.container_name.as_deref() {
            None if written(context, &name_path) => continue,
            None | Some("") => {
                context.error(
                    "TD-DEP-CONDITION",
                    &name_path,
                    "A dependsOn entry needs a containerName.",
                );
                continue;
            }
            Some(name) => name,
        };

        // TD-DEP-TARGET-EXISTS [inferred]: the text (with its stray '+') is ECS's, as reported
        // in eagletmt/hako#99.
        let Some(&target_index) = index_by_name.get(target_name) else {
            context.error(
                "TD-DEP-TARGET-EXISTS",
                &name_path,
                format!("Cannot depend on container + '{target_name}' because it does not exist"),
            );
            continue;
        };
        let Some(target) = containers.get(target_index) else {
            continue;
        };

        match dependency.condition {
            // TD-DEP-COMPLETE-NOT-ESSENTIAL: the target must be allowed to exit.
            Some(ContainerCondition::Complete | ContainerCondition::Success)
                if target.essential != Some(false) =>
            {
                // Message from boto/boto3#2436.
                context.error(
                    "TD-DEP-COMPLETE-NOT-ESSENTIAL",
                    &condition_path,
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
                );
            }
            // TD-DEP-HEALTHY-NEEDS-HC: registration enforcement is unverified (§9, 6).
            Some(ContainerCondition::Healthy)
                if target
                    .health_check
                    .as_ref()
                    .is_none_or(|hc| hc.command.as_ref().is_none_or(Vec::is_empty)) =>
            {
                context.warning(
                    "TD-DEP-HEALTHY-NEEDS-HC",
                    &condition_path,
                    format!(
                        "Condition HEALTHY needs a healthCheck on container '{target_name}', which has none."
                    ),
                );
            }
            _ => {}
        }
    }
}

/// TD-DEP-NO-SELF-OR-CYCLE [inferred]: a warning, since whether ECS refuses a cycle at
/// registration is unknown (§9, 7); the task could never start either way.
fn check_cycles(context: &mut Context<'_>, index_by_name: &BTreeMap<&str, usize>) {
    let containers: Vec<&ContainerDefinition> = context
        .containers()
        .map(|(_, container)| container)
        .collect();
    // Edges: container -> (dependsOn entry index, target container).
    let edges: Vec<Vec<(usize, usize)>> = containers
        .iter()
        .map(|container| {
            container
                .depends_on
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(dep_idx, dependency)| {
                    let target = *index_by_name.get(dependency.container_name.as_deref()?)?;
                    Some((dep_idx, target))
                })
                .collect()
        })
        .collect();

    // Self-dependencies first, each at its own entry.
    for (index, container_edges) in edges.iter().enumerate() {
        for &(dep_idx, target) in container_edges {
            if target == index {
                let name = display_name(&index.to_string(), containers[index]);
                context.warning(
                    "TD-DEP-NO-SELF-OR-CYCLE",
                    &[
                        "containerDefinitions",
                        &index.to_string(),
                        "dependsOn",
                        &dep_idx.to_string(),
                        "containerName",
                    ],
                    format!("Container '{name}' depends on itself, so it can never start."),
                );
            }
        }
    }

    // Longer cycles: an iterative depth-first search (no recursion, so 10,000 chained
    // containers cannot overflow the stack), reporting the edge that closes each cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::OnStack;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            if let Some(&(dep_idx, target)) = edges[node].get(top.1) {
                top.1 += 1;
                match marks[target] {
                    Mark::New => {
                        marks[target] = Mark::OnStack;
                        stack.push((target, 0));
                    }
                    Mark::OnStack if target != node => {
                        let cycle_start = stack.iter().position(|&(n, _)| n == target).unwrap_or(0);
                        let cycle = &stack[cycle_start..];
                        let mut names: Vec<String> = cycle
                            .iter()
                            .take(MAX_CYCLE_NAMES)
                            .map(|&(n, _)| display_name(&n.to_string(), containers[n]))
                            .collect();
                        if cycle.len() > MAX_CYCLE_NAMES {
                            names.push(format!("… ({} containers in all)", cycle.len()));
                        }
                        context.warning(
                            "TD-DEP-NO-SELF-OR-CYCLE",
                            &[
                                "containerDefinitions",
                                &node.to_string(),
                                "dependsOn",
                                &dep_idx.to_string(),
                                "containerName",
                            ],
                            format!(
                                "Containers {} depend on each other in a cycle, so none of them can start.",
                                names.join(" -> ")
                            ),
                        );
                    }
                    _ => {}
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
            }
        }
    }
}

fn check_timeouts(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    let fargate = context.fargate();
    for (member, value) in [
        ("startTimeout", container.start_timeout),
        ("stopTimeout", container.stop_timeout),
    ] {
        let Some(seconds) = value else { continue };
        let path = ["containerDefinitions", idx, member];
        if seconds < 0 {
            context.error(
                "TD-TIMEOUTS",
                &path,
                format!("{member} {seconds} is negative; it is a number of seconds."),
            );
        } else if fargate && !FARGATE_TIMEOUTS.contains(&seconds) {
            context.error(
                "TD-TIMEOUTS",
                &path,
                format!("{member} {seconds} is outside 2-120 seconds, the values Fargate accepts."),
            );
        } else if !fargate && seconds > *FARGATE_TIMEOUTS.end() {
            context.warning(
                "TD-TIMEOUTS",
                &path,
                format!(
                    "{member} {seconds} is above 120 seconds, the most Fargate accepts; on EC2 the agent's limits apply."
                ),
            );
        }
    }
}

fn check_health_check(context: &mut Context<'_>, idx: &str, container: &ContainerDefinition) {
    let Some(health_check) = container.health_check.as_ref() else {
        return;
    };
    let name = display_name(idx, container);
    let command_path = ["containerDefinitions", idx, "healthCheck", "command"];
    // TD-HC-COMMAND.
    match health_check.command.as_deref() {
        None if written(context, &command_path) => {}
        None | Some([]) => context.error(
            "TD-HC-COMMAND",
            &command_path,
            format!("The healthCheck of container '{name}' needs a command."),
        ),
        Some([first, ..]) if first != "CMD" && first != "CMD-SHELL" => context.warning(
            "TD-HC-COMMAND",
            &["containerDefinitions", idx, "healthCheck", "command", "0"],
            format!(
                "Health check command starts with '{first}', not CMD or CMD-SHELL; older agents assume CMD."
            ),
        ),
        Some(_) => {}
    }
    // TD-HC-RANGES: texts in the pattern of PostHog/posthog#8647 (retries, observed); the
    // other members' wording is inferred.
    let values = [
        health_check.interval,
        health_check.timeout,
        health_check.retries,
        health_check.start_period,
    ];
    for ((member, min, max), value) in HEALTH_CHECK_BOUNDS.into_iter().zip(values) {
        let Some(value) = value else { continue };
        let path = ["containerDefinitions", idx, "healthCheck", member];
        if value < min {
            context.error(
                "TD-HC-RANGES",
                &path,
                format!(
                    "Health check {member} must be greater than or equal to the minimum allowed value {min} for container '{name}'"
                ),
            );
        } else if value > max {
            context.error(
                "TD-HC-RANGES",
                &path,
                format!(
                    "Health check {member} must be less than or equal to the maximum allowed value {max} for container '{name}'"
                ),
            );
        }
    }
}
