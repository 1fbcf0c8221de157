//! Linux parameters, ulimits, security options, capabilities, privileged, sysctls, user, and
//! the members Windows containers do not support (catalogue §3.10).
//!
//! Fargate's restrictions on these members (entries of TD-FARGATE-UNSUPPORTED) are reported
//! under the more specific ids TD-LINUX-FARGATE, TD-PRIVILEGED and TD-DOCKERSECOPTS.

use crate::model::{ContainerDefinition, DeviceCgroupPermission, IpcMode, NetworkMode, UlimitName};
use crate::validate::Context;

/// Linux capabilities ECS accepts in `capabilities.add`/`drop` (MODEL `KernelCapabilities`).
const CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// tmpfs mount options ECS documents (MODEL `Tmpfs.mountOptions`); `mode=1777` and the like are
/// matched on the part before `=`.
const TMPFS_MOUNT_OPTIONS: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// IPC-namespace sysctls Docker accepts besides `fs.mqueue.*` (MODEL `SystemControl`).
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The highest `nofile` limit Fargate accepts, per the archived Developer Guide (TD-ULIMIT).
const MAX_FARGATE_NOFILE: i32 = 1_048_576;

/// The most `credentialSpecs` a container may list (TD-CREDSPECS).
const MAX_CREDENTIAL_SPECS: usize = 1;

/// The `swappiness` range (TD-LINUX-SWAP).
const SWAPPINESS: std::ops::RangeInclusive<i32> = 0..=100;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    for (index, container) in context.containers() {
        let c = index.to_string();
        ulimits(context, &c, container);
        linux_parameters(context, &c, container);
        privileged_and_security_options(context, &c, container);
        credential_specs(context, &c, container);
        system_controls(context, &c, container);
        user(context, &c, container);
        windows_container(context, &c, container);
    }
    windows_task(context);
}

/// The path `base` followed by `rest`.
fn join<'a>(base: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [base, rest].concat()
}

/// TD-ULIMIT.
fn ulimits(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    for (ulimit_index, ulimit) in container.ulimits.iter().flatten().enumerate() {
        let u = ulimit_index.to_string();
        let at = ["containerDefinitions", c, "ulimits", u.as_str()];
        match &ulimit.name {
            None => context.error("TD-ULIMIT", &at, "A ulimit must have a 'name'."),
            Some(UlimitName::Unknown(name)) => context.error(
                "TD-ULIMIT",
                &join(&at, &["name"]),
                format!(
                    "Ulimit name '{name}' is not one of {}.",
                    UlimitName::VALUES.join(", ")
                ),
            ),
            Some(_) => {}
        }
        for (member, present) in [
            ("softLimit", ulimit.soft_limit.is_some()),
            ("hardLimit", ulimit.hard_limit.is_some()),
        ] {
            if !present {
                context.error(
                    "TD-ULIMIT",
                    &at,
                    format!("A ulimit must have a '{member}'."),
                );
            }
        }
        if let (Some(soft), Some(hard)) = (ulimit.soft_limit, ulimit.hard_limit)
            && soft > hard
        {
            // Docker refuses to start the container; registration behaviour is unknown.
            context.warning(
                "TD-ULIMIT",
                &join(&at, &["softLimit"]),
                format!("Ulimit softLimit {soft} is greater than its hardLimit {hard}."),
            );
        }
        if context.fargate() && ulimit.name == Some(UlimitName::Nofile) {
            for (member, value) in [
                ("softLimit", ulimit.soft_limit),
                ("hardLimit", ulimit.hard_limit),
            ] {
                if let Some(value) = value
                    && value > MAX_FARGATE_NOFILE
                {
                    context.warning(
                        "TD-ULIMIT",
                        &join(&at, &[member]),
                        format!(
                            "Ulimit nofile {member} {value} is above Fargate's maximum of \
                             {MAX_FARGATE_NOFILE}."
                        ),
                    );
                }
            }
        }
    }
}

