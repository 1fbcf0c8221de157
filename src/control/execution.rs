//! "Will this task start?": what a task definition needs from its execution role (spec §3.2),
//! which of those needs a set of policies leaves unmet, and how ECS reports the first one
//! (`stopCode` `TaskFailedToStart`, `stoppedReason` shaped as spec §3.4). Also what ECS Exec
//! needs from the task role (spec §3.3).
//!
//! Needs are listed in the order the agent meets them (spec §3.4's recommendation): ECR
//! authorization, ECR layers, secrets (private registry credentials, `secrets`,
//! `logConfiguration.secretOptions`), S3 environment files, then awslogs. Within a phase,
//! containers keep their order.
//!
//! Not modelled: KMS (`kms:Decrypt` is needed only for secrets under a customer managed key,
//! and stowplan has no keys), SSM parameters that reference Secrets Manager, and the EC2
//! container-instance role (when a task has an execution role, the agent is taken to use it).

use serde::Serialize;

use super::iam::{
    ContextKeys, ECS_TASKS_PRINCIPAL, Entity, PolicySet, denial_clause, denial_message,
};
use super::{Ecs, Error};
use crate::iam::{Context, Decision};
use crate::model::{ContainerDefinition, TaskDefinition};

/// Which step of task start a [`Need`] belongs to (decides the `stoppedReason` text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NeedKind {
    /// `ecr:GetAuthorizationToken` for a private ECR image.
    EcrAuth,
    /// Layer and manifest download from a private ECR repository.
    EcrPull,
    /// `secretsmanager:GetSecretValue` (secrets, secretOptions, repository credentials).
    SecretsManager,
    /// `ssm:GetParameters` (secrets, secretOptions).
    Ssm,
    /// S3 environment files.
    EnvironmentFile,
    /// `logs:CreateLogGroup` (`awslogs-create-group`).
    LogGroup,
    /// `logs:CreateLogStream` / `logs:PutLogEvents`.
    LogStream,
    /// ECS Exec's `ssmmessages:*` on the task role (spec §3.3).
    ExecuteCommand,
}

/// One permission the execution role must grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Need {
    /// The container that needs it.
    pub container: String,
    /// JSON pointer (into the task definition) of the member that needs it.
    pub pointer: String,
    /// The IAM action.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The start step.
    pub kind: NeedKind,
}

/// A [`Need`] the policies do not grant, with the decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingPermission {
    /// What is needed.
    #[serde(flatten)]
    pub need: Need,
    /// `implicitDeny` or `explicitDeny`.
    pub decision: String,
    /// The end of IAM's message (`because no identity-based policy allows ...` or
    /// `with an explicit deny in ...`).
    pub reason: String,
}

/// The parts of a private ECR image reference `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]`:
/// (account, region, repository).
pub fn private_ecr_image(image: &str) -> Option<(&str, &str, &str)> {
    let (host, rest) = image.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if parts.next()? != "dkr" || !parts.next()?.starts_with("ecr") {
        return None;
    }
    let region = parts.next()?;
    if parts.next()? != "amazonaws" {
        return None;
    }
    let repository = match rest.split_once('@') {
        Some((repo, _)) => repo,
        None => match rest.rfind(':') {
            Some(colon) if !rest[colon..].contains('/') => &rest[..colon],
            _ => rest,
        },
    };
    (!repository.is_empty()).then_some((account, region, repository))
}

/// The resource ARN and need kind a secret's `valueFrom` reads (spec §3.2).
fn secret_need(value_from: &str, region: &str, account: &str) -> (NeedKind, String, String) {
    if let Some(rest) = value_from.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(7, ':').collect();
        if parts.get(1) == Some(&"secretsmanager") && parts.len() >= 6 {
            // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:stage:id]
            let name = parts
                .get(5)
                .map(|p| p.split(':').next().unwrap_or(p))
                .unwrap_or_default();
            let arn = format!(
                "arn:{}:secretsmanager:{}:{}:{}",
                parts[0], parts[2], parts[3], parts[4]
            );
            let arn = if name.is_empty() {
                arn
            } else {
                format!("{arn}:{name}")
            };
            return (
                NeedKind::SecretsManager,
                "secretsmanager:GetSecretValue".to_string(),
                arn,
            );
        }
        return (
            NeedKind::Ssm,
            "ssm:GetParameters".to_string(),
            value_from.to_string(),
        );
    }
    let name = value_from.trim_start_matches('/');
    (
        NeedKind::Ssm,
        "ssm:GetParameters".to_string(),
        format!("arn:aws:ssm:{region}:{account}:parameter/{name}"),
    )
}

