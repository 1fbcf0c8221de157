//! Logging, secrets and the execution role (catalogue §3.9), and the Managed Instances log
//! drivers (TD-MI-LOGDRIVERS, §4.8).
//!
//! Fargate's log-driver restriction (an entry of TD-FARGATE-UNSUPPORTED) is reported as
//! TD-LOG-DRIVER, the more specific id.

use crate::model::{
    Compatibility, ContainerDefinition, EnvironmentFileType, FirelensConfigurationType, LogDriver,
    Secret,
};
use crate::validate::Context;

/// The most `environmentFiles` a container may list (TD-ENVFILES).
const MAX_ENVIRONMENT_FILES: usize = 10;

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    let has_firelens_router = context
        .containers()
        .any(|(_, container)| container.firelens_configuration.is_some());
    for (index, container) in context.containers() {
        let c = index.to_string();
        log_configuration(context, &c, container, has_firelens_router);
        secrets(context, &c, container);
        execution_role(context, &c, container);
        environment_files(context, &c, container);
        firelens(context, &c, container);
    }
}

/// TD-LOG-DRIVER, TD-MI-LOGDRIVERS, TD-LOG-AWSLOGS-OPTIONS.
fn log_configuration(
    context: &mut Context<'_>,
    c: &str,
    container: &ContainerDefinition,
    has_firelens_router: bool,
) {
    let Some(log) = &container.log_configuration else {
        return;
    };
    let path = ["containerDefinitions", c, "logConfiguration", "logDriver"];
    let Some(driver) = &log.log_driver else {
        context.error(
            "TD-LOG-DRIVER",
            &path[..3],
            "logConfiguration must have a 'logDriver'.",
        );
        return;
    };
    if let LogDriver::Unknown(name) = driver {
        context.error(
            "TD-LOG-DRIVER",
            &path,
            format!(
                "Log driver '{name}' is not one of {}.",
                LogDriver::VALUES.join(", ")
            ),
        );
        return;
    }
    if context.fargate()
        && !matches!(
            driver,
            LogDriver::Awslogs | LogDriver::Splunk | LogDriver::Awsfirelens
        )
    {
        context.error(
            "TD-LOG-DRIVER",
            &path,
            format!(
                "Fargate compatible task definitions do not support log driver '{driver}'; use \
                 awslogs, splunk or awsfirelens."
            ),
        );
    }
    if context.requires(Compatibility::ManagedInstances)
        && !matches!(
            driver,
            LogDriver::Awslogs | LogDriver::Splunk | LogDriver::Awsfirelens | LogDriver::JsonFile
        )
    {
        context.error(
            "TD-MI-LOGDRIVERS",
            &path,
            format!(
                "Managed Instances do not support log driver '{driver}'; use awslogs, splunk, \
                 awsfirelens or json-file."
            ),
        );
    }
    // TD-FIRELENS [inferred]: the awsfirelens driver routes to a FireLens container of the task.
    if *driver == LogDriver::Awsfirelens && !has_firelens_router {
        context.warning(
            "TD-FIRELENS",
            &path,
            "Log driver 'awsfirelens' needs a container with a firelensConfiguration (a log \
             router) in the same task definition.",
        );
    }
    if *driver == LogDriver::Awslogs {
        awslogs_options(context, c, log.options.as_ref());
    }
}