/// TD-LINUX-FARGATE, TD-LINUX-SWAP, TD-LINUX-TMPFS, TD-LINUX-DEVICES, TD-CAPABILITIES-VALUES.
fn linux_parameters(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let Some(linux) = &container.linux_parameters else {
        return;
    };
    let base = ["containerDefinitions", c, "linuxParameters"];
    let fargate = context.fargate();

    if fargate {
        for (member, used) in [
            (
                "devices",
                linux.devices.as_ref().is_some_and(|d| !d.is_empty()),
            ),
            ("sharedMemorySize", linux.shared_memory_size.is_some()),
            ("maxSwap", linux.max_swap.is_some()),
            ("swappiness", linux.swappiness.is_some()),
        ] {
            if used {
                context.error(
                    "TD-LINUX-FARGATE",
                    &join(&base, &[member]),
                    format!("Fargate compatible task definitions do not support {member}"),
                );
            }
        }
    }

    // TD-LINUX-SWAP.
    if let Some(max_swap) = linux.max_swap
        && max_swap < 0
    {
        context.error(
            "TD-LINUX-SWAP",
            &join(&base, &["maxSwap"]),
            format!("maxSwap {max_swap} must be 0 or a positive number of MiB."),
        );
    }
    if let Some(swappiness) = linux.swappiness {
        if !SWAPPINESS.contains(&swappiness) {
            context.error(
                "TD-LINUX-SWAP",
                &join(&base, &["swappiness"]),
                format!("swappiness {swappiness} must be between 0 and 100."),
            );
        } else if linux.max_swap.is_none() && !fargate {
            context.warning(
                "TD-LINUX-SWAP",
                &join(&base, &["swappiness"]),
                "swappiness is ignored unless maxSwap is also given.",
            );
        }
    }

    // TD-LINUX-TMPFS.
    for (tmpfs_index, tmpfs) in linux.tmpfs.iter().flatten().enumerate() {
        let t = tmpfs_index.to_string();
        let at = join(&base, &["tmpfs", &t]);
        if tmpfs.container_path.is_none() {
            context.error(
                "TD-LINUX-TMPFS",
                &at,
                "A tmpfs mount must have a 'containerPath'.",
            );
        }
        match tmpfs.size {
            None => context.error("TD-LINUX-TMPFS", &at, "A tmpfs mount must have a 'size'."),
            Some(size) if size <= 0 => context.warning(
                "TD-LINUX-TMPFS",
                &join(&at, &["size"]),
                format!("tmpfs size {size} must be a positive number of MiB."),
            ),
            Some(_) => {}
        }
        for (option_index, option) in tmpfs.mount_options.iter().flatten().enumerate() {
            let key = option.split_once('=').map_or(option.as_str(), |(k, _)| k);
            if !TMPFS_MOUNT_OPTIONS.contains(&key) {
                let o = option_index.to_string();
                context.warning(
                    "TD-LINUX-TMPFS",
                    &join(&at, &["mountOptions", &o]),
                    format!("tmpfs mount option '{option}' is not one ECS documents."),
                );
            }
        }
    }

    // TD-LINUX-DEVICES.
    for (device_index, device) in linux.devices.iter().flatten().enumerate() {
        let d = device_index.to_string();
        let at = join(&base, &["devices", &d]);
        if device
            .host_path
            .as_deref()
            .is_none_or(|path| path.trim().is_empty())
        {
            context.error("TD-LINUX-DEVICES", &at, "A device must have a 'hostPath'.");
        }
        for (permission_index, permission) in device.permissions.iter().flatten().enumerate() {
            if let DeviceCgroupPermission::Unknown(name) = permission {
                let p = permission_index.to_string();
                context.error(
                    "TD-LINUX-DEVICES",
                    &join(&at, &["permissions", &p]),
                    format!("Device permission '{name}' must be 'read', 'write' or 'mknod'."),
                );
            }
        }
    }

    // TD-CAPABILITIES-VALUES, and TD-LINUX-FARGATE for capabilities.add.
    if let Some(capabilities) = &linux.capabilities {
        for (member, list) in [
            ("add", capabilities.add.as_ref()),
            ("drop", capabilities.drop.as_ref()),
        ] {
            for (capability_index, capability) in list.into_iter().flatten().enumerate() {
                let k = capability_index.to_string();
                let at = join(&base, &["capabilities", member, &k]);
                let canonical = capability
                    .strip_prefix("CAP_")
                    .unwrap_or(capability)
                    .to_ascii_uppercase();
                if !CAPABILITIES.contains(&capability.as_str()) {
                    if CAPABILITIES.contains(&canonical.as_str()) {
                        context.warning(
                            "TD-CAPABILITIES-VALUES",
                            &at,
                            format!(
                                "Capability '{capability}' is written '{canonical}' in ECS task \
                                 definitions."
                            ),
                        );
                    } else {
                        context.error(
                            "TD-CAPABILITIES-VALUES",
                            &at,
                            format!("'{capability}' is not a Linux capability ECS accepts."),
                        );
                    }
                }
                if fargate && member == "add" && canonical != "SYS_PTRACE" {
                    context.error(
                        "TD-LINUX-FARGATE",
                        &at,
                        format!(
                            "Fargate compatible task definitions only support adding the \
                             SYS_PTRACE capability, not '{capability}'."
                        ),
                    );
                }
            }
        }
    }
}

