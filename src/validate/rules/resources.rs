//! Restart policy, resource requirements (GPUs, Neuron devices, inference accelerators) and
//! version consistency (catalogue §3.11).
//!
//! The GPU and `inferenceAccelerators` entries of TD-FARGATE-UNSUPPORTED are reported as
//! TD-GPU-FARGATE and TD-INFACC-REF; the Managed-Instances-only features of TD-MI-FEATURES as
//! TD-NEURON and TD-GPU-VALUE.

use std::collections::BTreeSet;

use crate::model::{Compatibility, ResourceType, VersionConsistency};
use crate::validate::Context;

/// The most exit codes `restartPolicy.ignoredExitCodes` may list (TD-RESTART-POLICY).
const MAX_IGNORED_EXIT_CODES: usize = 50;

/// The allowed `restartPolicy.restartAttemptPeriod`, in seconds (TD-RESTART-POLICY).
const RESTART_ATTEMPT_PERIOD: std::ops::RangeInclusive<i32> = 60..=1800;

/// The allowed `nvidiaMps.maxComputePercent` (TD-GPU-VALUE).
const MAX_COMPUTE_PERCENT: std::ops::RangeInclusive<i32> = 1..=100;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    restart_policies(context);
    resource_requirements(context);
    inference_accelerators(context);
    version_consistency(context);
}

/// The path `base` followed by `rest`.
fn join<'a>(base: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [base, rest].concat()
}

/// TD-RESTART-POLICY.
fn restart_policies(context: &mut Context<'_>) {
    for (index, container) in context.containers() {
        let Some(policy) = &container.restart_policy else {
            continue;
        };
        let c = index.to_string();
        let base = ["containerDefinitions", c.as_str(), "restartPolicy"];
        if policy.enabled.is_none() {
            context.error(
                "TD-RESTART-POLICY",
                &base,
                "restartPolicy must have 'enabled'.",
            );
        }
        if let Some(codes) = &policy.ignored_exit_codes
            && codes.len() > MAX_IGNORED_EXIT_CODES
        {
            context.error(
                "TD-RESTART-POLICY",
                &join(&base, &["ignoredExitCodes"]),
                format!(
                    "restartPolicy.ignoredExitCodes may list at most {MAX_IGNORED_EXIT_CODES} \
                     exit codes, not {}.",
                    codes.len()
                ),
            );
        }
        if let Some(period) = policy.restart_attempt_period
            && !RESTART_ATTEMPT_PERIOD.contains(&period)
        {
            context.error(
                "TD-RESTART-POLICY",
                &join(&base, &["restartAttemptPeriod"]),
                format!(
                    "restartPolicy.restartAttemptPeriod {period} must be between {} and {} \
                     seconds.",
                    RESTART_ATTEMPT_PERIOD.start(),
                    RESTART_ATTEMPT_PERIOD.end()
                ),
            );
        }
    }
}

/// Whether a GPU count is a positive integer or `ALL`.
fn gpu_count(value: &str) -> bool {
    value == "ALL" || value.parse::<u32>().is_ok_and(|count| count > 0)
}

