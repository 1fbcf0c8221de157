//! Task-level rules: family, size and counts, tags, launch-type targets, network mode, task cpu
//! and memory (catalogue §2.1–§2.4).
//!
//! Launch-type rules fire only for the launch types `requiresCompatibilities` lists
//! (TD-COMPAT-VALIDATE): [`Context::requires`] is the one gate.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::{Compatibility, NetworkMode, parse_task_cpu, parse_task_memory};
use crate::validate::Context;

/// TD-FAMILY-PATTERN: the longest family name.
const MAX_FAMILY_LEN: usize = 255;
/// TD-CONTAINERS-MAX: container definitions per task definition (quota, not adjustable).
const MAX_CONTAINERS: usize = 10;
/// TD-SIZE-MAX: the registered task definition's size, in bytes.
const MAX_TASK_DEFINITION_BYTES: usize = 65_536;
/// TD-TAGS-LIMITS: tags per resource, not counting `aws:` tags.
const MAX_TAGS: usize = 50;
/// TD-TAGS-LIMITS: the longest tag key, in characters.
const MAX_TAG_KEY_LEN: usize = 128;
/// TD-TAGS-LIMITS: the longest tag value, in characters.
const MAX_TAG_VALUE_LEN: usize = 256;
/// TD-TASK-CPU-RANGE-EC2: task cpu bounds on EC2 and EXTERNAL, in CPU units.
const EC2_TASK_CPU: std::ops::RangeInclusive<u32> = 128..=196_608;
/// TD-FARGATE-WINDOWS-CPU: the smallest task cpu for Windows on Fargate.
const FARGATE_WINDOWS_MIN_CPU: u32 = 1024;

/// TD-TAGS-LIMITS: the `TagKey`/`TagValue` pattern of the API model.
static TAG_PATTERN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").ok());

/// The memory values Fargate offers for one task cpu (TD-FARGATE-CPU-MEM).
#[derive(Clone, Copy, Debug)]
enum FargateMemory {
    /// Exactly these values, in MiB.
    List(&'static [u32]),
    /// `min, min + step, …, max`, in MiB.
    Steps { min: u32, max: u32, step: u32 },
}

impl FargateMemory {
    fn allows(self, memory: u32) -> bool {
        match self {
            FargateMemory::List(values) => values.contains(&memory),
            FargateMemory::Steps { min, max, step } => {
                (min..=max).contains(&memory) && (memory - min).is_multiple_of(step)
            }
        }
    }
}

/// One row of the Fargate task-size table.
#[derive(Clone, Copy, Debug)]
struct FargateSize {
    cpu: u32,
    memory: FargateMemory,
    /// Whether Windows containers on Fargate are documented for this cpu.
    windows: bool,
}

/// The Fargate task sizes (TD-FARGATE-CPU-MEM): 77 Linux pairs, 43 of them also for Windows.
///
/// The 32 vCPU row comes from AWS's cfn-lint data (PR #4668), newer than the bundled model.
const FARGATE_SIZES: &[FargateSize] = &[
    FargateSize {
        cpu: 256,
        memory: FargateMemory::List(&[512, 1024, 2048]),
        windows: false,
    },
    FargateSize {
        cpu: 512,
        memory: FargateMemory::Steps {
            min: 1024,
            max: 4096,
            step: 1024,
        },
        windows: false,
    },
    FargateSize {
        cpu: 1024,
        memory: FargateMemory::Steps {
            min: 2048,
            max: 8192,
            step: 1024,
        },
        windows: true,
    },
    FargateSize {
        cpu: 2048,
        memory: FargateMemory::Steps {
            min: 4096,
            max: 16384,
            step: 1024,
        },
        windows: true,
    },
    FargateSize {
        cpu: 4096,
        memory: FargateMemory::Steps {
            min: 8192,
            max: 30720,
            step: 1024,
        },
        windows: true,
    },
    FargateSize {
        cpu: 8192,
        memory: FargateMemory::Steps {
            min: 16384,
            max: 61440,
            step: 4096,
        },
        windows: false,
    },
    FargateSize {
        cpu: 16384,
        memory: FargateMemory::Steps {
            min: 32768,
            max: 122880,
            step: 8192,
        },
        windows: false,
    },
    FargateSize {
        cpu: 32768,
        memory: FargateMemory::List(&[61440, 122880, 249856]),
        windows: false,
    },
];

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    check_family(context);
    check_containers_count(context);
    check_size(context);
    check_tags(context);
    check_compatibilities(context);
    check_network_mode(context);
    check_task_size(context);
}

