//! Principals of the permissions layer: IAM users and roles with their inline and managed
//! policies, tags, permissions boundaries and trust policies; access keys; the principal the
//! harness calls as (`Sim.SetCaller`); and the evaluation of a caller's request with
//! [`crate::iam::evaluate`].
//!
//! Everything here is data in the [`Ecs`] state (serialised with it, so `Sim.Snapshot` shows
//! it). Policy documents are kept as the JSON text IAM was given and parsed once, when stored.
//!
//! Model choices (documented in README "Permissions"):
//! - The account root may do everything; a principal ARN that names no user or role created
//!   here has no policies (so every request is implicitly denied).
//! - A role ARN that was never created with `Sim.CreateRole` and is handed to ECS (task role,
//!   execution role, service role) is taken to exist, to trust ECS and to allow what the task
//!   needs (the permissive default that keeps IAM-free suites working). Roles that were created
//!   are enforced exactly.
//! - A role chosen with `Sim.SetCaller` calls as the assumed-role session
//!   `arn:aws:sts::ACCOUNT:assumed-role/NAME/`[`DEFAULT_SESSION_NAME`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Caller, Ecs};
use crate::iam::{self, Context, Decision, Evaluation, Policy, PolicySource, Request};

/// The session name of a role chosen with `Sim.SetCaller` when none is given.
pub const DEFAULT_SESSION_NAME: &str = "stowplan-session";
/// The service principal task and execution roles must trust (spec §2.3).
pub const ECS_TASKS_PRINCIPAL: &str = "ecs-tasks.amazonaws.com";
/// The service principal service and infrastructure roles must trust (spec §2.3).
pub const ECS_PRINCIPAL: &str = "ecs.amazonaws.com";
/// IAM's limit on managed policies attached to one user or role (default quota).
pub const MAX_ATTACHED_POLICIES: usize = 10;
/// IAM's size limit of a managed policy document, in characters without white space.
pub const MAX_MANAGED_POLICY_CHARS: usize = 6_144;
/// IAM's limit on the aggregate size of a user's inline policies (characters without white space).
pub const MAX_USER_INLINE_CHARS: usize = 2_048;
/// IAM's limit on the aggregate size of a role's inline policies (characters without white space).
pub const MAX_ROLE_INLINE_CHARS: usize = 10_240;
/// IAM's limit on a trust policy (characters without white space; default quota).
pub const MAX_TRUST_POLICY_CHARS: usize = 2_048;
/// IAM's limit on tags per user or role.
pub const MAX_IAM_TAGS: usize = 50;

/// The ARN of the AWS managed policy every execution role starts from (spec §3.1).
pub const TASK_EXECUTION_ROLE_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
/// The ARN of the AWS managed policy EventBridge's RunTask role uses (spec §1.4).
pub const EVENTS_ROLE_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceEventsRole";

/// The AWS managed policies stowplan knows: (ARN, name, path, document). Statements as AWS
/// publishes them (aws-managed-policy reference, iann0036/iam-dataset).
pub fn aws_managed_policies() -> [(&'static str, &'static str, &'static str, &'static str); 2] {
    [
        (
            TASK_EXECUTION_ROLE_POLICY_ARN,
            "AmazonECSTaskExecutionRolePolicy",
            "/service-role/",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
        ),
        (
            EVENTS_ROLE_POLICY_ARN,
            "AmazonEC2ContainerServiceEventsRole",
            "/service-role/",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:RunTask"],"Resource":["*"]},{"Effect":"Allow","Action":"iam:PassRole","Resource":["*"],"Condition":{"StringLike":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}},{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"StringEquals":{"ecs:CreateAction":["RunTask"]}}}]}"#,
        ),
    ]
}

/// An IAM error, named as IAM names its exceptions ([`IamError::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity`.
    #[error("{0}")]
    NoSuchEntity(String),
    /// `EntityAlreadyExists`.
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// `MalformedPolicyDocument`.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// `LimitExceeded`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `InvalidInput`.
    #[error("{0}")]
    InvalidInput(String),
}

impl IamError {
    /// IAM's exception shape name, as the API layer reports it (`NoSuchEntityException`, ...;
    /// boto3's `client.exceptions.NoSuchEntityException`): [`IamError::code`] + `Exception`.
    pub fn exception_name(&self) -> String {
        format!("{}Exception", self.code())
    }

    /// IAM's error code (`NoSuchEntity`, `EntityAlreadyExists`, `MalformedPolicyDocument`,
    /// `LimitExceeded`, `InvalidInput`).
    pub fn code(&self) -> &'static str {
        match self {
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::InvalidInput(_) => "InvalidInput",
        }
    }
}

/// A policy document: the JSON text IAM was given, and its parsed form. Serialised as the text.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDocument {
    text: String,
    /// Shared, so that a request's policy set costs no copy of the parsed statements.
    policy: Arc<Policy>,
}

