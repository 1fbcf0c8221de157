//! IAM policy language and evaluator, with no ECS knowledge inside.
//!
//! A [`Policy`] is parsed from an IAM JSON policy document ([`Policy::parse`]); a [`Request`]
//! names an action, a resource ARN and a [`Context`] of condition keys; [`evaluate`] applies
//! identity policies and an optional permissions boundary and returns an [`Evaluation`]: the
//! [`Decision`] (explicit deny › allow › implicit deny) and the statements that decided it.
//!
//! INTERFACE SKELETON: the signatures below are the contract between this module and the
//! control plane; the bodies are a naive placeholder (no conditions, no variables) that the
//! evaluator work replaces.

use std::collections::BTreeMap;

use serde_json::Value;

/// A malformed policy document (IAM's `MalformedPolicyDocument`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("MalformedPolicyDocument: {message} (at {pointer:?})")]
pub struct PolicyError {
    /// JSON pointer of the offending member ("" for the whole document).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Grants the request when the statement applies.
    Allow,
    /// Denies the request when the statement applies; always wins.
    Deny,
}

/// One statement of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// The `Effect`.
    pub effect: Effect,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
}

/// A parsed IAM policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    statements: Vec<Statement>,
}

fn strings(value: &Value, pointer: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| PolicyError::new(format!("{pointer}/{i}"), "expected a string"))
            })
            .collect(),
        _ => Err(PolicyError::new(pointer, "expected a string or a list")),
    }
}

impl Policy {
    /// Parses a policy document given as JSON text (as IAM takes it).
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        let value: Value = serde_json::from_str(document)
            .map_err(|err| PolicyError::new("", format!("not JSON: {err}")))?;
        Policy::from_value(&value)
    }

    /// Parses a policy document already read as JSON.
    pub fn from_value(value: &Value) -> Result<Policy, PolicyError> {
        let statements = match value.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => return Err(PolicyError::new("/Statement", "missing or not a list")),
        };
        let mut out = Vec::new();
        for (i, statement) in statements.into_iter().enumerate() {
            let at = format!("/Statement/{i}");
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => {
                    return Err(PolicyError::new(
                        format!("{at}/Effect"),
                        "must be Allow or Deny",
                    ));
                }
            };
            let (actions, not_action) = match (statement.get("Action"), statement.get("NotAction"))
            {
                (Some(v), None) => (strings(v, &format!("{at}/Action"))?, false),
                (None, Some(v)) => (strings(v, &format!("{at}/NotAction"))?, true),
                _ => {
                    return Err(PolicyError::new(
                        &at,
                        "needs exactly one of Action, NotAction",
                    ));
                }
            };
            let (resources, not_resource) =
                match (statement.get("Resource"), statement.get("NotResource")) {
                    (Some(v), None) => (strings(v, &format!("{at}/Resource"))?, false),
                    (None, Some(v)) => (strings(v, &format!("{at}/NotResource"))?, true),
                    _ => {
                        return Err(PolicyError::new(
                            &at,
                            "needs exactly one of Resource, NotResource",
                        ));
                    }
                };
            out.push(Statement {
                sid: statement
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                effect,
                actions,
                not_action,
                resources,
                not_resource,
            });
        }
        Ok(Policy { statements: out })
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// Condition keys and their values for one request. Key names are case-insensitive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Lower-cased key → (key as given, values, whether the key is multivalued).
    keys: BTreeMap<String, (String, Vec<String>, bool)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Sets a single-valued key (replacing any earlier value).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.keys.insert(
            key.to_ascii_lowercase(),
            (key.to_owned(), vec![value.into()], false),
        );
    }

    /// Sets a multivalued key (`ArrayOf...`, e.g. `aws:TagKeys`).
    pub fn insert_list(&mut self, key: &str, values: Vec<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), (key.to_owned(), values, true));
    }

    /// The values of a key, if present.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys
            .get(&key.to_ascii_lowercase())
            .map(|(_, values, _)| values.as_slice())
    }
}

/// What is being asked: may `action` be performed on `resource` in `context`?
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `service:Operation`, e.g. `ecs:RunTask`.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: &'a str,
    /// Condition keys (global and service keys, principal tags, ...).
    pub context: &'a Context,
}

/// A policy with the identifier reported in [`MatchedStatement::source_policy_id`]
/// (a managed policy's ARN, or an inline policy's name).
#[derive(Clone, Copy, Debug)]
pub struct PolicySource<'a> {
    /// The identifier.
    pub id: &'a str,
    /// The policy.
    pub policy: &'a Policy,
}