/// TD-LOG-AWSLOGS-OPTIONS: enforced when the container starts, so every finding is a warning.
fn awslogs_options(
    context: &mut Context<'_>,
    c: &str,
    options: Option<&indexmap::IndexMap<String, String>>,
) {
    let base = ["containerDefinitions", c, "logConfiguration"];
    let option = |name: &str| options.and_then(|options| options.get(name));
    let options_path: Vec<&str> = if options.is_some() {
        [&base[..], &["options"]].concat()
    } else {
        base.to_vec()
    };
    for required in ["awslogs-group", "awslogs-region"] {
        if option(required).is_none() {
            context.warning(
                "TD-LOG-AWSLOGS-OPTIONS",
                &options_path,
                format!("The awslogs log driver needs the option '{required}'."),
            );
        }
    }
    // Missing awslogs-stream-prefix elsewhere is TD-LINT-AWSLOGS-NO-PREFIX.
    if context.fargate() && option("awslogs-stream-prefix").is_none() {
        context.warning(
            "TD-LOG-AWSLOGS-OPTIONS",
            &options_path,
            "The awslogs log driver needs the option 'awslogs-stream-prefix' on Fargate.",
        );
    }
    if option("awslogs-datetime-format").is_some() && option("awslogs-multiline-pattern").is_some()
    {
        context.warning(
            "TD-LOG-AWSLOGS-OPTIONS",
            &[&base[..], &["options", "awslogs-multiline-pattern"]].concat(),
            "The awslogs options 'awslogs-datetime-format' and 'awslogs-multiline-pattern' are \
             mutually exclusive.",
        );
    }
    if let Some(mode) = option("mode")
        && mode != "blocking"
        && mode != "non-blocking"
    {
        context.warning(
            "TD-LOG-AWSLOGS-OPTIONS",
            &[&base[..], &["options", "mode"]].concat(),
            format!(
                "The awslogs option 'mode' is '{mode}'; it must be 'blocking' or 'non-blocking'."
            ),
        );
    }
}