impl PolicyDocument {
    /// Parses a document (IAM's `MalformedPolicyDocument` when it is not a valid policy).
    pub fn parse(text: &str) -> Result<PolicyDocument, IamError> {
        let policy = Policy::parse(text).map_err(|err| {
            IamError::MalformedPolicyDocument(if err.pointer.is_empty() {
                err.message
            } else {
                format!("{} (at {})", err.message, err.pointer)
            })
        })?;
        Ok(PolicyDocument {
            text: text.to_string(),
            policy: Arc::new(policy),
        })
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PolicyDocument::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Characters of a document other than white space (how IAM counts policy size).
fn policy_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// An IAM tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IamTag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Whether an [`Entity`] is a user or a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntityKind {
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
}

/// An IAM user or role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// User or role.
    pub kind: EntityKind,
    /// `UserName` / `RoleName`.
    pub name: String,
    /// `UserId` (`AIDA…`) / `RoleId` (`AROA…`).
    pub id: String,
    /// The ARN.
    pub arn: String,
    /// The path (`/` by default).
    pub path: String,
    /// Creation time, epoch seconds of the logical clock.
    pub create_date: i64,
    /// Tags.
    pub tags: Vec<IamTag>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, PolicyDocument>,
    /// Attached managed policies, by ARN, in attachment order.
    pub attached: Vec<String>,
    /// The permissions boundary (a managed policy ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    /// A role's trust policy, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// A role's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A managed policy (customer managed, or an AWS managed one copied in on first use).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedPolicy {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyId` (`ANPA…`).
    pub id: String,
    /// The ARN.
    pub arn: String,
    /// The path.
    pub path: String,
    /// The default version's document.
    pub document: PolicyDocument,
    /// Creation time, epoch seconds.
    pub create_date: i64,
    /// `Description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether AWS manages it.
    #[serde(default)]
    pub aws_managed: bool,
}

/// An access key of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    /// The owner's user name.
    pub user_name: String,
    /// `SecretAccessKey`.
    pub secret: String,
    /// Creation time, epoch seconds.
    pub create_date: i64,
}

/// Every IAM entity of the account, the access keys, and the harness caller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamStore {
    /// Users by lower-cased name (IAM names are unique case-insensitively).
    #[serde(default)]
    users: BTreeMap<String, Entity>,
    /// Roles by lower-cased name.
    #[serde(default)]
    roles: BTreeMap<String, Entity>,
    /// Managed policies by ARN.
    #[serde(default)]
    policies: BTreeMap<String, ManagedPolicy>,
    /// Access key id → key.
    #[serde(default)]
    access_keys: BTreeMap<String, AccessKey>,
    /// The caller chosen with `Sim.SetCaller` (root when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller: Option<Caller>,
}

impl IamStore {
    /// Whether nothing was ever created (then the state's snapshot omits the store).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.roles.is_empty()
            && self.policies.is_empty()
            && self.access_keys.is_empty()
            && self.caller.is_none()
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Option<&Entity> {
        self.users.get(&name.to_ascii_lowercase())
    }

    /// A role by name.
    pub fn role(&self, name: &str) -> Option<&Entity> {
        self.roles.get(&name.to_ascii_lowercase())
    }

    /// A role by ARN (`arn:aws:iam::ACCOUNT:role[/path]/NAME`), if it was created.
    pub fn role_by_arn(&self, arn: &str) -> Option<&Entity> {
        let name = arn.split_once(":role/")?.1.rsplit('/').next()?;
        self.role(name).filter(|role| role.arn == arn)
    }

    /// A managed policy by ARN (AWS managed ones count once they were attached).
    pub fn policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.policies.get(arn)
    }

    /// The user or role a principal ARN names: a user ARN, a role ARN, or an assumed-role
    /// session ARN (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`).
    pub fn entity_for_principal(&self, principal_arn: &str) -> Option<&Entity> {
        if let Some((_, rest)) = principal_arn.split_once(":assumed-role/") {
            let name = rest.split('/').next()?;
            return self.role(name);
        }
        if principal_arn.contains(":role/") {
            return self.role_by_arn(principal_arn);
        }
        let name = principal_arn.split_once(":user/")?.1.rsplit('/').next()?;
        self.user(name).filter(|user| user.arn == principal_arn)
    }

    /// The identity policies and the permissions boundary of an entity, ready for
    /// [`iam::evaluate`]. Inline policies are identified by name, managed ones by ARN.
    pub fn policy_set(&self, entity: &Entity) -> PolicySet {
        let mut identity = Vec::new();
        for (name, document) in &entity.inline {
            identity.push(NamedPolicy {
                id: name.clone(),
                source_type: match entity.kind {
                    EntityKind::User => "user",
                    EntityKind::Role => "role",
                },
                policy: document.policy.clone(),
            });
        }
        for arn in &entity.attached {
            if let Some(policy) = self.policies.get(arn) {
                identity.push(NamedPolicy {
                    id: arn.clone(),
                    source_type: if policy.aws_managed {
                        "aws-managed"
                    } else {
                        "user-managed"
                    },
                    policy: policy.document.policy.clone(),
                });
            }
        }
        let boundary = entity.boundary.as_ref().map(|arn| {
            self.policies
                .get(arn)
                .map(|policy| NamedPolicy {
                    id: arn.clone(),
                    source_type: "permissions-boundary",
                    policy: policy.document.policy.clone(),
                })
                .into_iter()
                .collect()
        });
        PolicySet { identity, boundary }
    }
}

/// A policy with its identifier and IAM simulator's `SourcePolicyType` (`user`, `role`,
/// `aws-managed`, `user-managed`, `permissions-boundary`, `IAM Policy` for custom input).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedPolicy {
    /// Inline policy name, managed policy ARN, or `PolicyInputList.N`.
    pub id: String,
    /// The `SourcePolicyType`.
    pub source_type: &'static str,
    /// The policy (shared with the store it came from).
    pub policy: Arc<Policy>,
}