fn container_needs(
    index: usize,
    container: &ContainerDefinition,
    region: &str,
    account: &str,
    task_id: &str,
    out: &mut Vec<Need>,
) {
    let name = container.name.clone().unwrap_or_default();
    let at = format!("/containerDefinitions/{index}");
    let mut push = |pointer: String, action: &str, resource: String, kind: NeedKind| {
        out.push(Need {
            container: name.clone(),
            pointer,
            action: action.to_string(),
            resource,
            kind,
        });
    };
    if let Some((ecr_account, ecr_region, repository)) =
        container.image.as_deref().and_then(private_ecr_image)
    {
        push(
            format!("{at}/image"),
            "ecr:GetAuthorizationToken",
            "*".to_string(),
            NeedKind::EcrAuth,
        );
        let repo = format!("arn:aws:ecr:{ecr_region}:{ecr_account}:repository/{repository}");
        for action in [
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ] {
            push(
                format!("{at}/image"),
                action,
                repo.clone(),
                NeedKind::EcrPull,
            );
        }
    }
    if let Some(parameter) = container
        .repository_credentials
        .as_ref()
        .and_then(|c| c.credentials_parameter.as_deref())
    {
        let (kind, action, resource) = secret_need(parameter, region, account);
        push(
            format!("{at}/repositoryCredentials/credentialsParameter"),
            &action,
            resource,
            kind,
        );
    }
    for (i, secret) in container.secrets.iter().flatten().enumerate() {
        if let Some(value_from) = secret.value_from.as_deref() {
            let (kind, action, resource) = secret_need(value_from, region, account);
            push(
                format!("{at}/secrets/{i}/valueFrom"),
                &action,
                resource,
                kind,
            );
        }
    }
    let log = container.log_configuration.as_ref();
    for (i, secret) in log
        .and_then(|l| l.secret_options.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(value_from) = secret.value_from.as_deref() {
            let (kind, action, resource) = secret_need(value_from, region, account);
            push(
                format!("{at}/logConfiguration/secretOptions/{i}/valueFrom"),
                &action,
                resource,
                kind,
            );
        }
    }
    for (i, file) in container.environment_files.iter().flatten().enumerate() {
        let Some(object) = file
            .value
            .as_deref()
            .and_then(|v| v.strip_prefix("arn:aws:s3:::"))
        else {
            continue;
        };
        let bucket = object.split('/').next().unwrap_or(object);
        push(
            format!("{at}/environmentFiles/{i}/value"),
            "s3:GetObject",
            format!("arn:aws:s3:::{object}"),
            NeedKind::EnvironmentFile,
        );
        push(
            format!("{at}/environmentFiles/{i}/value"),
            "s3:GetBucketLocation",
            format!("arn:aws:s3:::{bucket}"),
            NeedKind::EnvironmentFile,
        );
    }
    if let Some(log) = log
        && log.log_driver.as_ref().map(|d| d.as_str()) == Some("awslogs")
    {
        let options = log.options.clone().unwrap_or_default();
        let group = options.get("awslogs-group").cloned().unwrap_or_default();
        let log_region = options
            .get("awslogs-region")
            .cloned()
            .unwrap_or_else(|| region.to_string());
        let group_arn = format!("arn:aws:logs:{log_region}:{account}:log-group:{group}");
        let stream = match options.get("awslogs-stream-prefix") {
            Some(prefix) => format!("{prefix}/{name}/{task_id}"),
            None => task_id.to_string(),
        };
        if options
            .get("awslogs-create-group")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            push(
                format!("{at}/logConfiguration/options/awslogs-create-group"),
                "logs:CreateLogGroup",
                group_arn.clone(),
                NeedKind::LogGroup,
            );
        }
        push(
            format!("{at}/logConfiguration/options/awslogs-group"),
            "logs:CreateLogStream",
            group_arn.clone(),
            NeedKind::LogStream,
        );
        push(
            format!("{at}/logConfiguration/options/awslogs-group"),
            "logs:PutLogEvents",
            format!("{group_arn}:log-stream:{stream}"),
            NeedKind::LogStream,
        );
    }
}

/// Everything a task definition needs from its execution role (spec §3.2), in start order.
/// `task_id` names the log stream (`*` when the task does not exist yet).
pub fn execution_needs(
    definition: &TaskDefinition,
    region: &str,
    account: &str,
    task_id: &str,
) -> Vec<Need> {
    let mut out = Vec::new();
    for (index, container) in definition
        .container_definitions
        .iter()
        .flatten()
        .enumerate()
    {
        container_needs(index, container, region, account, task_id, &mut out);
    }
    // Stable sort: phase first, containers keep their order within a phase.
    out.sort_by_key(|need| match need.kind {
        NeedKind::EcrAuth => 0,
        NeedKind::EcrPull => 1,
        NeedKind::SecretsManager | NeedKind::Ssm => 2,
        NeedKind::EnvironmentFile => 3,
        NeedKind::LogGroup => 4,
        NeedKind::LogStream | NeedKind::ExecuteCommand => 5,
    });
    out
}