/// TD-SECRETS-SHAPE for `secrets` and `logConfiguration.secretOptions`.
fn secrets(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let lists: [(Vec<&str>, Option<&Vec<Secret>>); 2] = [
        (
            vec!["containerDefinitions", c, "secrets"],
            container.secrets.as_ref(),
        ),
        (
            vec![
                "containerDefinitions",
                c,
                "logConfiguration",
                "secretOptions",
            ],
            container
                .log_configuration
                .as_ref()
                .and_then(|log| log.secret_options.as_ref()),
        ),
    ];
    for (base, list) in lists {
        for (secret_index, secret) in list.into_iter().flatten().enumerate() {
            let s = secret_index.to_string();
            let at = [&base[..], &[s.as_str()]].concat();
            match secret.name.as_deref() {
                None => context.error("TD-SECRETS-SHAPE", &at, "A secret must have a 'name'."),
                Some(name) if name.trim().is_empty() => context.error(
                    "TD-SECRETS-SHAPE",
                    &[&at[..], &["name"]].concat(),
                    "A secret's 'name' must not be blank.",
                ),
                Some(_) => {}
            }
            match secret.value_from.as_deref() {
                None => context.error("TD-SECRETS-SHAPE", &at, "A secret must have a 'valueFrom'."),
                Some(value) if value.trim().is_empty() => context.error(
                    "TD-SECRETS-SHAPE",
                    &[&at[..], &["valueFrom"]].concat(),
                    "A secret's 'valueFrom' must not be blank.",
                ),
                Some(value) if !secret_reference(value) => context.warning(
                    "TD-SECRETS-SHAPE",
                    &[&at[..], &["valueFrom"]].concat(),
                    format!(
                        "Secret valueFrom '{value}' is neither a Secrets Manager secret ARN nor an \
                         SSM parameter ARN or name."
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// Whether `value` can name a secret: a Secrets Manager or SSM ARN, or a bare parameter name
/// (same-Region SSM parameters).
fn secret_reference(value: &str) -> bool {
    if !value.starts_with("arn:") {
        return true;
    }
    let mut parts = value.splitn(6, ':');
    let service = parts.nth(2).unwrap_or_default();
    let resource = parts.nth(2).unwrap_or_default();
    matches!(service, "secretsmanager" | "ssm") && !resource.is_empty()
}

/// Whether `image` is in a private Amazon ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`).
fn private_ecr(image: &str) -> bool {
    let Some((registry, _)) = image.split_once('/') else {
        return false;
    };
    registry.contains(".dkr.ecr")
        && (registry.ends_with(".amazonaws.com") || registry.ends_with(".amazonaws.com.cn"))
}

/// TD-EXECROLE-REQUIRED.
fn execution_role(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let has_role = context
        .request()
        .execution_role_arn
        .as_deref()
        .is_some_and(|role| !role.trim().is_empty());
    if has_role {
        return;
    }
    let fargate = context.fargate();
    let log = container.log_configuration.as_ref();
    if fargate && log.and_then(|log| log.log_driver.as_ref()) == Some(&LogDriver::Awslogs) {
        // Observed text (aws/aws-cdk#1279; hashicorp/terraform-provider-aws#3051).
        context.error(
            "TD-EXECROLE-REQUIRED",
            &["containerDefinitions", c, "logConfiguration", "logDriver"],
            "Fargate requires task definition to have execution role ARN to support log driver \
             awslogs.",
        );
    }
    if fargate && container.image.as_deref().is_some_and(private_ecr) {
        // Observed text (aws/aws-cdk#1279).
        context.error(
            "TD-EXECROLE-REQUIRED",
            &["containerDefinitions", c, "image"],
            "Fargate requires task definition to have execution role ARN to support ECR images.",
        );
    }
    if container.secrets.as_ref().is_some_and(|s| !s.is_empty()) {
        // Observed at registration on every launch type (hashicorp/terraform-provider-aws#6503,
        // fabfuel/ecs-deploy#87).
        context.error(
            "TD-EXECROLE-REQUIRED",
            &["containerDefinitions", c, "secrets"],
            "When you are specifying container secrets, you must also specify a value for \
             'executionRoleArn'.",
        );
    }
    if container.repository_credentials.is_some() {
        // Observed at registration (sil-org/ecs-deploy#188).
        context.error(
            "TD-EXECROLE-REQUIRED",
            &["containerDefinitions", c, "repositoryCredentials"],
            "Private repository authentication requires that the task definition specify a value \
             for executionRoleArn.",
        );
    }
    // The rest fail when the task starts, if at all: warnings.
    if log
        .and_then(|log| log.secret_options.as_ref())
        .is_some_and(|s| !s.is_empty())
    {
        context.warning(
            "TD-EXECROLE-REQUIRED",
            &[
                "containerDefinitions",
                c,
                "logConfiguration",
                "secretOptions",
            ],
            "Log configuration secretOptions are fetched with the task execution role, but the \
             task definition has no executionRoleArn.",
        );
    }
    if container
        .environment_files
        .as_ref()
        .is_some_and(|f| !f.is_empty())
    {
        context.warning(
            "TD-EXECROLE-REQUIRED",
            &["containerDefinitions", c, "environmentFiles"],
            "environmentFiles are fetched from Amazon S3 with the task execution role, but the \
             task definition has no executionRoleArn.",
        );
    }
    if let Some(options) = container
        .firelens_configuration
        .as_ref()
        .and_then(|f| f.options.as_ref())
        && options.get("config-file-type").map(String::as_str) == Some("s3")
    {
        context.warning(
            "TD-EXECROLE-REQUIRED",
            &[
                "containerDefinitions",
                c,
                "firelensConfiguration",
                "options",
                "config-file-type",
            ],
            "A FireLens configuration file in Amazon S3 is fetched with the task execution role, \
             but the task definition has no executionRoleArn.",
        );
    }
}

/// TD-ENVFILES.
fn environment_files(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let Some(files) = &container.environment_files else {
        return;
    };
    if files.len() > MAX_ENVIRONMENT_FILES {
        context.error(
            "TD-ENVFILES",
            &[
                "containerDefinitions",
                c,
                "environmentFiles",
                &MAX_ENVIRONMENT_FILES.to_string(),
            ],
            format!(
                "A container may list at most {MAX_ENVIRONMENT_FILES} environmentFiles, not {}.",
                files.len()
            ),
        );
    }
    for (file_index, file) in files.iter().enumerate() {
        let f = file_index.to_string();
        let at = ["containerDefinitions", c, "environmentFiles", f.as_str()];
        match &file.r#type {
            None => context.error(
                "TD-ENVFILES",
                &at,
                "An environment file must have 'type': 's3'.",
            ),
            Some(EnvironmentFileType::Unknown(kind)) => context.error(
                "TD-ENVFILES",
                &[&at[..], &["type"]].concat(),
                format!("Environment file type '{kind}' must be 's3'."),
            ),
            Some(_) => {}
        }
        match file.value.as_deref() {
            None => context.error(
                "TD-ENVFILES",
                &at,
                "An environment file must have a 'value' (the S3 object ARN).",
            ),
            Some(value) => {
                let s3_object = value.starts_with("arn:")
                    && value.split(':').nth(2) == Some("s3")
                    && value.contains('/');
                if !s3_object {
                    context.warning(
                        "TD-ENVFILES",
                        &[&at[..], &["value"]].concat(),
                        format!(
                            "Environment file '{value}' is not the ARN of an Amazon S3 object."
                        ),
                    );
                } else if !value.ends_with(".env") {
                    context.warning(
                        "TD-ENVFILES",
                        &[&at[..], &["value"]].concat(),
                        format!("Environment file '{value}' must have the file extension '.env'."),
                    );
                }
            }
        }
    }
}

/// TD-FIRELENS: the configuration's type and config-file-type.
fn firelens(context: &mut Context<'_>, c: &str, container: &ContainerDefinition) {
    let Some(firelens) = &container.firelens_configuration else {
        return;
    };
    let base = ["containerDefinitions", c, "firelensConfiguration"];
    match &firelens.r#type {
        None => context.error(
            "TD-FIRELENS",
            &base,
            "firelensConfiguration must have a 'type': 'fluentd' or 'fluentbit'.",
        ),
        Some(FirelensConfigurationType::Unknown(kind)) => context.error(
            "TD-FIRELENS",
            &[&base[..], &["type"]].concat(),
            format!("FireLens type '{kind}' must be 'fluentd' or 'fluentbit'."),
        ),
        Some(_) => {}
    }
    let Some(file_type) = firelens
        .options
        .as_ref()
        .and_then(|options| options.get("config-file-type"))
    else {
        return;
    };
    let path = [&base[..], &["options", "config-file-type"]].concat();
    match file_type.as_str() {
        "file" => {}
        "s3" if context.fargate() => {
            // Rejected when the task is launched on Fargate, not at registration
            // (aws-samples/amazon-ecs-firelens-examples#32).
            context.warning(
                "TD-FIRELENS",
                &path,
                "Tasks hosted on Fargate only support the 'file' FireLens configuration file \
                 type; a task with 's3' fails to launch.",
            );
        }
        "s3" => {}
        other => context.warning(
            "TD-FIRELENS",
            &path,
            format!("FireLens config-file-type '{other}' must be 's3' or 'file'."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references() {
        assert!(secret_reference(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        ));
        assert!(secret_reference(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"
        ));
        assert!(secret_reference(
            "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/db"
        ));
        assert!(secret_reference("db-password"));
        assert!(!secret_reference("arn:aws:s3:::bucket/key"));
        assert!(!secret_reference("arn:aws:ssm"));
    }

    #[test]
    fn private_ecr_registries() {
        assert!(private_ecr(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"
        ));
        assert!(private_ecr(
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web"
        ));
        assert!(private_ecr(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@sha256:00"
        ));
        assert!(!private_ecr("public.ecr.aws/nginx/nginx:1"));
        assert!(!private_ecr("nginx"));
        assert!(!private_ecr("ghcr.io/dkr.ecr/amazonaws.com"));
    }
}