/// The identity policies and optional permissions boundary one request is evaluated against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicySet {
    /// Identity-based policies.
    pub identity: Vec<NamedPolicy>,
    /// The permissions boundary, if one is set.
    pub boundary: Option<Vec<NamedPolicy>>,
}

impl PolicySet {
    /// Evaluates `action` on `resource` in `context`.
    pub fn evaluate(&self, action: &str, resource: &str, context: &Context) -> Evaluation {
        let identity: Vec<PolicySource<'_>> = self
            .identity
            .iter()
            .map(|p| PolicySource {
                id: &p.id,
                policy: &p.policy,
            })
            .collect();
        let boundary: Option<Vec<PolicySource<'_>>> = self.boundary.as_ref().map(|b| {
            b.iter()
                .map(|p| PolicySource {
                    id: &p.id,
                    policy: &p.policy,
                })
                .collect()
        });
        iam::evaluate(
            &Request {
                action,
                resource,
                context,
            },
            &identity,
            boundary.as_deref(),
        )
    }

    /// The `SourcePolicyType` of a policy id of this set.
    pub fn source_type(&self, id: &str) -> &'static str {
        self.identity
            .iter()
            .chain(self.boundary.iter().flatten())
            .find(|p| p.id == id)
            .map_or("none", |p| p.source_type)
    }
}

/// One (action, resource, context) an ECS call needs, as the API edge builds it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthCheck {
    /// `service:Action`.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The request's condition keys (the principal's keys are added by [`Ecs::authorize`]).
    pub context: ContextKeys,
}

/// Condition keys to add to a [`Context`]: (key, values, multivalued), in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextKeys(pub Vec<(String, Vec<String>, bool)>);

impl ContextKeys {
    /// No keys.
    pub fn new() -> Self {
        ContextKeys::default()
    }

    /// A single-valued key.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_string(), vec![value.into()], false));
    }

    /// A multivalued key.
    pub fn insert_list(&mut self, key: &str, values: Vec<String>) {
        self.0.push((key.to_string(), values, true));
    }

    /// Writes the keys into `context` (later ones replace earlier ones of the same name).
    pub fn apply_to(&self, context: &mut Context) {
        for (key, values, list) in &self.0 {
            if *list {
                context.insert_list(key, values.clone());
            } else if let Some(first) = values.first() {
                context.insert(key, first.clone());
            }
        }
    }
}

/// A denied request: the IAM message (spec §4.6) and the evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Denial {
    /// `User: ARN is not authorized to perform: ACTION on resource: ARN because ...`.
    pub message: String,
    /// The decision.
    pub decision: Decision,
}

/// The part of IAM's access-denied message after the resource (spec §4.6):
/// `because no identity-based policy allows the ACTION action` (or `... no permissions boundary
/// allows ...`) for an implicit deny, `with an explicit deny in an identity-based policy` (or
/// `... in a permissions boundary`) for an explicit one.
pub fn denial_clause(action: &str, evaluation: &Evaluation) -> String {
    let boundary = evaluation.denied_by == Some(iam::PolicyKind::Boundary);
    match (evaluation.decision, boundary) {
        (Decision::ExplicitDeny, false) => {
            "with an explicit deny in an identity-based policy".to_string()
        }
        (Decision::ExplicitDeny, true) => {
            "with an explicit deny in a permissions boundary".to_string()
        }
        (_, false) => format!("because no identity-based policy allows the {action} action"),
        (_, true) => format!("because no permissions boundary allows the {action} action"),
    }
}

/// IAM's access-denied message (spec §4.6) for `principal` asking `action` on `resource`.
pub fn denial_message(
    principal: &str,
    action: &str,
    resource: &str,
    evaluation: &Evaluation,
) -> String {
    format!(
        "User: {principal} is not authorized to perform: {action} on resource: {resource} {}",
        denial_clause(action, evaluation)
    )
}

