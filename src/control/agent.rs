//! The simulated ECS agent: the attributes a current agent advertises.

/// The capability attributes a current ECS agent on `os_type` (`linux` or `windows`)
/// registers, sorted by name. An instance registered with no capability attribute at all gets
/// these (scenario-format.md, "Simulated agents"); they cover every attribute that
/// TD-REG-REQUIRES-ATTRIBUTES can require on that OS except `ecs.capability.docker-plugin.<X>`
/// for third-party volume drivers, which an instance gets only if it registers it.
pub fn default_capability_attributes(os_type: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let legacy = "com.amazonaws.ecs.capability.";
    for minor in 17..=44 {
        names.push(format!("{legacy}docker-remote-api.1.{minor}"));
    }
    let windows = os_type.eq_ignore_ascii_case("windows");
    let drivers: &[&str] = if windows {
        &["awslogs", "json-file", "none", "awsfirelens"]
    } else {
        &[
            "awsfirelens",
            "awslogs",
            "fluentd",
            "gelf",
            "journald",
            "json-file",
            "none",
            "splunk",
            "syslog",
        ]
    };
    for driver in drivers {
        names.push(format!("{legacy}logging-driver.{driver}"));
    }
    for legacy_capability in ["ecr-auth", "task-iam-role", "task-iam-role-network-host"] {
        names.push(format!("{legacy}{legacy_capability}"));
    }
    if !windows {
        for linux_only in ["privileged-container", "selinux", "apparmor"] {
            names.push(format!("{legacy}{linux_only}"));
        }
    }
    let modern: &[&str] = &[
        "aws-appmesh",
        "container-health-check",
        "container-ordering",
        "container-restart-policy",
        "efs",
        "efsAuth",
        "env-files.s3",
        "execution-role-awslogs",
        "execution-role-ecr-pull",
        "fault-injection",
        "firelens.fluentbit",
        "firelens.fluentd",
        "firelens.options.config.file",
        "firelens.options.config.s3",
        "increased-task-cpu-limit",
        "logging-driver.awsfirelens.log-driver-buffer-limit",
        "network.container-port-range",
        "pid-ipc-namespace-sharing",
        "private-registry-authentication.secretsmanager",
        "secrets.asm.bootstrap.log-driver",
        "secrets.asm.environment-variables",
        "secrets.ssm.bootstrap.log-driver",
        "secrets.ssm.environment-variables",
        "storage.ebs-task-volume-attach",
        "task-cpu-mem-limit",
        "task-eia",
        "task-eni",
        "docker-plugin.local",
    ];
    for capability in modern {
        names.push(format!("ecs.capability.{capability}"));
    }
    if windows {
        for windows_only in ["fsxWindowsFileServer", "gmsa", "gmsa-domainless"] {
            names.push(format!("ecs.capability.{windows_only}"));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Whether an attribute name is a capability attribute.
pub(crate) fn is_capability(name: &str) -> bool {
    name.starts_with("ecs.capability.") || name.starts_with("com.amazonaws.ecs.capability.")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The simulated agent covers what registration can require (TD-REG-REQUIRES-ATTRIBUTES).
    #[test]
    fn default_agent_advertises_common_requirements() {
        let linux = default_capability_attributes("linux");
        for needed in [
            "ecs.capability.task-eni",
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
            "ecs.capability.execution-role-awslogs",
            "com.amazonaws.ecs.capability.docker-remote-api.1.29",
            "ecs.capability.container-health-check",
        ] {
            assert!(linux.iter().any(|n| n == needed), "{needed}");
        }
        assert!(linux.iter().all(|n| is_capability(n)));
        assert!(
            default_capability_attributes("windows")
                .iter()
                .any(|n| n == "ecs.capability.gmsa")
        );
    }
}