/// TD-RESREQ-TYPES, TD-GPU-VALUE, TD-GPU-FARGATE, TD-NEURON, TD-INFACC-REF (container side).
fn resource_requirements(context: &mut Context<'_>) {
    let device_names: BTreeSet<&str> = context
        .request()
        .inference_accelerators
        .iter()
        .flatten()
        .filter_map(|accelerator| accelerator.device_name.as_deref())
        .collect();
    let fargate = context.fargate();
    let windows = context.windows();
    let external = context.requires(Compatibility::External);
    // Launch types a task definition lists that are not Managed Instances.
    let non_managed: Vec<&str> = [
        Compatibility::Ec2,
        Compatibility::Fargate,
        Compatibility::External,
    ]
    .iter()
    .filter(|target| context.requires((*target).clone()))
    .map(Compatibility::as_str)
    .collect();
    // How the first GPU container asked for GPUs: by count (false) or by sharing (true).
    let mut gpu_sharing: Option<bool> = None;
    let mut neuron_seen = false;
    for (index, container) in context.containers() {
        let c = index.to_string();
        for (requirement_index, requirement) in
            container.resource_requirements.iter().flatten().enumerate()
        {
            let r = requirement_index.to_string();
            let at = [
                "containerDefinitions",
                c.as_str(),
                "resourceRequirements",
                r.as_str(),
            ];
            let value = requirement.value.as_deref();
            let sharing = requirement.sharing_strategy.as_ref();
            let Some(kind) = &requirement.r#type else {
                context.error(
                    "TD-RESREQ-TYPES",
                    &at,
                    "A resource requirement must have a 'type'.",
                );
                continue;
            };
            if value.is_none() && !(*kind == ResourceType::Gpu && sharing.is_some()) {
                context.error(
                    "TD-RESREQ-TYPES",
                    &at,
                    format!("A {kind} resource requirement must have a 'value'."),
                );
            }
            match kind {
                ResourceType::Unknown(name) => context.error(
                    "TD-RESREQ-TYPES",
                    &join(&at, &["type"]),
                    format!(
                        "Resource requirement type '{name}' must be GPU, InferenceAccelerator or \
                         NeuronDevice."
                    ),
                ),
                ResourceType::Gpu => {
                    if fargate {
                        context.error(
                            "TD-GPU-FARGATE",
                            &join(&at, &["type"]),
                            "Tasks using the Fargate launch type do not support GPU resource \
                             requirements.",
                        );
                    } else if windows {
                        context.warning(
                            "TD-GPU-FARGATE",
                            &join(&at, &["type"]),
                            "GPU resource requirements are not supported for Windows containers.",
                        );
                    }
                    if let Some(value) = value
                        && !gpu_count(value)
                    {
                        context.error(
                            "TD-GPU-VALUE",
                            &join(&at, &["value"]),
                            format!(
                                "GPU value '{value}' must be a positive whole number or 'ALL'."
                            ),
                        );
                    }
                    if value.is_some() && sharing.is_some() {
                        context.error(
                            "TD-GPU-VALUE",
                            &join(&at, &["sharingStrategy"]),
                            "A GPU requirement gives either 'value' or 'sharingStrategy', not both.",
                        );
                    }
                    let this_sharing = sharing.is_some();
                    match gpu_sharing {
                        Some(first) if first != this_sharing => context.error(
                            "TD-GPU-VALUE",
                            &at,
                            "Every GPU container of a task must use the same option: all \
                             'value' or all 'sharingStrategy'.",
                        ),
                        Some(_) => {}
                        None => gpu_sharing = Some(this_sharing),
                    }
                    if let Some(sharing) = sharing {
                        let path = join(&at, &["sharingStrategy"]);
                        if external {
                            context.error(
                                "TD-GPU-VALUE",
                                &path,
                                "GPU sharing is not available on external (ECS Anywhere) \
                                 instances.",
                            );
                        }
                        match &sharing.nvidia_mps {
                            None => context.error(
                                "TD-GPU-VALUE",
                                &path,
                                "sharingStrategy must have 'nvidiaMps'.",
                            ),
                            Some(mps) => {
                                let mps_path = join(&path, &["nvidiaMps"]);
                                match mps.memory {
                                    None => context.error(
                                        "TD-GPU-VALUE",
                                        &mps_path,
                                        "nvidiaMps must have 'memory' (MiB, at least 1).",
                                    ),
                                    Some(memory) if memory < 1 => context.error(
                                        "TD-GPU-VALUE",
                                        &join(&mps_path, &["memory"]),
                                        format!(
                                            "nvidiaMps memory {memory} must be at least 1 MiB."
                                        ),
                                    ),
                                    Some(_) => {}
                                }
                                if let Some(percent) = mps.max_compute_percent
                                    && !MAX_COMPUTE_PERCENT.contains(&percent)
                                {
                                    context.error(
                                        "TD-GPU-VALUE",
                                        &join(&mps_path, &["maxComputePercent"]),
                                        format!(
                                            "nvidiaMps maxComputePercent {percent} must be \
                                             between 1 and 100."
                                        ),
                                    );
                                }
                            }
                        }
                    }
                }
                ResourceType::NeuronDevice => {
                    if let Some(value) = value
                        && value != "ALL"
                    {
                        context.error(
                            "TD-NEURON",
                            &join(&at, &["value"]),
                            format!("NeuronDevice value '{value}' must be 'ALL'."),
                        );
                    }
                    if neuron_seen {
                        context.error(
                            "TD-NEURON",
                            &at,
                            "Only one container per task may request NeuronDevice.",
                        );
                    }
                    neuron_seen = true;
                    if !non_managed.is_empty() {
                        // Where ECS enforces this is not documented: warn.
                        context.warning(
                            "TD-NEURON",
                            &join(&at, &["type"]),
                            format!(
                                "NeuronDevice resource requirements are supported only on \
                                 Managed Instances, not {}.",
                                non_managed.join(", ")
                            ),
                        );
                    }
                }
                ResourceType::InferenceAccelerator => {
                    if let Some(value) = value
                        && !device_names.contains(value)
                    {
                        context.error(
                            "TD-INFACC-REF",
                            &join(&at, &["value"]),
                            format!(
                                "InferenceAccelerator value '{value}' is not the deviceName of \
                                 an inferenceAccelerators entry of the task definition."
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// TD-INFACC-REF (task side).
fn inference_accelerators(context: &mut Context<'_>) {
    let Some(accelerators) = &context.request().inference_accelerators else {
        return;
    };
    if accelerators.is_empty() {
        return;
    }
    if context.fargate() {
        context.error(
            "TD-INFACC-REF",
            &["inferenceAccelerators"],
            "Fargate compatible task definitions do not support inferenceAccelerators",
        );
    } else if context.windows() {
        context.warning(
            "TD-INFACC-REF",
            &["inferenceAccelerators"],
            "inferenceAccelerators are not supported for Windows containers.",
        );
    }
    if context.requires(Compatibility::External) {
        context.error(
            "TD-EXTERNAL",
            &["inferenceAccelerators"],
            "External (ECS Anywhere) instances do not support Elastic Inference accelerators.",
        );
    }
    context.warning(
        "TD-INFACC-REF",
        &["inferenceAccelerators"],
        "Amazon Elastic Inference is closed to new customers and inferenceAccelerators is \
         deprecated.",
    );
    for (index, accelerator) in accelerators.iter().enumerate() {
        let a = index.to_string();
        for (member, present) in [
            ("deviceName", accelerator.device_name.is_some()),
            ("deviceType", accelerator.device_type.is_some()),
        ] {
            if !present {
                context.error(
                    "TD-INFACC-REF",
                    &["inferenceAccelerators", &a],
                    format!("An inference accelerator must have a '{member}'."),
                );
            }
        }
    }
}

/// TD-VERSION-CONSISTENCY.
fn version_consistency(context: &mut Context<'_>) {
    for (index, container) in context.containers() {
        if let Some(VersionConsistency::Unknown(value)) = &container.version_consistency {
            let c = index.to_string();
            context.error(
                "TD-VERSION-CONSISTENCY",
                &["containerDefinitions", &c, "versionConsistency"],
                format!("versionConsistency '{value}' must be 'enabled' or 'disabled'."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_counts() {
        for valid in ["1", "8", "ALL"] {
            assert!(gpu_count(valid), "{valid}");
        }
        for invalid in ["0", "-1", "1.5", "all", "", " 1"] {
            assert!(!gpu_count(invalid), "{invalid}");
        }
    }
}