/// An ISO 8601 timestamp of epoch seconds (`aws:CurrentTime`).
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Adds a JSON context value (string, number, bool, or a list of them) under `key`.
pub fn insert_json(context: &mut Context, key: &str, value: &Value) {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => context.insert_list(key, items.iter().filter_map(scalar).collect()),
        other => {
            if let Some(text) = scalar(other) {
                context.insert(key, text);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Trust policies. The interface's `Statement` has no `Principal` yet, so trust policies are read
// here from the stored JSON: each statement's Principal/NotPrincipal is matched below and the
// rest of the statement (Action, Condition) goes through `iam::evaluate` with `Resource: "*"`.
// When `Statement::principals()` lands, only `trust_admits` changes.
// ---------------------------------------------------------------------------------------------

/// Whether a statement's `Principal` (or `NotPrincipal`) admits the service principal.
fn principal_admits(statement: &Value, service: &str) -> bool {
    let lists = |value: &Value| -> bool {
        match value {
            Value::String(s) => s == "*",
            Value::Object(members) => members.iter().any(|(kind, values)| {
                let items: Vec<&str> = match values {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                items.iter().any(|item| {
                    *item == "*" || (kind == "Service" && item.eq_ignore_ascii_case(service))
                })
            }),
            _ => false,
        }
    };
    match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(principal), _) => lists(principal),
        (None, Some(not_principal)) => !lists(not_principal),
        _ => false,
    }
}

fn trust_statements(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(item @ Value::Object(_)) => vec![item.clone()],
        _ => Vec::new(),
    }
}

/// The statement without its principal, with `Resource: "*"`, as an identity-style policy.
fn as_identity_statement(statement: &Value) -> Value {
    let mut copy = statement.clone();
    if let Value::Object(members) = &mut copy {
        members.shift_remove("Principal");
        members.shift_remove("NotPrincipal");
        members
            .entry("Resource")
            .or_insert_with(|| Value::String("*".to_string()));
    }
    copy
}

/// Checks a trust policy document when a role is created (`MalformedPolicyDocument`).
pub fn check_trust_policy(text: &str) -> Result<(), IamError> {
    let malformed = |m: &str| IamError::MalformedPolicyDocument(m.to_string());
    if policy_chars(text) > MAX_TRUST_POLICY_CHARS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY_CHARS}"
        )));
    }
    let document: Value =
        serde_json::from_str(text).map_err(|_| malformed("Syntax errors in policy."))?;
    let statements = trust_statements(&document);
    if statements.is_empty() {
        return Err(malformed("Missing required field Statement"));
    }
    for statement in &statements {
        if statement.get("Principal").is_none() && statement.get("NotPrincipal").is_none() {
            return Err(malformed("Missing required field Principal"));
        }
        let mut policy = serde_json::Map::new();
        if let Some(version) = document.get("Version") {
            policy.insert("Version".to_string(), version.clone());
        }
        policy.insert(
            "Statement".to_string(),
            Value::Array(vec![as_identity_statement(statement)]),
        );
        Policy::from_value(&Value::Object(policy))
            .map_err(|err| IamError::MalformedPolicyDocument(err.message))?;
    }
    Ok(())
}

/// Whether a trust policy lets `service` assume the role (`sts:AssumeRole`), given the
/// `aws:SourceAccount` / `aws:SourceArn` ECS sends.
pub fn trust_admits(text: &str, service: &str, source_account: &str, source_arn: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let applicable: Vec<Value> = trust_statements(&document)
        .iter()
        .filter(|s| principal_admits(s, service))
        .map(as_identity_statement)
        .collect();
    if applicable.is_empty() {
        return false;
    }
    let mut policy = serde_json::Map::new();
    if let Some(version) = document.get("Version") {
        policy.insert("Version".to_string(), version.clone());
    }
    policy.insert("Statement".to_string(), Value::Array(applicable));
    let Ok(policy) = Policy::from_value(&Value::Object(policy)) else {
        return false;
    };
    let mut context = Context::new();
    context.insert("aws:SourceAccount", source_account);
    context.insert("aws:SourceArn", source_arn);
    context.insert("aws:PrincipalServiceName", service);
    let evaluation = iam::evaluate(
        &Request {
            action: "sts:AssumeRole",
            resource: "*",
            context: &context,
        },
        &[PolicySource {
            id: "trust",
            policy: &policy,
        }],
        None,
    );
    evaluation.decision == Decision::Allowed
}

// ---------------------------------------------------------------------------------------------
// The control plane's side: creating entities and evaluating callers.
// ---------------------------------------------------------------------------------------------

/// What `Sim.CreateRole` / `Sim.CreateUser` take besides the name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewEntity {
    /// `Path` (default `/`).
    pub path: Option<String>,
    /// `AssumeRolePolicyDocument` (roles only; required for them).
    pub trust: Option<String>,
    /// `PermissionsBoundary` (a managed policy ARN).
    pub boundary: Option<String>,
    /// `Tags`.
    pub tags: Vec<IamTag>,
    /// `Description` (roles).
    pub description: Option<String>,
}

fn valid_iam_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn check_path(path: &str) -> Result<(), IamError> {
    if path.starts_with('/') && path.ends_with('/') && path.len() <= 512 {
        Ok(())
    } else {
        Err(IamError::InvalidInput(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters: {path}"
        )))
    }
}

fn merge_tags(existing: &mut Vec<IamTag>, tags: &[IamTag]) -> Result<(), IamError> {
    let mut merged = existing.clone();
    for tag in tags {
        if tag.key.is_empty() || tag.key.len() > 128 || tag.value.len() > 256 {
            return Err(IamError::InvalidInput(format!(
                "Tag key must be 1 to 128 characters and tag value at most 256: {}",
                tag.key
            )));
        }
        match merged.iter_mut().find(|t| t.key == tag.key) {
            Some(found) => found.value = tag.value.clone(),
            None => merged.push(tag.clone()),
        }
    }
    if merged.len() > MAX_IAM_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_IAM_TAGS}."
        )));
    }
    *existing = merged;
    Ok(())
}

impl Ecs {
    /// The IAM entities of the account.
    pub fn iam(&self) -> &IamStore {
        &self.iam
    }