/// TD-PRIVILEGED, TD-DOCKERSECOPTS.
fn privileged_and_security_options(
    context: &mut Context<'_>,
    c: &str,
    container: &ContainerDefinition,
) {
    if context.fargate() && container.privileged == Some(true) {
        context.error(
            "TD-PRIVILEGED",
            &["containerDefinitions", c, "privileged"],
            "Fargate compatible task definitions do not support privileged",
        );
    }
    let Some(options) = &container.docker_security_options else {
        return;
    };
    if context.fargate() && !options.is_empty() {
        context.error(
            "TD-DOCKERSECOPTS",
            &["containerDefinitions", c, "dockerSecurityOptions"],
            "Fargate compatible task definitions do not support dockerSecurityOptions",
        );
    }
    for (option_index, option) in options.iter().enumerate() {
        let known = option == "no-new-privileges"
            || ["apparmor:", "label:", "credentialspec:"]
                .iter()
                .any(|prefix| option.len() > prefix.len() && option.starts_with(prefix));
        if !known {
            let o = option_index.to_string();
            context.warning(
                "TD-DOCKERSECOPTS",
                &["containerDefinitions", c, "dockerSecurityOptions", &o],
                format!(
                    "Docker security option '{option}' is not one of 'no-new-privileges', \
                     'apparmor:PROFILE', 'label:value' or 'credentialspec:...'."
                ),
            );
        }
    }
}

/// TD-CREDSPECS.
fn credential_specs(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let Some(specs) = &container.credential_specs else {
        return;
    };
    if specs.len() > MAX_CREDENTIAL_SPECS {
        context.error(
            "TD-CREDSPECS",
            &["containerDefinitions", c, "credentialSpecs"],
            format!(
                "credentialSpecs may hold at most {MAX_CREDENTIAL_SPECS} ARN, not {}.",
                specs.len()
            ),
        );
    }
    for (spec_index, spec) in specs.iter().enumerate() {
        let arn = spec
            .strip_prefix("credentialspecdomainless:")
            .or_else(|| spec.strip_prefix("credentialspec:"));
        if arn.is_none_or(str::is_empty) {
            let s = spec_index.to_string();
            context.error(
                "TD-CREDSPECS",
                &["containerDefinitions", c, "credentialSpecs", &s],
                format!(
                    "Credential spec '{spec}' must start with 'credentialspec:' or \
                     'credentialspecdomainless:' followed by an ARN."
                ),
            );
        }
    }
}

/// TD-SYSCTL.
fn system_controls(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let ipc_host = context.request().ipc_mode == Some(IpcMode::Host);
    let network_host = context.network_mode() == Some(&NetworkMode::Host);
    for (control_index, control) in container.system_controls.iter().flatten().enumerate() {
        let s = control_index.to_string();
        let at = ["containerDefinitions", c, "systemControls", s.as_str()];
        let Some(namespace) = control.namespace.as_deref() else {
            context.warning("TD-SYSCTL", &at, "A system control has no 'namespace'.");
            continue;
        };
        let ipc = IPC_SYSCTLS.contains(&namespace) || namespace.starts_with("fs.mqueue.");
        let network = namespace.starts_with("net.");
        let path = join(&at, &["namespace"]);
        if !ipc && !network {
            context.error(
                "TD-SYSCTL",
                &path,
                format!(
                    "System control '{namespace}' is not a namespaced sysctl ECS supports (the \
                     IPC ones kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, \
                     kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced and \
                     fs.mqueue.*, or net.*)."
                ),
            );
        } else if ipc && ipc_host {
            context.warning(
                "TD-SYSCTL",
                &path,
                format!("IPC system control '{namespace}' is not supported with ipcMode 'host'."),
            );
        } else if network && network_host {
            context.warning(
                "TD-SYSCTL",
                &path,
                format!(
                    "Network system control '{namespace}' is not supported with networkMode \
                     'host'."
                ),
            );
        }
    }
}

