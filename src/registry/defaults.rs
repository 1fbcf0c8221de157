//! What ECS fills in when it stores a registered definition (taskdef-rules.md §5).

use std::collections::BTreeSet;

use crate::model::{
    Attribute, ContainerDefinition, LogDriver, NetworkMode, RegisterTaskDefinitionRequest,
    TaskDefinition, TransportProtocol, parse_task_cpu, parse_task_memory,
};

/// The stored form of `request`, without the identity members (ARN, revision, status,
/// timestamps, caller, compatibilities), which the registry sets.
///
/// - Task `cpu`/`memory` become integer strings (TD-REG-CPU-MEM-NORMALISED).
/// - Containers get ECS's defaults (TD-REG-CONTAINER-DEFAULTS): `essential` true, `cpu` 0,
///   empty `portMappings`/`environment`/`mountPoints`/`volumesFrom`/`systemControls`, port
///   `protocol` tcp, `hostPort` = `containerPort` in awsvpc and host modes, health-check
///   interval/timeout/retries 30/5/3, EFS `rootDirectory` "/".
/// - `volumes` and `placementConstraints` default to `[]`; `networkMode` stays absent when it
///   was absent (TD-NETMODE-DEFAULT).
/// - `requiresAttributes` is derived (TD-REG-REQUIRES-ATTRIBUTES), sorted by name.
pub fn registered_form(request: &RegisterTaskDefinitionRequest) -> TaskDefinition {
    let network_mode = request.network_mode.clone();
    let static_host_ports = matches!(
        network_mode,
        Some(NetworkMode::Awsvpc) | Some(NetworkMode::Host)
    );
    let containers: Vec<ContainerDefinition> = request
        .container_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|container| container_defaults(container, static_host_ports))
        .collect();
    let mut volumes = request.volumes.clone().unwrap_or_default();
    for volume in &mut volumes {
        if let Some(efs) = volume.efs_volume_configuration.as_mut() {
            efs.root_directory.get_or_insert_with(|| "/".to_string());
        }
    }
    let normalise = |value: &Option<String>, parse: fn(&str) -> Result<u32, _>| {
        value.as_deref().map(|text| {
            parse(text)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| text.to_string())
        })
    };
    TaskDefinition {
        container_definitions: Some(containers),
        family: request.family.clone(),
        task_role_arn: request.task_role_arn.clone(),
        execution_role_arn: request.execution_role_arn.clone(),
        network_mode,
        volumes: Some(volumes),
        requires_attributes: Some(requires_attributes(request)),
        placement_constraints: Some(request.placement_constraints.clone().unwrap_or_default()),
        runtime_platform: request.runtime_platform.clone(),
        requires_compatibilities: request.requires_compatibilities.clone(),
        cpu: normalise(&request.cpu, parse_task_cpu),
        memory: normalise(&request.memory, parse_task_memory),
        inference_accelerators: request.inference_accelerators.clone(),
        pid_mode: request.pid_mode.clone(),
        ipc_mode: request.ipc_mode.clone(),
        proxy_configuration: request.proxy_configuration.clone(),
        ephemeral_storage: request.ephemeral_storage.clone(),
        enable_fault_injection: request.enable_fault_injection,
        trusted_execution_configuration: request.trusted_execution_configuration.clone(),
        ..TaskDefinition::default()
    }
}

fn container_defaults(
    container: &ContainerDefinition,
    static_host_ports: bool,
) -> ContainerDefinition {
    let mut out = container.clone();
    out.essential.get_or_insert(true);
    out.cpu.get_or_insert(0);
    for mapping in out.port_mappings.get_or_insert_with(Vec::new) {
        mapping.protocol.get_or_insert(TransportProtocol::Tcp);
        if static_host_ports && mapping.host_port.is_none() {
            mapping.host_port = mapping.container_port;
        }
    }
    out.environment.get_or_insert_with(Vec::new);
    out.mount_points.get_or_insert_with(Vec::new);
    out.volumes_from.get_or_insert_with(Vec::new);
    out.system_controls.get_or_insert_with(Vec::new);
    if let Some(check) = out.health_check.as_mut() {
        check.interval.get_or_insert(30);
        check.timeout.get_or_insert(5);
        check.retries.get_or_insert(3);
    }
    out
}

const DOCKER_API: &str = "com.amazonaws.ecs.capability.docker-remote-api.";

