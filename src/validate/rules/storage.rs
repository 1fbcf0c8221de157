//! Storage: mount points and `volumesFrom` (catalogue §3.8) and task volumes (§4.5).
//!
//! Fargate's volume restrictions are reported as TD-VOL-FARGATE, the more specific id for the
//! `host.sourcePath` and `dockerVolumeConfiguration` entries of TD-FARGATE-UNSUPPORTED.

use std::collections::BTreeSet;

use crate::model::{EFSAuthorizationConfigIAM, EFSTransitEncryption, OSFamily, Scope, Volume};
use crate::validate::Context;

/// The longest volume name ECS accepts (TD-VOL-NAME).
const MAX_VOLUME_NAME: usize = 255;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    mount_points(context);
    volumes_from(context);
    volumes(context);
}

/// TD-MOUNT-VOLUME-EXISTS, TD-MOUNT-FIELDS.
fn mount_points(context: &mut Context<'_>) {
    let declared: BTreeSet<&str> = context
        .request()
        .volumes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|volume| volume.name.as_deref())
        .collect();
    for (index, container) in context.containers() {
        let c = index.to_string();
        for (mount_index, mount) in container.mount_points.iter().flatten().enumerate() {
            let m = mount_index.to_string();
            match mount.source_volume.as_deref() {
                None => context.error(
                    "TD-MOUNT-VOLUME-EXISTS",
                    &["containerDefinitions", &c, "mountPoints", &m],
                    "Unknown volume 'null'.",
                ),
                Some(name) if !declared.contains(name) => context.error(
                    "TD-MOUNT-VOLUME-EXISTS",
                    &[
                        "containerDefinitions",
                        &c,
                        "mountPoints",
                        &m,
                        "sourceVolume",
                    ],
                    format!("Unknown volume '{name}'."),
                ),
                Some(_) => {}
            }
            match mount.container_path.as_deref() {
                None => context.error(
                    "TD-MOUNT-FIELDS",
                    &["containerDefinitions", &c, "mountPoints", &m],
                    "Mount point has no 'containerPath'; it is required for every mount point.",
                ),
                Some(path) if path.trim().is_empty() => context.error(
                    "TD-MOUNT-FIELDS",
                    &[
                        "containerDefinitions",
                        &c,
                        "mountPoints",
                        &m,
                        "containerPath",
                    ],
                    "Mount point 'containerPath' is blank; it must name a path in the container.",
                ),
                Some(_) => {}
            }
        }
    }
}