    fn iam_arn(&self, kind: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}{path}{name}", self.config.account)
    }

    fn iam_id(&mut self, prefix: &str) -> String {
        let hex = self.ids.hex32().to_ascii_uppercase();
        format!("{prefix}{}", &hex[..17])
    }

    /// `Sim.CreateUser` / `Sim.CreateRole`.
    pub fn create_iam_entity(
        &mut self,
        kind: EntityKind,
        name: &str,
        new: NewEntity,
    ) -> Result<Entity, IamError> {
        let (max, label) = match kind {
            EntityKind::User => (64, "User"),
            EntityKind::Role => (64, "Role"),
        };
        if !valid_iam_name(name, max) {
            return Err(IamError::InvalidInput(format!(
                "The specified value for {}Name is invalid: {name}",
                label.to_ascii_lowercase()
            )));
        }
        let key = name.to_ascii_lowercase();
        let exists = match kind {
            EntityKind::User => self.iam.users.contains_key(&key),
            EntityKind::Role => self.iam.roles.contains_key(&key),
        };
        if exists {
            return Err(IamError::EntityAlreadyExists(format!(
                "{label} with name {name} already exists."
            )));
        }
        let path = new.path.unwrap_or_else(|| "/".to_string());
        check_path(&path)?;
        if kind == EntityKind::Role {
            let trust = new.trust.as_deref().ok_or_else(|| {
                IamError::InvalidInput("AssumeRolePolicyDocument is required.".to_string())
            })?;
            check_trust_policy(trust)?;
        }
        if let Some(boundary) = &new.boundary {
            self.managed_policy_for_use(boundary)?;
        }
        let mut tags = Vec::new();
        merge_tags(&mut tags, &new.tags)?;
        // Checks done: from here on the call succeeds.
        if let Some(boundary) = &new.boundary {
            self.install_aws_managed(boundary);
        }
        let (id_prefix, arn_kind) = match kind {
            EntityKind::User => ("AIDA", "user"),
            EntityKind::Role => ("AROA", "role"),
        };
        let entity = Entity {
            kind,
            name: name.to_string(),
            id: self.iam_id(id_prefix),
            arn: self.iam_arn(arn_kind, &path, name),
            path,
            create_date: self.now,
            tags,
            inline: BTreeMap::new(),
            attached: Vec::new(),
            boundary: new.boundary,
            trust: new.trust,
            description: new.description,
        };
        match kind {
            EntityKind::User => self.iam.users.insert(key, entity.clone()),
            EntityKind::Role => self.iam.roles.insert(key, entity.clone()),
        };
        Ok(entity)
    }

    fn entity_mut(&mut self, kind: EntityKind, name: &str) -> Result<&mut Entity, IamError> {
        let key = name.to_ascii_lowercase();
        let found = match kind {
            EntityKind::User => self.iam.users.get_mut(&key),
            EntityKind::Role => self.iam.roles.get_mut(&key),
        };
        found.ok_or_else(|| {
            IamError::NoSuchEntity(match kind {
                EntityKind::User => format!("The user with name {name} cannot be found."),
                EntityKind::Role => format!("The role with name {name} cannot be found."),
            })
        })
    }

    /// A user or role by kind and name.
    pub fn iam_entity(&self, kind: EntityKind, name: &str) -> Option<&Entity> {
        match kind {
            EntityKind::User => self.iam.user(name),
            EntityKind::Role => self.iam.role(name),
        }
    }

    /// `Sim.CreatePolicy`: a customer managed policy `arn:aws:iam::ACCOUNT:policy{path}{name}`.
    pub fn create_managed_policy(
        &mut self,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: Option<&str>,
    ) -> Result<ManagedPolicy, IamError> {
        if !valid_iam_name(name, 128) {
            return Err(IamError::InvalidInput(format!(
                "The specified value for policyName is invalid: {name}"
            )));
        }
        let path = path.unwrap_or("/");
        check_path(path)?;
        let arn = self.iam_arn("policy", path, name);
        if self.iam.policies.contains_key(&arn) {
            return Err(IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        if policy_chars(document) > MAX_MANAGED_POLICY_CHARS {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY_CHARS}"
            )));
        }
        let document = PolicyDocument::parse(document)?;
        let policy = ManagedPolicy {
            name: name.to_string(),
            id: self.iam_id("ANPA"),
            arn: arn.clone(),
            path: path.to_string(),
            document,
            create_date: self.now,
            description: description.map(str::to_string),
            aws_managed: false,
        };
        self.iam.policies.insert(arn, policy.clone());
        Ok(policy)
    }

    /// Checks that a managed policy ARN can be attached (a customer one that exists, or an
    /// AWS managed one stowplan knows).
    fn managed_policy_for_use(&self, arn: &str) -> Result<(), IamError> {
        if self.iam.policies.contains_key(arn)
            || aws_managed_policies().iter().any(|(a, ..)| *a == arn)
        {
            Ok(())
        } else if !arn.starts_with("arn:aws:iam::") {
            Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")))
        } else {
            Err(IamError::NoSuchEntity(format!(
                "Policy {arn} does not exist or is not attachable."
            )))
        }
    }

    /// Copies an AWS managed policy into the store on first use.
    fn install_aws_managed(&mut self, arn: &str) {
        if self.iam.policies.contains_key(arn) {
            return;
        }
        if let Some((arn, name, path, text)) =
            aws_managed_policies().into_iter().find(|(a, ..)| *a == arn)
            && let Ok(document) = PolicyDocument::parse(text)
        {
            let policy = ManagedPolicy {
                name: name.to_string(),
                id: format!("ANPA{}", name.len()),
                arn: arn.to_string(),
                path: path.to_string(),
                document,
                create_date: 1_510_790_400,
                description: None,
                aws_managed: true,
            };
            self.iam.policies.insert(arn.to_string(), policy);
        }
    }

    /// `Sim.PutUserPolicy` / `Sim.PutRolePolicy`: adds or replaces an inline policy.
    pub fn put_inline_policy(
        &mut self,
        kind: EntityKind,
        entity: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        if !valid_iam_name(policy_name, 128) {
            return Err(IamError::InvalidInput(format!(
                "The specified value for policyName is invalid: {policy_name}"
            )));
        }
        let parsed = PolicyDocument::parse(document)?;
        let target = self.entity_mut(kind, entity)?;
        let limit = match kind {
            EntityKind::User => MAX_USER_INLINE_CHARS,
            EntityKind::Role => MAX_ROLE_INLINE_CHARS,
        };
        let others: usize = target
            .inline
            .iter()
            .filter(|(name, _)| *name != policy_name)
            .map(|(_, d)| policy_chars(&d.text))
            .sum();
        if others + policy_chars(document) > limit {
            return Err(IamError::LimitExceeded(format!(
                "Maximum policy size of {limit} bytes exceeded for {} {entity}",
                match kind {
                    EntityKind::User => "user",
                    EntityKind::Role => "role",
                }
            )));
        }
        target.inline.insert(policy_name.to_string(), parsed);
        Ok(())
    }

    /// `Sim.AttachUserPolicy` / `Sim.AttachRolePolicy` (attaching twice is a no-op, as in IAM).
    pub fn attach_managed_policy(
        &mut self,
        kind: EntityKind,
        entity: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.managed_policy_for_use(policy_arn)?;
        let target = self.entity_mut(kind, entity)?;
        if target.attached.iter().any(|a| a == policy_arn) {
            return Ok(());
        }
        if target.attached.len() >= MAX_ATTACHED_POLICIES {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for PoliciesPer{}: {MAX_ATTACHED_POLICIES}",
                match kind {
                    EntityKind::User => "User",
                    EntityKind::Role => "Role",
                }
            )));
        }
        target.attached.push(policy_arn.to_string());
        self.install_aws_managed(policy_arn);
        Ok(())
    }

    /// `Sim.TagUser` / `Sim.TagRole`.
    pub fn tag_iam_entity(
        &mut self,
        kind: EntityKind,
        entity: &str,
        tags: &[IamTag],
    ) -> Result<(), IamError> {
        let target = self.entity_mut(kind, entity)?;
        merge_tags(&mut target.tags, tags)
    }

    /// `Sim.CreateAccessKey`: a key id (`AKIA…`) and secret drawn from the seeded generator.
    pub fn create_access_key(&mut self, user_name: &str) -> Result<(String, AccessKey), IamError> {
        let user = self
            .iam
            .user(user_name)
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!("The user with name {user_name} cannot be found."))
            })?
            .name
            .clone();
        let owned = self
            .iam
            .access_keys
            .values()
            .filter(|k| k.user_name == user)
            .count();
        if owned >= 2 {
            return Err(IamError::LimitExceeded(
                "Cannot exceed quota for AccessKeysPerUser: 2".to_string(),
            ));
        }
        let id = {
            let hex = self.ids.hex32().to_ascii_uppercase();
            format!("AKIA{}", &hex[..16])
        };
        let secret = format!("{}{}", self.ids.hex32(), &self.ids.hex32()[..8]);
        let key = AccessKey {
            user_name: user,
            secret,
            create_date: self.now,
        };
        self.iam.access_keys.insert(id.clone(), key.clone());
        Ok((id, key))
    }

    /// `Sim.SetCaller`: later harness steps call as this principal (a user ARN; a role ARN,
    /// which becomes the session `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`; or an
    /// assumed-role ARN), with extra global condition keys. `None` returns to the root.
    pub fn set_harness_caller(
        &mut self,
        principal_arn: Option<&str>,
        session_name: Option<&str>,
        context: BTreeMap<String, Value>,
    ) -> Result<Caller, IamError> {
        let Some(arn) = principal_arn else {
            self.iam.caller = None;
            return Ok(self.harness_caller());
        };
        let root = Caller::root(&self.config.account);
        let principal = if arn == root.principal_arn {
            arn.to_string()
        } else {
            let entity = self.iam.entity_for_principal(arn).ok_or_else(|| {
                IamError::NoSuchEntity(format!("The principal {arn} cannot be found."))
            })?;
            match entity.kind {
                EntityKind::User => entity.arn.clone(),
                EntityKind::Role if arn.contains(":assumed-role/") => arn.to_string(),
                EntityKind::Role => format!(
                    "arn:aws:sts::{}:assumed-role/{}/{}",
                    self.config.account,
                    entity.name,
                    session_name.unwrap_or(DEFAULT_SESSION_NAME)
                ),
            }
        };
        let caller = Caller {
            principal_arn: principal,
            context,
        };
        self.iam.caller = if caller == root { None } else { Some(caller) };
        Ok(self.harness_caller())
    }

    /// The harness caller as chosen by `Sim.SetCaller` (root by default).
    pub(crate) fn chosen_caller(&self) -> Option<&Caller> {
        self.iam.caller.as_ref()
    }

    /// The user owning an access key.
    pub(crate) fn access_key_caller(&self, access_key_id: &str) -> Option<Caller> {
        let key = self.iam.access_keys.get(access_key_id)?;
        let user = self.iam.user(&key.user_name)?;
        Some(Caller {
            principal_arn: user.arn.clone(),
            context: BTreeMap::new(),
        })
    }

    /// Whether a caller is the account root (which may do everything).
    pub fn is_root(&self, caller: &Caller) -> bool {
        caller
            .principal_arn
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            == Some(self.config.account.as_str())
    }

    /// The principal's condition keys: `aws:username`, `aws:userid`, `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:PrincipalTag/*`, `aws:CurrentTime`,
    /// `aws:EpochTime`, `aws:RequestedRegion`, `aws:SecureTransport` (`true`), then the
    /// caller's own context keys (which override).
    pub fn principal_context(&self, caller: &Caller) -> Context {
        let mut context = Context::new();
        let arn = caller.principal_arn.as_str();
        if let Some(entity) = self.iam.entity_for_principal(arn) {
            match entity.kind {
                EntityKind::User => {
                    context.insert("aws:username", entity.name.clone());
                    context.insert("aws:userid", entity.id.clone());
                    context.insert("aws:PrincipalType", "User");
                }
                EntityKind::Role => {
                    let session = arn.rsplit('/').next().unwrap_or(DEFAULT_SESSION_NAME);
                    context.insert("aws:userid", format!("{}:{session}", entity.id));
                    context.insert("aws:PrincipalType", "AssumedRole");
                }
            }
            context.insert("aws:PrincipalArn", entity.arn.clone());
            for tag in &entity.tags {
                context.insert(&format!("aws:PrincipalTag/{}", tag.key), tag.value.clone());
            }
        } else {
            context.insert("aws:PrincipalArn", arn);
        }
        context.insert("aws:PrincipalAccount", self.config.account.clone());
        context.insert("aws:CurrentTime", iso8601(self.now));
        context.insert("aws:EpochTime", self.now.to_string());
        context.insert("aws:RequestedRegion", self.config.region.clone());
        context.insert("aws:SecureTransport", "true");
        for (key, value) in &caller.context {
            insert_json(&mut context, key, value);
        }
        context
    }

    /// The policies a caller is evaluated against (none for an unknown principal).
    pub fn caller_policies(&self, caller: &Caller) -> PolicySet {
        self.iam
            .entity_for_principal(&caller.principal_arn)
            .map(|entity| self.iam.policy_set(entity))
            .unwrap_or_default()
    }

    /// Authorizes every check for `caller` (the root passes everything): the first denied one
    /// gives IAM's access-denied message (spec §4.6). Reads only.
    pub fn authorize(&self, caller: &Caller, checks: &[AuthCheck]) -> Result<(), Denial> {
        if self.is_root(caller) {
            return Ok(());
        }
        let policies = self.caller_policies(caller);
        let mut base = Some(self.principal_context(caller));
        for (position, check) in checks.iter().enumerate() {
            // The last check takes the principal's context itself; the others a copy.
            let mut context = if position + 1 == checks.len() {
                base.take().unwrap_or_default()
            } else {
                base.clone().unwrap_or_default()
            };
            check.context.apply_to(&mut context);
            let evaluation = policies.evaluate(&check.action, &check.resource, &context);
            if evaluation.decision != Decision::Allowed {
                return Err(Denial {
                    message: denial_message(
                        &caller.principal_arn,
                        &check.action,
                        &check.resource,
                        &evaluation,
                    ),
                    decision: evaluation.decision,
                });
            }
        }
        Ok(())
    }

    /// Whether ECS can assume `role_arn` as `service` (spec §2.2/§2.3): a role never created is
    /// taken to trust ECS (permissive default); a created one must admit the service principal.
    pub fn role_assumable(&self, role_arn: &str, service: &str, source_arn: &str) -> bool {
        match self.iam.role_by_arn(role_arn) {
            None => true,
            Some(role) => role.trust.as_deref().is_some_and(|trust| {
                trust_admits(trust, service, &self.config.account, source_arn)
            }),
        }
    }

    /// Any ECS resource ARN of this account and Region (`arn:aws:ecs:R:A:{resource}`).
    pub fn ecs_arn(&self, resource: &str) -> String {
        self.arn(resource)
    }
}