/// The final decision, with IAM simulator's names ([`Decision::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `allowed`
    Allowed,
    /// `explicitDeny`
    ExplicitDeny,
    /// `implicitDeny`
    ImplicitDeny,
}

impl Decision {
    /// `allowed`, `explicitDeny` or `implicitDeny`, as the IAM policy simulator writes them.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// Which kind of policy decided a denial (for the access-denied message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity-based policies (inline and managed).
    Identity,
    /// The permissions boundary.
    Boundary,
}

/// A statement that took part in the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedStatement {
    /// The [`PolicySource::id`] of its policy.
    pub source_policy_id: String,
    /// Where the policy came from.
    pub kind: PolicyKind,
    /// Index of the statement in its policy.
    pub statement_index: usize,
    /// Its `Sid`, if any.
    pub sid: Option<String>,
    /// Its effect.
    pub effect: Effect,
}

/// The outcome of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// For a denial, which kind of policy caused it (the explicit deny's, or the one with no
    /// allow); `None` when allowed.
    pub denied_by: Option<PolicyKind>,
    /// The statements that decided it: the matching Deny statements for an explicit deny, the
    /// matching Allow statements for an allow, none for an implicit deny.
    pub matched: Vec<MatchedStatement>,
    /// Condition keys the policies read that the context lacks, in first-seen order.
    pub missing_context: Vec<String>,
}

impl Evaluation {
    /// The "because ..." part of IAM's access-denied message, e.g.
    /// `no identity-based policy allows the ecs:RunTask action` or
    /// `with an explicit deny in an identity-based policy`; `None` when allowed.
    pub fn denial_reason(&self, action: &str) -> Option<String> {
        let kind = match self.denied_by? {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Boundary => "permissions boundary",
        };
        Some(match self.decision {
            Decision::Allowed => return None,
            Decision::ExplicitDeny => format!("with an explicit deny in a {kind}"),
            Decision::ImplicitDeny => format!("no {kind} allows the {action} action"),
        })
    }
}

/// `*` (any run, including none) and `?` (one character) matching, in linear time.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || (p[i] != '*' && eq(p[i], t[j]))) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn applies(statement: &Statement, request: &Request<'_>) -> bool {
    let action = statement
        .actions
        .iter()
        .any(|a| wildcard_match(a, request.action, true))
        != statement.not_action;
    let resource = statement
        .resources
        .iter()
        .any(|r| wildcard_match(r, request.resource, false))
        != statement.not_resource;
    action && resource
}

/// Evaluates a request against identity policies and an optional permissions boundary
/// (explicit deny › allow › implicit deny; with a boundary, both must allow).
pub fn evaluate(
    request: &Request<'_>,
    identity: &[PolicySource<'_>],
    boundary: Option<&[PolicySource<'_>]>,
) -> Evaluation {
    let collect = |sources: &[PolicySource<'_>], kind: PolicyKind, effect: Effect| {
        let mut out = Vec::new();
        for source in sources {
            for (index, statement) in source.policy.statements.iter().enumerate() {
                if statement.effect == effect && applies(statement, request) {
                    out.push(MatchedStatement {
                        source_policy_id: source.id.to_owned(),
                        kind,
                        statement_index: index,
                        sid: statement.sid.clone(),
                        effect,
                    });
                }
            }
        }
        out
    };
    let deny = |matched: Vec<MatchedStatement>, kind| Evaluation {
        decision: if matched.is_empty() {
            Decision::ImplicitDeny
        } else {
            Decision::ExplicitDeny
        },
        denied_by: Some(kind),
        matched,
        missing_context: Vec::new(),
    };
    let denies = collect(identity, PolicyKind::Identity, Effect::Deny);
    if !denies.is_empty() {
        return deny(denies, PolicyKind::Identity);
    }
    if let Some(boundary) = boundary {
        let denies = collect(boundary, PolicyKind::Boundary, Effect::Deny);
        if !denies.is_empty() {
            return deny(denies, PolicyKind::Boundary);
        }
    }
    let allows = collect(identity, PolicyKind::Identity, Effect::Allow);
    if allows.is_empty() {
        return deny(Vec::new(), PolicyKind::Identity);
    }
    if let Some(boundary) = boundary
        && collect(boundary, PolicyKind::Boundary, Effect::Allow).is_empty()
    {
        return deny(Vec::new(), PolicyKind::Boundary);
    }
    Evaluation {
        decision: Decision::Allowed,
        denied_by: None,
        matched: allows,
        missing_context: Vec::new(),
    }
}