/// TD-VOLUMESFROM-SOURCE.
fn volumes_from(context: &mut Context<'_>) {
    let names: BTreeSet<&str> = context
        .containers()
        .filter_map(|(_, container)| container.name.as_deref())
        .collect();
    for (index, container) in context.containers() {
        let c = index.to_string();
        for (from_index, from) in container.volumes_from.iter().flatten().enumerate() {
            let f = from_index.to_string();
            match from.source_container.as_deref() {
                None => context.error(
                    "TD-VOLUMESFROM-SOURCE",
                    &["containerDefinitions", &c, "volumesFrom", &f],
                    "volumesFrom entry has no 'sourceContainer'; it must name another container \
                     of the task.",
                ),
                Some(source) if container.name.as_deref() == Some(source) => context.error(
                    "TD-VOLUMESFROM-SOURCE",
                    &[
                        "containerDefinitions",
                        &c,
                        "volumesFrom",
                        &f,
                        "sourceContainer",
                    ],
                    format!(
                        "volumesFrom sourceContainer '{source}' is the container itself; it must \
                         name another container of the task."
                    ),
                ),
                Some(source) if !names.contains(source) => context.error(
                    "TD-VOLUMESFROM-SOURCE",
                    &[
                        "containerDefinitions",
                        &c,
                        "volumesFrom",
                        &f,
                        "sourceContainer",
                    ],
                    format!(
                        "volumesFrom sourceContainer '{source}' is not a container of this task \
                         definition."
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The volume kinds a volume sets, by member name (TD-VOL-ONE-KIND).
fn kinds(volume: &Volume) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if volume.host.is_some() {
        kinds.push("host");
    }
    if volume.docker_volume_configuration.is_some() {
        kinds.push("dockerVolumeConfiguration");
    }
    if volume.efs_volume_configuration.is_some() {
        kinds.push("efsVolumeConfiguration");
    }
    if volume.s3files_volume_configuration.is_some() {
        kinds.push("s3filesVolumeConfiguration");
    }
    if volume
        .fsx_windows_file_server_volume_configuration
        .is_some()
    {
        kinds.push("fsxWindowsFileServerVolumeConfiguration");
    }
    if volume.configured_at_launch == Some(true) {
        kinds.push("configuredAtLaunch");
    }
    kinds
}

/// Whether `name` is 1–255 characters from `[A-Za-z0-9_-]` (TD-VOL-NAME).
fn valid_volume_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_VOLUME_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The path `base` followed by `rest`.
fn join<'a>(base: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [base, rest].concat()
}

/// Whether a root directory is the file system root, as an access point requires.
fn root_or_absent(root_directory: Option<&str>) -> bool {
    matches!(root_directory, None | Some("/"))
}

/// TD-VOL-*.
fn volumes(context: &mut Context<'_>) {
    let request = context.request();
    let fargate = context.fargate();
    let windows = context.windows();
    let linux_declared = request
        .runtime_platform
        .as_ref()
        .and_then(|platform| platform.operating_system_family.as_ref())
        == Some(&OSFamily::Linux);
    let has_task_role = request
        .task_role_arn
        .as_deref()
        .is_some_and(|role| !role.trim().is_empty());
    let mut seen_names = BTreeSet::new();
    let mut configured_at_launch_seen = false;
    for (index, volume) in request.volumes.iter().flatten().enumerate() {
        let v = index.to_string();
        let label = volume.name.as_deref().unwrap_or("(unnamed)");

        // TD-VOL-ONE-KIND: the second and later kinds are the offending members.
        let kinds = kinds(volume);
        for extra_kind in kinds.iter().skip(1) {
            context.error(
                "TD-VOL-ONE-KIND",
                &["volumes", &v, extra_kind],
                format!(
                    "Volume '{label}' sets both '{}' and '{extra_kind}'; a volume may specify at \
                     most one kind.",
                    kinds[0]
                ),
            );
        }

        // TD-VOL-NAME.
        match volume.name.as_deref() {
            Some(name) => {
                if !valid_volume_name(name) {
                    context.error(
                        "TD-VOL-NAME",
                        &["volumes", &v, "name"],
                        format!(
                            "Volume name '{name}' must be 1 to {MAX_VOLUME_NAME} letters, digits, \
                             hyphens and underscores."
                        ),
                    );
                } else if !seen_names.insert(name) {
                    context.error(
                        "TD-VOL-NAME",
                        &["volumes", &v, "name"],
                        format!("Volume name '{name}' is declared more than once."),
                    );
                }
            }
            None => {
                if let Some(kind) = kinds.iter().find(|kind| {
                    matches!(
                        **kind,
                        "efsVolumeConfiguration"
                            | "s3filesVolumeConfiguration"
                            | "configuredAtLaunch"
                    )
                }) {
                    context.error(
                        "TD-VOL-NAME",
                        &["volumes", &v],
                        format!("A volume with '{kind}' must have a 'name'."),
                    );
                }
            }
        }

        // TD-VOL-HOST-EMPTY-SOURCE, TD-VOL-FARGATE (sourcePath).
        if let Some(source_path) = volume.host.as_ref().and_then(|h| h.source_path.as_deref()) {
            if source_path.is_empty() {
                // Observed text (aws/amazon-ecs-cli#11); an absent sourcePath is valid.
                context.error(
                    "TD-VOL-HOST-EMPTY-SOURCE",
                    &["volumes", &v, "host", "sourcePath"],
                    "host.sourcePath should not be blank.",
                );
            } else if fargate {
                // Observed text (cloudposse/terraform-aws-ecs-alb-service-task#174).
                context.error(
                    "TD-VOL-FARGATE",
                    &["volumes", &v, "host", "sourcePath"],
                    "Fargate compatible task definitions do not support sourcePath",
                );
            }
        }

        // TD-VOL-DOCKER, TD-VOL-FARGATE (dockerVolumeConfiguration).
        if let Some(docker) = &volume.docker_volume_configuration {
            if fargate {
                context.error(
                    "TD-VOL-FARGATE",
                    &["volumes", &v, "dockerVolumeConfiguration"],
                    "Fargate compatible task definitions do not support dockerVolumeConfiguration",
                );
            }
            match &docker.scope {
                Some(Scope::Unknown(scope)) => context.error(
                    "TD-VOL-DOCKER",
                    &["volumes", &v, "dockerVolumeConfiguration", "scope"],
                    format!("Docker volume scope '{scope}' must be 'task' or 'shared'."),
                ),
                Some(Scope::Task) if docker.autoprovision == Some(true) => context.error(
                    "TD-VOL-DOCKER",
                    &["volumes", &v, "dockerVolumeConfiguration", "autoprovision"],
                    "Docker volume 'autoprovision' is only allowed with scope 'shared', not 'task'.",
                ),
                // The stored default scope is undocumented ('task' is likely), so only warn.
                None if docker.autoprovision == Some(true) => context.warning(
                    "TD-VOL-DOCKER",
                    &["volumes", &v, "dockerVolumeConfiguration", "autoprovision"],
                    "Docker volume 'autoprovision' is only allowed with scope 'shared'; give \
                     'scope': 'shared' explicitly.",
                ),
                _ => {}
            }
            if windows
                && let Some(driver) = docker.driver.as_deref()
                && driver != "local"
            {
                context.warning(
                    "TD-VOL-DOCKER",
                    &["volumes", &v, "dockerVolumeConfiguration", "driver"],
                    format!(
                        "Docker volume driver '{driver}' is not supported for Windows containers; \
                         only 'local' is."
                    ),
                );
            }
        }

        // TD-VOL-EFS.
        if let Some(efs) = &volume.efs_volume_configuration {
            let base = ["volumes", v.as_str(), "efsVolumeConfiguration"];
            if efs
                .file_system_id
                .as_deref()
                .is_none_or(|id| id.trim().is_empty())
            {
                context.error(
                    "TD-VOL-EFS",
                    &base,
                    format!("EFS volume '{label}' must have a 'fileSystemId'."),
                );
            }
            if let Some(EFSTransitEncryption::Unknown(value)) = &efs.transit_encryption {
                context.error(
                    "TD-VOL-EFS",
                    &join(&base, &["transitEncryption"]),
                    format!("EFS transitEncryption '{value}' must be 'ENABLED' or 'DISABLED'."),
                );
            }
            let authorization = efs.authorization_config.as_ref();
            let iam = authorization.and_then(|a| a.iam.as_ref());
            if let Some(EFSAuthorizationConfigIAM::Unknown(value)) = iam {
                context.error(
                    "TD-VOL-EFS",
                    &join(&base, &["authorizationConfig", "iam"]),
                    format!(
                        "EFS authorizationConfig.iam '{value}' must be 'ENABLED' or 'DISABLED'."
                    ),
                );
            }
            let access_point = authorization
                .and_then(|a| a.access_point_id.as_deref())
                .filter(|id| !id.is_empty());
            let iam_enabled = iam == Some(&EFSAuthorizationConfigIAM::Enabled);
            if (iam_enabled || access_point.is_some())
                && efs.transit_encryption != Some(EFSTransitEncryption::Enabled)
            {
                let why = if iam_enabled {
                    "IAM authorization is enabled"
                } else {
                    "an access point is given"
                };
                let path = if efs.transit_encryption.is_some() {
                    join(&base, &["transitEncryption"])
                } else {
                    base.to_vec()
                };
                context.error(
                    "TD-VOL-EFS",
                    &path,
                    format!(
                        "EFS volume '{label}' must set transitEncryption to 'ENABLED' because {why}."
                    ),
                );
            }
            if access_point.is_some() && !root_or_absent(efs.root_directory.as_deref()) {
                context.error(
                    "TD-VOL-EFS",
                    &join(&base, &["rootDirectory"]),
                    format!(
                        "EFS volume '{label}' uses an access point, so rootDirectory must be \
                         omitted or '/', not '{}'.",
                        efs.root_directory.as_deref().unwrap_or_default()
                    ),
                );
            }
            if let Some(port) = efs.transit_encryption_port
                && !(0..=65535).contains(&port)
            {
                context.error(
                    "TD-VOL-EFS",
                    &join(&base, &["transitEncryptionPort"]),
                    format!("EFS transitEncryptionPort {port} is not a port number (0 to 65535)."),
                );
            }
            if iam_enabled && !has_task_role {
                context.warning(
                    "TD-VOL-EFS",
                    &join(&base, &["authorizationConfig", "iam"]),
                    format!(
                        "EFS volume '{label}' uses IAM authorization, which uses the task role, \
                         but the task definition has no taskRoleArn."
                    ),
                );
            }
        }

        // TD-VOL-FSX.
        if let Some(fsx) = &volume.fsx_windows_file_server_volume_configuration {
            let base = [
                "volumes",
                v.as_str(),
                "fsxWindowsFileServerVolumeConfiguration",
            ];
            for (member, present) in [
                ("fileSystemId", fsx.file_system_id.is_some()),
                ("rootDirectory", fsx.root_directory.is_some()),
                ("authorizationConfig", fsx.authorization_config.is_some()),
            ] {
                if !present {
                    context.error(
                        "TD-VOL-FSX",
                        &base,
                        format!(
                            "FSx for Windows File Server volume '{label}' must have '{member}'."
                        ),
                    );
                }
            }
            if let Some(authorization) = &fsx.authorization_config {
                for (member, present) in [
                    (
                        "credentialsParameter",
                        authorization.credentials_parameter.is_some(),
                    ),
                    ("domain", authorization.domain.is_some()),
                ] {
                    if !present {
                        context.error(
                            "TD-VOL-FSX",
                            &join(&base, &["authorizationConfig"]),
                            format!(
                                "FSx for Windows File Server volume '{label}' must have \
                                 authorizationConfig.{member}."
                            ),
                        );
                    }
                }
            }
            if linux_declared {
                context.warning(
                    "TD-VOL-FSX",
                    &base,
                    format!(
                        "FSx for Windows File Server volume '{label}' is only supported for \
                         Windows containers, but runtimePlatform is LINUX."
                    ),
                );
            }
        }

        // TD-VOL-S3FILES.
        if let Some(s3files) = &volume.s3files_volume_configuration {
            let base = ["volumes", v.as_str(), "s3filesVolumeConfiguration"];
            if s3files.file_system_arn.is_none() {
                context.error(
                    "TD-VOL-S3FILES",
                    &base,
                    format!("S3 Files volume '{label}' must have a 'fileSystemArn'."),
                );
            }
            if s3files.access_point_arn.is_some()
                && !root_or_absent(s3files.root_directory.as_deref())
            {
                context.error(
                    "TD-VOL-S3FILES",
                    &join(&base, &["rootDirectory"]),
                    format!(
                        "S3 Files volume '{label}' uses an access point, so rootDirectory must \
                         be omitted or '/'."
                    ),
                );
            }
            if !has_task_role {
                context.error(
                    "TD-VOL-S3FILES",
                    &base,
                    format!(
                        "S3 Files volume '{label}' needs the task definition to have a taskRoleArn."
                    ),
                );
            }
        }

        // TD-VOL-CONFIGURED-AT-LAUNCH.
        if volume.configured_at_launch == Some(true) {
            if configured_at_launch_seen {
                context.error(
                    "TD-VOL-CONFIGURED-AT-LAUNCH",
                    &["volumes", &v, "configuredAtLaunch"],
                    format!(
                        "Volume '{label}' is the second volume with configuredAtLaunch; at most \
                         one volume per task definition may set it."
                    ),
                );
            }
            configured_at_launch_seen = true;
        }
    }
}