// ---------------------------------------------------------------------------------------------
// The policy simulator (`Sim.SimulatePrincipalPolicy`, `Sim.SimulateCustomPolicy`).
// ---------------------------------------------------------------------------------------------

/// One `ContextEntries` item: a key, its values, and IAM's `ContextKeyType` (`string`,
/// `stringList`, `numeric`, `boolean`, `ip`, `date`, ... ; the `...List` types are multivalued).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextEntry {
    /// `ContextKeyName`.
    pub name: String,
    /// `ContextKeyValues`.
    pub values: Vec<String>,
    /// `ContextKeyType`.
    pub key_type: String,
}

/// A simulation: which policies, which actions on which resources, in which context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Simulation {
    /// `PolicySourceArn` (a user or role ARN) for SimulatePrincipalPolicy; `None` for
    /// SimulateCustomPolicy.
    pub policy_source_arn: Option<String>,
    /// `PolicyInputList`: extra (principal) or the only (custom) identity policies, as text.
    pub policy_input_list: Vec<String>,
    /// `PermissionsBoundaryPolicyInputList`: replaces the principal's boundary when given.
    pub boundary_input_list: Vec<String>,
    /// `ActionNames`.
    pub action_names: Vec<String>,
    /// `ResourceArns` (`*` when empty).
    pub resource_arns: Vec<String>,
    /// `ContextEntries`.
    pub context_entries: Vec<ContextEntry>,
    /// `CallerArn`: whose principal keys fill the context (SimulateCustomPolicy).
    pub caller_arn: Option<String>,
}