/// The attributes an instance must have to run `request` (TD-REG-REQUIRES-ATTRIBUTES), sorted
/// by name and de-duplicated. Entries carry a name only.
pub fn requires_attributes(request: &RegisterTaskDefinitionRequest) -> Vec<Attribute> {
    let mut names = BTreeSet::new();
    let mut add = |name: String| {
        names.insert(name);
    };
    let execution_role = request.execution_role_arn.is_some();
    let network_mode = request.network_mode.as_ref();
    if request.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role".to_string());
        if network_mode == Some(&NetworkMode::Host) {
            add("com.amazonaws.ecs.capability.task-iam-role-network-host".to_string());
        }
    }
    if network_mode == Some(&NetworkMode::Awsvpc) {
        add("ecs.capability.task-eni".to_string());
    }
    if request.pid_mode.is_some() || request.ipc_mode.is_some() {
        add("ecs.capability.pid-ipc-namespace-sharing".to_string());
    }
    if request.proxy_configuration.is_some() {
        add("ecs.capability.aws-appmesh".to_string());
    }
    if request
        .inference_accelerators
        .as_ref()
        .is_some_and(|list| !list.is_empty())
    {
        add("ecs.capability.task-eia".to_string());
    }
    if request.enable_fault_injection == Some(true) {
        add("ecs.capability.fault-injection".to_string());
    }
    for volume in request.volumes.as_deref().unwrap_or_default() {
        if let Some(efs) = &volume.efs_volume_configuration {
            add("ecs.capability.efs".to_string());
            if efs.authorization_config.is_some() {
                add("ecs.capability.efsAuth".to_string());
            }
        }
        if volume
            .fsx_windows_file_server_volume_configuration
            .is_some()
        {
            add("ecs.capability.fsxWindowsFileServer".to_string());
        }
        if let Some(driver) = volume
            .docker_volume_configuration
            .as_ref()
            .and_then(|docker| docker.driver.as_deref())
            .filter(|driver| *driver != "local")
        {
            add(format!("ecs.capability.docker-plugin.{driver}"));
        }
        if volume.configured_at_launch == Some(true) {
            add("ecs.capability.storage.ebs-task-volume-attach".to_string());
        }
    }
    for container in request.container_definitions.as_deref().unwrap_or_default() {
        if let Some(log) = &container.log_configuration {
            add(format!("{DOCKER_API}1.18"));
            if log.options.is_some() {
                add(format!("{DOCKER_API}1.19"));
            }
            if let Some(driver) = &log.log_driver {
                add(format!(
                    "com.amazonaws.ecs.capability.logging-driver.{driver}"
                ));
                if *driver == LogDriver::Awslogs && execution_role {
                    add("ecs.capability.execution-role-awslogs".to_string());
                }
                if *driver == LogDriver::Awsfirelens
                    && log
                        .options
                        .as_ref()
                        .is_some_and(|options| options.contains_key("log-driver-buffer-limit"))
                {
                    add(
                        "ecs.capability.logging-driver.awsfirelens.log-driver-buffer-limit"
                            .to_string(),
                    );
                }
            }
            for secret in log.secret_options.as_deref().unwrap_or_default() {
                add(format!(
                    "ecs.capability.secrets.{}.bootstrap.log-driver",
                    secret_store(secret.value_from.as_deref())
                ));
            }
        }
        if let Some(image) = container.image.as_deref()
            && is_ecr_image(image)
        {
            add("com.amazonaws.ecs.capability.ecr-auth".to_string());
            if execution_role {
                add("ecs.capability.execution-role-ecr-pull".to_string());
            }
        }
        if let Some(check) = &container.health_check {
            add("ecs.capability.container-health-check".to_string());
            if check.start_period.is_some() {
                add(format!("{DOCKER_API}1.29"));
            }
        }
        if container.memory_reservation.is_some() {
            add(format!("{DOCKER_API}1.21"));
        }
        if container.docker_labels.is_some() || container.ulimits.is_some() {
            add(format!("{DOCKER_API}1.18"));
        }
        if container
            .linux_parameters
            .as_ref()
            .is_some_and(|linux| linux.init_process_enabled == Some(true))
        {
            add(format!("{DOCKER_API}1.25"));
        }
        if container.privileged == Some(true) {
            add("com.amazonaws.ecs.capability.privileged-container".to_string());
        }
        for option in container
            .docker_security_options
            .as_deref()
            .unwrap_or_default()
        {
            if option.starts_with("label:") {
                add("com.amazonaws.ecs.capability.selinux".to_string());
            } else if option.starts_with("apparmor:") {
                add("com.amazonaws.ecs.capability.apparmor".to_string());
            }
        }
        for secret in container.secrets.as_deref().unwrap_or_default() {
            add(format!(
                "ecs.capability.secrets.{}.environment-variables",
                secret_store(secret.value_from.as_deref())
            ));
        }
        if container.repository_credentials.is_some() {
            add("ecs.capability.private-registry-authentication.secretsmanager".to_string());
        }
        if container.depends_on.is_some()
            || container.start_timeout.is_some()
            || container.stop_timeout.is_some()
        {
            add("ecs.capability.container-ordering".to_string());
        }
        if let Some(firelens) = &container.firelens_configuration {
            if let Some(kind) = &firelens.r#type {
                add(format!("ecs.capability.firelens.{kind}"));
            }
            if let Some(file_type) = firelens
                .options
                .as_ref()
                .and_then(|options| options.get("config-file-type"))
            {
                add(format!(
                    "ecs.capability.firelens.options.config.{file_type}"
                ));
            }
        }
        if container.environment_files.is_some() {
            add("ecs.capability.env-files.s3".to_string());
        }
        if container
            .port_mappings
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|mapping| mapping.container_port_range.is_some())
        {
            add("ecs.capability.network.container-port-range".to_string());
        }
        if container.restart_policy.is_some() {
            add("ecs.capability.container-restart-policy".to_string());
        }
        for spec in container.credential_specs.as_deref().unwrap_or_default() {
            if spec.starts_with("credentialspecdomainless:") {
                add("ecs.capability.gmsa-domainless".to_string());
            } else if spec.starts_with("credentialspec:") {
                add("ecs.capability.gmsa".to_string());
            }
        }
    }
    names
        .into_iter()
        .map(|name| Attribute {
            name: Some(name),
            ..Attribute::default()
        })
        .collect()
}