/// Whether the member at `path` (below the request body) is written in the input with a
/// non-null value. A member that is written but absent from the typed view had the wrong JSON
/// type and is already reported as TD-SHAPE, so "required" rules stay quiet about it.
pub(super) fn written(context: &Context<'_>, path: &[&str]) -> bool {
    let mut current = context.raw();
    for token in path {
        let next = match current {
            serde_json::Value::Object(map) => map.get(*token),
            serde_json::Value::Array(items) => {
                token.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return false,
        }
    }
    !current.is_null()
}

/// Whether `text` is 1 or more characters from `[A-Za-z0-9_-]` (family and container names).
pub(super) fn is_name_chars(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `text` is a template placeholder (`$$$NAME$$$`, `${NAME}`, `{{ .Name }}`,
/// `<NAME>`), as in task-definition templates that tools fill in before registering.
pub(super) fn is_placeholder(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.contains("$$$")
        || trimmed.contains("${")
        || trimmed.contains("{{")
        || (trimmed.len() > 2 && trimmed.starts_with('<') && trimmed.ends_with('>'))
}

/// Reports an error, or a warning when the offending value is a template placeholder: the
/// document is then a template, and the tool that fills it in decides the final value.
pub(super) fn error_unless_placeholder(
    context: &mut Context<'_>,
    rule: &'static str,
    path: &[&str],
    value: &str,
    message: String,
) {
    if is_placeholder(value) {
        context.warning(
            rule,
            path,
            format!(
                "{message} (It looks like a template placeholder; ECS would reject it as written.)"
            ),
        );
    } else {
        context.error(rule, path, message);
    }
}

fn check_family(context: &mut Context<'_>) {
    let family = context.request().family.as_deref();
    match family {
        None if written(context, &["family"]) => {}
        // TD-FAMILY-REQUIRED: message from aws-actions/amazon-ecs-deploy-task-definition#630.
        None => context.error(
            "TD-FAMILY-REQUIRED",
            &["family"],
            "Family can not be blank.",
        ),
        Some(family) if family.trim().is_empty() => {
            context.error(
                "TD-FAMILY-REQUIRED",
                &["family"],
                "Family can not be blank.",
            );
        }
        Some(family) => {
            let length = family.chars().count();
            if !is_name_chars(family) {
                // TD-FAMILY-PATTERN: message from aws/amazon-ecs-cli#37.
                error_unless_placeholder(
                    context,
                    "TD-FAMILY-PATTERN",
                    &["family"],
                    family,
                    "Family contains invalid characters.".to_string(),
                );
            } else if length > MAX_FAMILY_LEN {
                context.error(
                    "TD-FAMILY-PATTERN",
                    &["family"],
                    format!("Family is {length} characters long; the limit is {MAX_FAMILY_LEN}."),
                );
            }
        }
    }
}

fn check_containers_count(context: &mut Context<'_>) {
    match context.request().container_definitions.as_deref() {
        None if written(context, &["containerDefinitions"]) => {}
        None | Some([]) => context.error(
            "TD-CONTAINERS-REQUIRED",
            &["containerDefinitions"],
            "Container list cannot be empty.",
        ),
        Some(containers) if containers.len() > MAX_CONTAINERS => {
            // TD-CONTAINERS-MAX: message from aws/amazon-ecs-cli#184.
            context.error(
                "TD-CONTAINERS-MAX",
                &["containerDefinitions"],
                "Too many containers.",
            );
        }
        Some(_) => {}
    }
}

/// TD-SIZE-MAX. What ECS measures is not documented (its reported length exceeds the user's
/// file); stowplan measures the compact UTF-8 JSON of the request as written, an approximation.
fn check_size(context: &mut Context<'_>) {
    let length = serde_json::to_string(context.raw()).map_or(0, |text| text.len());
    if length > MAX_TASK_DEFINITION_BYTES {
        context.error(
            "TD-SIZE-MAX",
            &[],
            format!(
                "Actual length: '{length}'. Max allowed length is '{MAX_TASK_DEFINITION_BYTES}' bytes."
            ),
        );
    }
}

fn check_tags(context: &mut Context<'_>) {
    let Some(tags) = context.request().tags.as_deref() else {
        return;
    };
    if tags.is_empty() {
        // TD-TAGS-EMPTY-LIST [inferred]: only Terraform's source says ECS refuses an empty list
        // (and tools drop it before calling), so a warning.
        context.warning("TD-TAGS-EMPTY-LIST", &["tags"], "Tags can not be empty.");
        return;
    }
    let n_counted = tags
        .iter()
        .filter(|tag| !tag.key.as_deref().is_some_and(is_aws_reserved))
        .count();
    if n_counted > MAX_TAGS {
        context.error(
            "TD-TAGS-LIMITS",
            &["tags"],
            format!("The task definition has {n_counted} tags; the limit is {MAX_TAGS}."),
        );
    }
    let mut seen_keys = BTreeSet::new();
    for (index, tag) in tags.iter().enumerate() {
        let index = index.to_string();
        match tag.key.as_deref() {
            None if written(context, &["tags", &index, "key"]) => {}
            None | Some("") => context.error(
                "TD-TAGS-LIMITS",
                &["tags", &index, "key"],
                "A tag key must be 1 to 128 characters long; this one is empty.",
            ),
            Some(key) => {
                let length = key.chars().count();
                if length > MAX_TAG_KEY_LEN {
                    context.error(
                        "TD-TAGS-LIMITS",
                        &["tags", &index, "key"],
                        format!(
                            "Tag key is {length} characters long; the limit is {MAX_TAG_KEY_LEN}."
                        ),
                    );
                }
                if !tag_chars_ok(key) {
                    context.error(
                        "TD-TAGS-LIMITS",
                        &["tags", &index, "key"],
                        format!(
                            "Tag key '{key}' has characters outside letters, digits, spaces and _ . : / = + - @."
                        ),
                    );
                }
                if is_aws_reserved(key) {
                    context.error(
                        "TD-TAGS-AWS-PREFIX",
                        &["tags", &index, "key"],
                        format!(
                            "Tag key '{key}' begins with 'aws:', which is reserved for AWS use."
                        ),
                    );
                }
                if !seen_keys.insert(key) {
                    context.error(
                        "TD-TAGS-LIMITS",
                        &["tags", &index, "key"],
                        format!(
                            "Tag key '{key}' appears more than once; each key may appear once."
                        ),
                    );
                }
            }
        }
        if let Some(value) = tag.value.as_deref() {
            let length = value.chars().count();
            if length > MAX_TAG_VALUE_LEN {
                context.error(
                    "TD-TAGS-LIMITS",
                    &["tags", &index, "value"],
                    format!(
                        "Tag value is {length} characters long; the limit is {MAX_TAG_VALUE_LEN}."
                    ),
                );
            }
            if !tag_chars_ok(value) {
                context.error(
                    "TD-TAGS-LIMITS",
                    &["tags", &index, "value"],
                    format!(
                        "Tag value '{value}' has characters outside letters, digits, spaces and _ . : / = + - @."
                    ),
                );
            }
            // The model reserves `aws:` values too, but whether ECS refuses a user's value
            // with that prefix is not observed: a warning.
            if is_aws_reserved(value) {
                context.warning(
                    "TD-TAGS-AWS-PREFIX",
                    &["tags", &index, "value"],
                    format!(
                        "Tag value '{value}' begins with 'aws:', which is reserved for AWS use."
                    ),
                );
            }
        }
    }
}

fn is_aws_reserved(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
}

fn tag_chars_ok(text: &str) -> bool {
    TAG_PATTERN
        .as_ref()
        .is_none_or(|pattern| pattern.is_match(text))
}

fn check_compatibilities(context: &mut Context<'_>) {
    let Some(list) = context.request().requires_compatibilities.as_deref() else {
        return;
    };
    let mut seen = BTreeSet::new();
    for (index, compatibility) in list.iter().enumerate() {
        let index = index.to_string();
        if let Compatibility::Unknown(value) = compatibility {
            error_unless_placeholder(
                context,
                "TD-COMPAT-VALUES",
                &["requiresCompatibilities", &index],
                value,
                format!(
                    "'{value}' is not a launch type; requiresCompatibilities takes {}.",
                    Compatibility::VALUES.join(", ")
                ),
            );
        } else if !seen.insert(compatibility.as_str()) {
            context.warning(
                "TD-COMPAT-VALUES",
                &["requiresCompatibilities", &index],
                format!(
                    "'{}' is listed more than once in requiresCompatibilities.",
                    compatibility.as_str()
                ),
            );
        }
    }
}

fn check_network_mode(context: &mut Context<'_>) {
    let written_mode = context.request().network_mode.as_ref();
    if let Some(NetworkMode::Unknown(mode)) = written_mode {
        if mode == "default" {
            // TD-NETMODE-VALUES: the archived Developer Guide documents "default" for Windows.
            context.warning(
                "TD-NETMODE-VALUES",
                &["networkMode"],
                "Network mode 'default' is not in the API's enum; ECS documents it for Windows \
                 and it means the same as omitting networkMode.",
            );
        } else {
            error_unless_placeholder(
                context,
                "TD-NETMODE-VALUES",
                &["networkMode"],
                mode,
                format!(
                    "'{mode}' is not a network mode; networkMode takes {}.",
                    NetworkMode::VALUES.join(", ")
                ),
            );
            // Platform rules cannot judge a mode that does not exist.
            return;
        }
    }
    let mode = context.network_mode().cloned();
    let mode_name = mode
        .as_ref()
        .map_or("(omitted)", NetworkMode::as_str)
        .to_string();
    if context.fargate() && mode != Some(NetworkMode::Awsvpc) {
        // TD-NETMODE-PLATFORM: message from aws/amazon-ecs-cli#1145 (ASCII quotes, as FLOCI).
        context.error(
            "TD-NETMODE-PLATFORM",
            &["networkMode"],
            "Fargate only supports network mode 'awsvpc'.",
        );
    }
    if context.requires(Compatibility::External) && mode == Some(NetworkMode::Awsvpc) {
        // External instances never advertise ecs.capability.task-eni (AGENT-CAP), so a task
        // of this definition can never be placed on the launch type it declares.
        context.error(
            "TD-NETMODE-PLATFORM",
            &["networkMode"],
            "EXTERNAL (ECS Anywhere) does not support network mode 'awsvpc'; use bridge, host or none.",
        );
    }
    // Managed Instances' modes are TD-MI-NETMODE's (rules/platform.rs).
    if context.windows()
        && context.requires(Compatibility::Ec2)
        && matches!(
            mode,
            Some(NetworkMode::Bridge | NetworkMode::Host | NetworkMode::None)
        )
    {
        // Registration cannot know the instance is Windows; enforcement is at launch.
        context.warning(
            "TD-NETMODE-PLATFORM",
            &["networkMode"],
            format!(
                "Windows on EC2 supports only the default (NAT) network and awsvpc; this definition uses '{mode_name}'."
            ),
        );
    }
}

fn check_task_size(context: &mut Context<'_>) {
    let ec2_like =
        context.requires(Compatibility::Ec2) || context.requires(Compatibility::External);
    let cpu = read_task_cpu(context);
    let memory = read_task_memory(context);

    if let Some(Some(units)) = cpu {
        if ec2_like && !EC2_TASK_CPU.contains(&units) {
            // TD-TASK-CPU-RANGE-EC2: the message DG-CPUERR gives for an invalid task cpu.
            context.error(
                "TD-TASK-CPU-RANGE-EC2",
                &["cpu"],
                "Invalid 'cpu' setting for task.",
            );
        } else if context.request().requires_compatibilities.is_none()
            && units < *EC2_TASK_CPU.start()
        {
            context.warning(
                "TD-TASK-CPU-RANGE-EC2",
                &["cpu"],
                format!(
                    "Task cpu {units} is below 128 CPU units, the least any launch type accepts."
                ),
            );
        }
    }
    if let Some(Some(0)) = memory {
        // TD-TASK-MEMORY-EC2: any positive value is accepted.
        if ec2_like {
            context.error(
                "TD-TASK-MEMORY-EC2",
                &["memory"],
                "Invalid 'memory' setting for task.",
            );
        } else if !context.fargate() {
            context.warning(
                "TD-TASK-MEMORY-EC2",
                &["memory"],
                "Task memory 0 MiB leaves no memory for the containers.",
            );
        }
    }

    if context.fargate() {
        check_fargate_size(context, cpu, memory);
    }
}

/// The task cpu in CPU units: `None` when absent (or of the wrong JSON type), `Some(None)` when
/// written but unreadable (reported here, TD-TASK-CPU-FORMAT).
fn read_task_cpu(context: &mut Context<'_>) -> Option<Option<u32>> {
    let text = context.request().cpu.as_deref()?;
    match parse_task_cpu(text) {
        Ok(units) => {
            if text.trim().starts_with("0.") {
                // No AWS example writes a leading zero (".25 vCPU" is the documented form).
                context.warning(
                    "TD-TASK-CPU-FORMAT",
                    &["cpu"],
                    format!(
                        "Task cpu '{text}' has a leading zero AWS does not document; stowplan reads it as {units} CPU units."
                    ),
                );
            }
            Some(Some(units))
        }
        Err(_) => {
            error_unless_placeholder(
                context,
                "TD-TASK-CPU-FORMAT",
                &["cpu"],
                text,
                "Invalid 'cpu' setting for task.".to_string(),
            );
            Some(None)
        }
    }
}

/// Like [`read_task_cpu`], for task memory in MiB (TD-TASK-MEMORY-FORMAT).
fn read_task_memory(context: &mut Context<'_>) -> Option<Option<u32>> {
    let text = context.request().memory.as_deref()?;
    match parse_task_memory(text) {
        Ok(mib) => {
            if is_lenient_memory_spelling(text) {
                // AWS documents integer MiB and "GB"; "MiB", "MB" and "GiB" are read leniently
                // because a false rejection of a real definition is worse.
                context.warning(
                    "TD-TASK-MEMORY-FORMAT",
                    &["memory"],
                    format!(
                        "Task memory '{text}' uses a unit AWS does not document (integer MiB or GB); stowplan reads it as {mib} MiB."
                    ),
                );
            }
            Some(Some(mib))
        }
        Err(_) => {
            error_unless_placeholder(
                context,
                "TD-TASK-MEMORY-FORMAT",
                &["memory"],
                text,
                "Invalid 'memory' setting for task.".to_string(),
            );
            Some(None)
        }
    }
}

/// Whether a readable task memory is spelled with a unit AWS does not document: anything but
/// an integer or a number with `GB` (the model's reader also takes `MiB`, `MB` and `GiB`).
fn is_lenient_memory_spelling(text: &str) -> bool {
    let trimmed = text.trim();
    let documented = trimmed.parse::<u32>().is_ok()
        || trimmed
            .get(trimmed.len().saturating_sub(2)..)
            .is_some_and(|unit| unit.eq_ignore_ascii_case("gb"));
    !documented
}

fn check_fargate_size(
    context: &mut Context<'_>,
    cpu: Option<Option<u32>>,
    memory: Option<Option<u32>>,
) {
    if cpu.is_none() && !written(context, &["cpu"]) {
        // TD-FARGATE-CPU-REQUIRED: message from hashicorp/terraform-provider-aws#6879.
        context.error(
            "TD-FARGATE-CPU-REQUIRED",
            &["cpu"],
            "Fargate requires that 'cpu' be defined at the task level.",
        );
    }
    if memory.is_none() && !written(context, &["memory"]) {
        // TD-FARGATE-MEMORY-REQUIRED: message inferred from FLOCI, by analogy with cpu.
        context.error(
            "TD-FARGATE-MEMORY-REQUIRED",
            &["memory"],
            "Fargate requires that 'memory' be defined at the task level.",
        );
    }
    let Some(Some(cpu)) = cpu else {
        return;
    };
    let Some(size) = FARGATE_SIZES.iter().find(|size| size.cpu == cpu) else {
        // TD-FARGATE-CPU-MEM: stowplan's split of ECS's two texts (catalogue, [inferred]).
        context.error(
            "TD-FARGATE-CPU-MEM",
            &["cpu"],
            "Invalid 'cpu' setting for task.",
        );
        return;
    };
    if context.windows() && !size.windows {
        if cpu < FARGATE_WINDOWS_MIN_CPU {
            context.error(
                "TD-FARGATE-WINDOWS-CPU",
                &["cpu"],
                format!(
                    "Windows containers on Fargate need a task cpu of at least {FARGATE_WINDOWS_MIN_CPU} CPU units (1 vCPU); this one is {cpu}."
                ),
            );
            return;
        } else if cpu == 32768 {
            // The 32 vCPU size is announced as Linux-only (cfn-lint PR #4668).
            context.error(
                "TD-FARGATE-CPU-MEM",
                &["cpu"],
                "Fargate offers 32768 CPU units (32 vCPU) for Linux only, not for Windows containers.",
            );
            return;
        } else {
            // Whether 8 and 16 vCPU are offered to Windows today is open (§9, 13): a warning.
            context.warning(
                "TD-FARGATE-CPU-MEM",
                &["cpu"],
                format!(
                    "Fargate documents {cpu} CPU units for Linux only; Windows tasks are documented with 1024, 2048 or 4096."
                ),
            );
        }
    }
    if let Some(Some(memory)) = memory
        && !size.memory.allows(memory)
    {
        context.error(
            "TD-FARGATE-CPU-MEM",
            &["memory"],
            format!(
                "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
            ),
        );
    }
}