/// One `EvaluationResults` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulationResult {
    /// `EvalActionName`.
    pub action: String,
    /// `EvalResourceName`.
    pub resource: String,
    /// `EvalDecision`: `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: Decision,
    /// `MatchedStatements`: (`SourcePolicyId`, `SourcePolicyType`).
    pub matched: Vec<(String, String)>,
    /// `MissingContextValues`.
    pub missing_context: Vec<String>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when a boundary
    /// took part.
    pub allowed_by_boundary: Option<bool>,
}

fn input_policies(
    texts: &[String],
    member: &str,
    source_type: &'static str,
) -> Result<Vec<NamedPolicy>, IamError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Ok(NamedPolicy {
                id: format!("{member}.{}", i + 1),
                source_type,
                policy: PolicyDocument::parse(text)?.policy,
            })
        })
        .collect()
}

impl Ecs {
    /// Runs the policy simulator: SimulatePrincipalPolicy when `policy_source_arn` is set,
    /// else SimulateCustomPolicy. Principal keys (`aws:username`, `aws:PrincipalArn`,
    /// `aws:PrincipalTag/*`, ...) and the clock's `aws:CurrentTime`/`aws:EpochTime` are filled
    /// in; `ContextEntries` override them.
    pub fn simulate(&self, simulation: &Simulation) -> Result<Vec<SimulationResult>, IamError> {
        if simulation.action_names.is_empty() {
            return Err(IamError::InvalidInput(
                "ActionNames must contain at least one action.".to_string(),
            ));
        }
        let mut set = match &simulation.policy_source_arn {
            Some(arn) => {
                let entity = self
                    .iam
                    .entity_for_principal(arn)
                    .filter(|e| e.arn == *arn || arn.contains(":assumed-role/"))
                    .ok_or_else(|| {
                        IamError::NoSuchEntity(format!("The principal {arn} cannot be found."))
                    })?;
                self.iam.policy_set(entity)
            }
            None => {
                if simulation.policy_input_list.is_empty() {
                    return Err(IamError::InvalidInput(
                        "PolicyInputList must contain at least one policy.".to_string(),
                    ));
                }
                PolicySet::default()
            }
        };
        set.identity.extend(input_policies(
            &simulation.policy_input_list,
            "PolicyInputList",
            "IAM Policy",
        )?);
        if !simulation.boundary_input_list.is_empty() {
            set.boundary = Some(input_policies(
                &simulation.boundary_input_list,
                "PermissionsBoundaryPolicyInputList",
                "permissions-boundary",
            )?);
        }
        let principal = simulation
            .policy_source_arn
            .as_deref()
            .or(simulation.caller_arn.as_deref());
        let mut context = match principal {
            Some(arn) => self.principal_context(&Caller::new(arn)),
            None => {
                let mut context = Context::new();
                context.insert("aws:CurrentTime", iso8601(self.now));
                context.insert("aws:EpochTime", self.now.to_string());
                context
            }
        };
        for entry in &simulation.context_entries {
            if entry.key_type.ends_with("List") {
                context.insert_list(&entry.name, entry.values.clone());
            } else if let Some(first) = entry.values.first() {
                context.insert(&entry.name, first.clone());
            }
        }
        let resources: Vec<String> = if simulation.resource_arns.is_empty() {
            vec!["*".to_string()]
        } else {
            simulation.resource_arns.clone()
        };
        let mut out = Vec::new();
        for action in &simulation.action_names {
            for resource in &resources {
                let evaluation = set.evaluate(action, resource, &context);
                let allowed_by_boundary = set
                    .boundary
                    .as_ref()
                    .map(|_| evaluation.denied_by != Some(iam::PolicyKind::Boundary));
                out.push(SimulationResult {
                    action: action.clone(),
                    resource: resource.clone(),
                    decision: evaluation.decision,
                    matched: evaluation
                        .matched
                        .iter()
                        .map(|m| {
                            (
                                m.source_policy_id.clone(),
                                set.source_type(&m.source_policy_id).to_string(),
                            )
                        })
                        .collect(),
                    missing_context: evaluation.missing_context.clone(),
                    allowed_by_boundary,
                });
            }
        }
        Ok(out)
    }

    /// "What can this task do?": the simulator run on the task role of a registered task
    /// definition (family, `family:revision` or ARN), as `Sim.SimulatePrincipalPolicy` on that
    /// role answers. `NoSuchEntity` when the definition has no task role or the role was
    /// never created.
    pub fn simulate_task_role(
        &self,
        task_definition: &str,
        action_names: &[&str],
        resource_arns: &[&str],
        context_entries: Vec<ContextEntry>,
    ) -> Result<Vec<SimulationResult>, IamError> {
        let role = self
            .registry()
            .describe(task_definition)
            .ok()
            .and_then(|d| d.task_role_arn.clone())
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!(
                    "Task definition {task_definition} has no task role."
                ))
            })?;
        self.simulate(&Simulation {
            policy_source_arn: Some(role),
            action_names: action_names.iter().map(|a| a.to_string()).collect(),
            resource_arns: resource_arns.iter().map(|r| r.to_string()).collect(),
            context_entries,
            ..Simulation::default()
        })
    }
}