/// Whether one side of a `user` value is a name or a non-negative numeric id.
fn user_part(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('-')
        && part
            .chars()
            .all(|ch| ch.is_alphanumeric() || matches!(ch, '_' | '-' | '.' | '$' | '@'))
}

/// TD-USER-FORMAT.
fn user(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let Some(user) = container.user.as_deref() else {
        return;
    };
    let valid = match user.split_once(':') {
        Some((name, group)) => user_part(name) && user_part(group),
        None => user_part(user),
    };
    if !valid {
        context.warning(
            "TD-USER-FORMAT",
            &["containerDefinitions", c, "user"],
            format!(
                "user '{user}' must be one of user, user:group, uid, uid:gid, user:gid or \
                 uid:group, with non-negative numeric ids."
            ),
        );
    }
}

/// Reports `member` as unsupported for Windows: an error on Fargate, else a warning (whether
/// ECS rejects it at registration on EC2 is not known, catalogue §9 question 16).
fn windows_unsupported(context: &mut Context<'_>, path: &[&str], member: &str) {
    let message = format!("{member} is not supported for Windows containers.");
    if context.fargate() {
        context.error("TD-WINDOWS-UNSUPPORTED", path, message);
    } else {
        context.warning("TD-WINDOWS-UNSUPPORTED", path, message);
    }
}

/// TD-WINDOWS-UNSUPPORTED for container members (`memoryReservation` is TD-CD-WINDOWS-MEMRES).
fn windows_container(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    if !context.windows() {
        return;
    }
    let non_empty = |list: Option<usize>| list.is_some_and(|n| n > 0);
    for (member, used) in [
        ("links", non_empty(container.links.as_ref().map(Vec::len))),
        ("user", container.user.is_some()),
        (
            "disableNetworking",
            container.disable_networking == Some(true),
        ),
        ("privileged", container.privileged == Some(true)),
        (
            "readonlyRootFilesystem",
            container.readonly_root_filesystem == Some(true),
        ),
        (
            "dnsServers",
            non_empty(container.dns_servers.as_ref().map(Vec::len)),
        ),
        (
            "dnsSearchDomains",
            non_empty(container.dns_search_domains.as_ref().map(Vec::len)),
        ),
        (
            "extraHosts",
            non_empty(container.extra_hosts.as_ref().map(Vec::len)),
        ),
        (
            "ulimits",
            non_empty(container.ulimits.as_ref().map(Vec::len)),
        ),
        ("linuxParameters", container.linux_parameters.is_some()),
        (
            "systemControls",
            non_empty(container.system_controls.as_ref().map(Vec::len)),
        ),
    ] {
        if used {
            windows_unsupported(context, &["containerDefinitions", c, member], member);
        }
    }
    // Only older documentation lists environmentFiles, so this stays a warning everywhere.
    if non_empty(container.environment_files.as_ref().map(Vec::len)) {
        context.warning(
            "TD-WINDOWS-UNSUPPORTED",
            &["containerDefinitions", c, "environmentFiles"],
            "environmentFiles are not supported for Windows containers (per older AWS \
             documentation).",
        );
    }
}

/// TD-WINDOWS-UNSUPPORTED for task-level members.
fn windows_task(context: &mut Context<'_>) {
    if !context.windows() {
        return;
    }
    let request = context.request();
    for (member, used) in [
        ("pidMode", request.pid_mode.is_some()),
        ("ipcMode", request.ipc_mode.is_some()),
        ("proxyConfiguration", request.proxy_configuration.is_some()),
    ] {
        if used {
            windows_unsupported(context, &[member], member);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_parts() {
        for valid in ["root", "1000", "0", "www-data", "svc.app", "nginx$"] {
            assert!(user_part(valid), "{valid}");
        }
        for invalid in ["", "-1", "a b", "a/b"] {
            assert!(!user_part(invalid), "{invalid}");
        }
    }
}