/// `ssm` for Parameter Store references, `asm` for Secrets Manager ARNs.
fn secret_store(value_from: Option<&str>) -> &'static str {
    match value_from {
        Some(arn) if arn.contains(":secretsmanager:") => "asm",
        _ => "ssm",
    }
}

/// Whether an image lives in Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com/...`).
fn is_ecr_image(image: &str) -> bool {
    let registry = image.split('/').next().unwrap_or_default();
    image.contains('/') && registry.contains(".dkr.ecr.") && registry.contains(".amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FromJson;

    fn names(json: serde_json::Value) -> Vec<String> {
        let request = RegisterTaskDefinitionRequest::from_value(&json).unwrap();
        requires_attributes(&request)
            .into_iter()
            .filter_map(|a| a.name)
            .collect()
    }

    // TD-REG-REQUIRES-ATTRIBUTES: awslogs with an execution role, an ECR image, awsvpc.
    #[test]
    fn td_reg_requires_attributes_derivation() {
        let got = names(serde_json::json!({
            "family": "f", "networkMode": "awsvpc", "executionRoleArn": "arn:aws:iam::1:role/x",
            "containerDefinitions": [{
                "name": "a", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}
            }]
        }));
        assert_eq!(
            got,
            [
                "com.amazonaws.ecs.capability.docker-remote-api.1.18",
                "com.amazonaws.ecs.capability.docker-remote-api.1.19",
                "com.amazonaws.ecs.capability.ecr-auth",
                "com.amazonaws.ecs.capability.logging-driver.awslogs",
                "ecs.capability.execution-role-awslogs",
                "ecs.capability.execution-role-ecr-pull",
                "ecs.capability.task-eni",
            ]
        );
        assert!(names(serde_json::json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx"}]})).is_empty());
    }

    // TD-REG-CONTAINER-DEFAULTS and TD-REG-CPU-MEM-NORMALISED.
    #[test]
    fn td_reg_container_defaults_and_normalised_size() {
        let request = RegisterTaskDefinitionRequest::from_value(&serde_json::json!({
            "family": "f", "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2 GB",
            "containerDefinitions": [{
                "name": "a", "image": "nginx",
                "portMappings": [{"containerPort": 80}],
                "healthCheck": {"command": ["CMD", "true"]}
            }]
        }))
        .unwrap();
        let stored = serde_json::to_value(registered_form(&request)).unwrap();
        assert_eq!(stored["cpu"], "1024");
        assert_eq!(stored["memory"], "2048");
        let container = &stored["containerDefinitions"][0];
        assert_eq!(container["essential"], true);
        assert_eq!(container["cpu"], 0);
        assert_eq!(
            container["portMappings"][0],
            serde_json::json!({"containerPort": 80, "hostPort": 80, "protocol": "tcp"})
        );
        assert_eq!(container["healthCheck"]["interval"], 30);
        assert_eq!(container["environment"], serde_json::json!([]));
        assert_eq!(stored["volumes"], serde_json::json!([]));
        assert_eq!(stored["placementConstraints"], serde_json::json!([]));
    }
}