/// The needs `policies` leave unmet (every one of them, in start order). `context` is the
/// role session's condition keys (may be empty).
pub fn missing_permissions(
    needs: &[Need],
    policies: &PolicySet,
    context: &Context,
) -> Vec<MissingPermission> {
    needs
        .iter()
        .filter_map(|need| {
            let evaluation = policies.evaluate(&need.action, &need.resource, context);
            (evaluation.decision != Decision::Allowed).then(|| MissingPermission {
                need: need.clone(),
                decision: evaluation.decision.as_str().to_string(),
                reason: denial_clause(&need.action, &evaluation),
            })
        })
        .collect()
}

/// The task definition's missing execution-role permissions with `policies` as the role's
/// policies: [`execution_needs`] then [`missing_permissions`].
pub fn check_execution_role(
    definition: &TaskDefinition,
    region: &str,
    account: &str,
    policies: &PolicySet,
) -> Vec<MissingPermission> {
    let needs = execution_needs(definition, region, account, "*");
    missing_permissions(&needs, policies, &Context::new())
}

const SECRETS_PREFIX: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed:";

/// The `stoppedReason` ECS reports when the execution role session `session_arn` lacks
/// `missing` (spec §3.4; the wording is composed from observed texts).
pub fn stopped_reason(missing: &MissingPermission, session_arn: &str) -> String {
    let need = &missing.need;
    let denied = format!(
        "AccessDeniedException: {}",
        denial_message(
            session_arn,
            &need.action,
            &need.resource,
            &reason_only(missing)
        )
    );
    match need.kind {
        NeedKind::EcrAuth => format!(
            "{SECRETS_PREFIX} unable to retrieve ecr registry auth: service call has been retried 3 time(s): {denied}"
        ),
        NeedKind::EcrPull => format!(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): {denied}"
        ),
        NeedKind::SecretsManager => format!(
            "{SECRETS_PREFIX} unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {} from secrets manager: {denied}",
            need.resource
        ),
        NeedKind::Ssm => format!(
            "{SECRETS_PREFIX} unable to retrieve secrets from ssm: service call has been retried 1 time(s): {denied}"
        ),
        NeedKind::EnvironmentFile => format!(
            "ResourceInitializationError: failed to download env files: file download command: non empty error stream: service call has been retried 1 time(s): {denied}"
        ),
        NeedKind::LogGroup => format!(
            "ResourceInitializationError: failed to validate logger args: create log group has been retried 1 times: failed to create Cloudwatch log group: {denied}"
        ),
        NeedKind::LogStream => format!(
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: {denied}"
        ),
        NeedKind::ExecuteCommand => denied,
    }
}

/// An evaluation carrying only the decision, for [`denial_message`].
fn reason_only(missing: &MissingPermission) -> crate::iam::Evaluation {
    crate::iam::Evaluation {
        decision: if missing.decision == "explicitDeny" {
            Decision::ExplicitDeny
        } else {
            Decision::ImplicitDeny
        },
        denied_by: Some(if missing.reason.contains("permissions boundary") {
            crate::iam::PolicyKind::Boundary
        } else {
            crate::iam::PolicyKind::Identity
        }),
        matched: Vec::new(),
        missing_context: Vec::new(),
    }
}

/// What ECS Exec needs from the task role (spec §3.3), all on `*`.
pub const EXEC_ACTIONS: [&str; 4] = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

/// The ECS Exec actions `task_role` does not allow (empty = exec will work).
pub fn missing_exec_permissions(task_role: &PolicySet) -> Vec<MissingPermission> {
    let needs: Vec<Need> = EXEC_ACTIONS
        .iter()
        .map(|action| Need {
            container: String::new(),
            pointer: "/enableExecuteCommand".to_string(),
            action: (*action).to_string(),
            resource: "*".to_string(),
            kind: NeedKind::ExecuteCommand,
        })
        .collect();
    missing_permissions(&needs, task_role, &Context::new())
}

/// The keys of a role session for [`missing_permissions`] (principal ARN and tags).
pub fn role_session_keys(role_arn: &str, tags: &[(String, String)]) -> ContextKeys {
    let mut keys = ContextKeys::new();
    keys.insert("aws:PrincipalArn", role_arn);
    keys.insert("aws:PrincipalType", "AssumedRole");
    for (key, value) in tags {
        keys.insert(&format!("aws:PrincipalTag/{key}"), value.clone());
    }
    keys
}

/// ECS's message when it cannot assume a role handed to it (spec §2.2, observed).
pub fn unable_to_assume(role_arn: &str) -> String {
    format!(
        "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
    )
}

/// The task and execution role of a launch: the override's, else the definition's.
fn launch_roles<'a>(
    definition: &'a TaskDefinition,
    overrides: Option<&'a crate::model::TaskOverride>,
) -> [Option<&'a str>; 2] {
    let pick = |over: Option<&'a String>, own: Option<&'a String>| {
        over.or(own).map(String::as_str).filter(|r| !r.is_empty())
    };
    [
        pick(
            overrides.and_then(|o| o.task_role_arn.as_ref()),
            definition.task_role_arn.as_ref(),
        ),
        pick(
            overrides.and_then(|o| o.execution_role_arn.as_ref()),
            definition.execution_role_arn.as_ref(),
        ),
    ]
}

impl Ecs {
    /// RunTask / StartTask: a task or execution role that was created and does not trust
    /// `ecs-tasks.amazonaws.com` is refused with ECS's `ClientException` (spec §2.2).
    pub(crate) fn check_task_roles(
        &self,
        definition: &TaskDefinition,
        overrides: Option<&crate::model::TaskOverride>,
        cluster_arn: &str,
    ) -> Result<(), Error> {
        for role in launch_roles(definition, overrides).into_iter().flatten() {
            if !self.role_assumable(role, ECS_TASKS_PRINCIPAL, cluster_arn) {
                return Err(Error::Client(unable_to_assume(role)));
            }
        }
        Ok(())
    }

    /// Why a task about to be created will fail to start, if it will: a role ECS cannot
    /// assume, or the first execution-role permission its definition needs and the (created)
    /// execution role lacks (spec §3.2, §3.4). Roles never created allow everything.
    pub(crate) fn launch_failure(
        &self,
        definition: &TaskDefinition,
        overrides: Option<&crate::model::TaskOverride>,
        task_id: &str,
    ) -> Option<String> {
        if self.iam().is_empty() {
            return None;
        }
        let [task_role, execution_role] = launch_roles(definition, overrides);
        let cluster_arn = self.ecs_arn("cluster/*");
        for role in [task_role, execution_role].into_iter().flatten() {
            if !self.role_assumable(role, ECS_TASKS_PRINCIPAL, &cluster_arn) {
                return Some(unable_to_assume(role));
            }
        }
        let role = self.iam().role_by_arn(execution_role?)?;
        let policies = self.iam().policy_set(role);
        let needs = execution_needs(
            definition,
            &self.config.region,
            &self.config.account,
            task_id,
        );
        if needs.is_empty() {
            return None;
        }
        let tags: Vec<(String, String)> = role
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        let mut context = Context::new();
        role_session_keys(&role.arn, &tags).apply_to(&mut context);
        let first = missing_permissions(&needs, &policies, &context)
            .into_iter()
            .next()?;
        let session = format!(
            "arn:aws:sts::{}:assumed-role/{}/{task_id}",
            self.config.account, role.name
        );
        Some(stopped_reason(&first, &session))
    }

    /// A registered task definition (family, `family:revision` or ARN) and the created role
    /// that `role_of` names in it; `None` for the role when it names none or one never created
    /// (permissive default).
    fn definition_and_role(
        &self,
        task_definition: &str,
        role_of: impl Fn(&TaskDefinition) -> Option<&str>,
    ) -> Result<(&TaskDefinition, Option<&Entity>), Error> {
        let definition = self
            .registry()
            .describe(task_definition)
            .map_err(|_| Error::Client("Unable to describe task definition.".to_string()))?;
        let role = role_of(definition).and_then(|arn| self.iam().role_by_arn(arn));
        Ok((definition, role))
    }

    /// The execution-role permissions a registered task definition (family, `family:revision`
    /// or ARN) lacks with the roles of this account: empty when it has no execution role or
    /// the role was never created (permissive default).
    pub fn missing_execution_permissions(
        &self,
        task_definition: &str,
    ) -> Result<Vec<MissingPermission>, Error> {
        let (definition, role) =
            self.definition_and_role(task_definition, |d| d.execution_role_arn.as_deref())?;
        Ok(role.map_or_else(Vec::new, |role| {
            check_execution_role(
                definition,
                &self.config.region,
                &self.config.account,
                &self.iam().policy_set(role),
            )
        }))
    }

    /// The ECS Exec permissions (spec §3.3) the task role of a registered task definition
    /// lacks: empty when it has no task role or the role was never created.
    pub fn missing_exec_permissions(
        &self,
        task_definition: &str,
    ) -> Result<Vec<MissingPermission>, Error> {
        let (_, role) =
            self.definition_and_role(task_definition, |d| d.task_role_arn.as_deref())?;
        Ok(role.map_or_else(Vec::new, |role| {
            missing_exec_permissions(&self.iam().policy_set(role))
        }))
    }
}
