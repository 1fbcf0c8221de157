//! IAM policy language and evaluator, with no ECS knowledge inside.
//!
//! A [`Policy`] is parsed from an IAM JSON policy document ([`Policy::parse`]); a [`Request`]
//! names an action, a resource ARN and a [`Context`] of condition keys; [`evaluate`] applies
//! identity policies and an optional permissions boundary and returns an [`Evaluation`]: the
//! [`Decision`] (explicit deny › allow › implicit deny) and the statements that decided it.
//!
//! What is modelled (IAM User Guide, spec `permissions.md` §4):
//! - `Version` `2012-10-17` (policy variables) and `2008-10-17` or absent (`${...}` is literal);
//!   `Id`; `Statement` as an object or a list.
//! - `Action` / `NotAction`, case-insensitive, with `*` and `?`; `Resource` / `NotResource` with
//!   `*` (which crosses `/` and `:`) and `?`; a resource element whose variable has no value
//!   matches nothing.
//! - `Principal` / `NotPrincipal` parsed and kept ([`Statement::principals`]) for trust
//!   policies; a statement with a principal may omit `Resource`.
//! - `Condition`: every operator family, `...IfExists`, `ForAllValues:` / `ForAnyValue:`, policy
//!   variables with defaults and escapes in the values where IAM allows them (String, Arn, Bool).
//! - Permissions boundaries: effective permissions are identity ∩ boundary.
//!
//! Everything textual is compiled at parse time (lower-cased action patterns, wildcard
//! segments, numbers, dates, CIDRs, base64), so [`evaluate`] does no parsing and allocates only
//! for the lower-cased action, the statements it reports, and values holding variables.
//! Wildcard matching never backtracks (see [`wildcard_match`]).

mod condition;
mod matcher;
mod variables;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use condition::Condition;
use matcher::Pattern;
use variables::Template;

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

/// Which IAM size quota applies to a policy document ([`check_size`]).
///
/// IAM counts characters other than whitespace (IAM User Guide, "IAM and AWS STS quotas").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKindLimit {
    /// A customer managed policy: 6,144 characters.
    Managed,
    /// An inline policy of a user: 2,048 characters.
    InlineUser,
    /// An inline policy of a role: 10,240 characters.
    InlineRole,
    /// An inline policy of a group: 5,120 characters.
    InlineGroup,
}

impl PolicyKindLimit {
    /// The quota in non-whitespace characters.
    pub fn max_chars(self) -> usize {
        match self {
            PolicyKindLimit::Managed => 6_144,
            PolicyKindLimit::InlineUser => 2_048,
            PolicyKindLimit::InlineRole => 10_240,
            PolicyKindLimit::InlineGroup => 5_120,
        }
    }
}

/// A policy document over its IAM size quota (IAM's `LimitExceeded`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Cannot exceed quota for PolicySize: {max}")]
pub struct LimitExceeded {
    /// The quota that applies.
    pub limit: PolicyKindLimit,
    /// The quota in characters.
    pub max: usize,
    /// The document's size in non-whitespace characters.
    pub actual: usize,
}

/// Checks a policy document's size against an IAM quota (whitespace is not counted).
pub fn check_size(document: &str, limit: PolicyKindLimit) -> Result<(), LimitExceeded> {
    let max = limit.max_chars();
    let actual = document.chars().filter(|c| !c.is_whitespace()).count();
    if actual > max {
        return Err(LimitExceeded { limit, max, actual });
    }
    Ok(())
}

/// Largest document [`Policy::parse`] reads (bytes): far above every IAM quota, small enough
/// that parsing is quick. Larger documents are malformed without being read.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Most statements a policy may have (IAM's quotas allow far fewer).
pub const MAX_STATEMENTS: usize = 4_096;

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Grants the request when the statement applies.
    Allow,
    /// Denies the request when the statement applies; always wins.
    Deny,
}

/// The policy language version (the `Version` member).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
    /// No `Version`: as `2008-10-17`.
    Absent,
}

/// A resource element: a pattern, or a template with variables resolved per request.
#[derive(Clone, Debug, PartialEq)]
enum ResourcePattern {
    Fixed(Pattern),
    Template(Template),
}

/// One statement of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// The `Effect`.
    pub effect: Effect,
    /// Lower-cased action patterns.
    actions: Vec<Pattern>,
    not_action: bool,
    /// `None` when the statement has neither `Resource` nor `NotResource` (trust policies).
    resources: Option<Vec<ResourcePattern>>,
    not_resource: bool,
    principals: Vec<(String, Vec<String>)>,
    not_principal: bool,
    has_principal: bool,
    conditions: Vec<Condition>,
}

impl Statement {
    /// The `Principal` (or `NotPrincipal`, see [`Statement::not_principal`]) as
    /// (type, values) pairs in document order, e.g. `("Service", ["ecs-tasks.amazonaws.com"])`
    /// or `("AWS", ["arn:aws:iam::111122223333:root"])`. `"Principal": "*"` is `("AWS", ["*"])`.
    /// Empty when the statement names no principal (identity policies).
    pub fn principals(&self) -> &[(String, Vec<String>)] {
        &self.principals
    }

    /// Whether the statement names its principals with `NotPrincipal`.
    pub fn not_principal(&self) -> bool {
        self.not_principal
    }

    /// Whether the statement has a `Principal` or `NotPrincipal` member.
    pub fn has_principal(&self) -> bool {
        self.has_principal
    }

    /// Whether the principal element admits a principal of `kind` (`AWS`, `Service`,
    /// `Federated`, `CanonicalUser`) named `value`: an equal value or `*` under that type
    /// (`"Principal": "*"` admits everyone); inverted for `NotPrincipal`; false when the statement
    /// has no principal element. Conditions and action are not considered.
    pub fn admits_principal(&self, kind: &str, value: &str) -> bool {
        if !self.has_principal {
            return false;
        }
        let listed = self.principals.iter().any(|(k, values)| {
            (k == kind || (k == "AWS" && values.iter().any(|v| v == "*")))
                && values.iter().any(|v| v == "*" || v == value)
        });
        listed != self.not_principal
    }

    /// Whether the statement has a `Condition` block.
    pub fn has_conditions(&self) -> bool {
        !self.conditions.is_empty()
    }

    /// Whether the action element matches `action` (case-insensitive), `NotAction` included.
    pub fn matches_action(&self, action: &str) -> bool {
        self.action_matches(&action.to_lowercase())
    }

    fn action_matches(&self, lower_action: &str) -> bool {
        self.actions.iter().any(|p| p.matches(lower_action)) != self.not_action
    }

    fn resource_matches(
        &self,
        resource: &str,
        context: &Context,
        missing: &mut Vec<String>,
    ) -> bool {
        let Some(elements) = &self.resources else {
            return true;
        };
        let mut any = false;
        for element in elements {
            let hit = match element {
                ResourcePattern::Fixed(p) => p.matches(resource),
                ResourcePattern::Template(t) => t
                    .resolve(context, missing)
                    .is_some_and(|r| variables::pattern(&r).matches(resource)),
            };
            if hit {
                any = true;
                break;
            }
        }
        any != self.not_resource
    }

    /// Whether the statement applies to the request (action, resource and every condition).
    fn applies(
        &self,
        lower_action: &str,
        request: &Request<'_>,
        missing: &mut Vec<String>,
    ) -> bool {
        if !self.action_matches(lower_action)
            || !self.resource_matches(request.resource, request.context, missing)
        {
            return false;
        }
        // Every condition is evaluated (no short cut) so that all absent keys are reported.
        let mut all = true;
        for condition in &self.conditions {
            all &= condition.holds(request.context, missing);
        }
        all
    }
}

/// A parsed IAM policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    version: PolicyVersion,
    id: Option<String>,
    statements: Vec<Statement>,
    source: Value,
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn string_list(value: &Value, pointer: &str) -> Result<Vec<(String, String)>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![(pointer.to_owned(), s.clone())]),
        Value::Array(items) if items.is_empty() => {
            Err(PolicyError::new(pointer, "must not be an empty list"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{pointer}/{i}");
                item.as_str()
                    .map(|s| (at.clone(), s.to_owned()))
                    .ok_or_else(|| PolicyError::new(at, "expected a string"))
            })
            .collect(),
        _ => Err(PolicyError::new(
            pointer,
            "expected a string or a list of strings",
        )),
    }
}

/// Which of two mutually exclusive members a statement has.
fn one_of<'a>(
    statement: &'a Map<String, Value>,
    at: &str,
    positive: &str,
    negative: &str,
    required: bool,
) -> Result<Option<(&'a Value, bool, String)>, PolicyError> {
    match (statement.get(positive), statement.get(negative)) {
        (Some(_), Some(_)) => Err(PolicyError::new(
            at,
            format!("a statement cannot have both {positive} and {negative}"),
        )),
        (Some(v), None) => Ok(Some((v, false, format!("{at}/{positive}")))),
        (None, Some(v)) => Ok(Some((v, true, format!("{at}/{negative}")))),
        (None, None) if required => Err(PolicyError::new(
            at,
            format!("a statement needs {positive} or {negative}"),
        )),
        (None, None) => Ok(None),
    }
}

fn parse_principal(value: &Value, at: &str) -> Result<Vec<(String, Vec<String>)>, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![("AWS".to_owned(), vec!["*".to_owned()])]),
        Value::Object(kinds) if !kinds.is_empty() => {
            let mut out = Vec::with_capacity(kinds.len());
            for (kind, values) in kinds {
                let kind_at = format!("{at}/{}", escape_pointer(kind));
                if !matches!(
                    kind.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                ) {
                    return Err(PolicyError::new(
                        kind_at,
                        format!("unknown principal type {kind:?}"),
                    ));
                }
                let values = string_list(values, &kind_at)?
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                out.push((kind.clone(), values));
            }
            Ok(out)
        }
        _ => Err(PolicyError::new(
            at,
            "a principal is \"*\" or an object of principal types",
        )),
    }
}

fn parse_statement(
    value: &Value,
    at: &str,
    version: PolicyVersion,
) -> Result<Statement, PolicyError> {
    let Value::Object(statement) = value else {
        return Err(PolicyError::new(at, "a statement must be an object"));
    };
    for key in statement.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(PolicyError::new(
                format!("{at}/{}", escape_pointer(key)),
                format!("unknown statement member {key:?}"),
            ));
        }
    }
    let sid = match statement.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(PolicyError::new(
                format!("{at}/Sid"),
                "Sid must be a string",
            ));
        }
    };
    let effect = match statement.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(_) => {
            return Err(PolicyError::new(
                format!("{at}/Effect"),
                "Effect must be \"Allow\" or \"Deny\"",
            ));
        }
        None => return Err(PolicyError::new(at, "a statement needs an Effect")),
    };
    let (principals, not_principal, has_principal) =
        match one_of(statement, at, "Principal", "NotPrincipal", false)? {
            Some((v, negated, p)) => (parse_principal(v, &p)?, negated, true),
            None => (Vec::new(), false, false),
        };
    let Some((action_value, not_action, action_at)) =
        one_of(statement, at, "Action", "NotAction", true)?
    else {
        return Err(PolicyError::new(
            at,
            "a statement needs Action or NotAction",
        ));
    };
    let mut actions = Vec::new();
    for (item_at, action) in string_list(action_value, &action_at)? {
        let well_formed = action == "*"
            || action
                .split_once(':')
                .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty());
        if !well_formed {
            return Err(PolicyError::new(
                item_at,
                format!("action {action:?} is not \"*\" or service:action"),
            ));
        }
        actions.push(Pattern::new(&action.to_lowercase()));
    }
    // Statements that name a principal (trust and resource policies) may omit Resource.
    let resource = one_of(statement, at, "Resource", "NotResource", !has_principal)?;
    let (resources, not_resource) = match resource {
        None => (None, false),
        Some((v, negated, p)) => {
            let mut out = Vec::new();
            for (item_at, text) in string_list(v, &p)? {
                if text != "*" && !text.starts_with("arn:") {
                    return Err(PolicyError::new(
                        item_at,
                        format!("resource {text:?} is not \"*\" or an ARN"),
                    ));
                }
                out.push(resource_pattern(&text, version));
            }
            (Some(out), negated)
        }
    };
    let conditions = match statement.get("Condition") {
        None => Vec::new(),
        Some(v) => condition::parse_block(
            v,
            &format!("{at}/Condition"),
            version == PolicyVersion::V2012_10_17,
        )?,
    };
    Ok(Statement {
        sid,
        effect,
        actions,
        not_action,
        resources,
        not_resource,
        principals,
        not_principal,
        has_principal,
        conditions,
    })
}

/// Variables are substituted only in the resource part of an ARN (after the fifth colon).
fn resource_pattern(text: &str, version: PolicyVersion) -> ResourcePattern {
    if version == PolicyVersion::V2012_10_17 {
        let split = text
            .match_indices(':')
            .nth(4)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len());
        let (head, tail) = text.split_at(split);
        if let Some(template) = variables::parse(tail) {
            return ResourcePattern::Template(template.with_prefix(head));
        }
    }
    ResourcePattern::Fixed(Pattern::new(text))
}

impl Policy {
    /// Parses a policy document given as JSON text (as IAM takes it).
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(PolicyError::new(
                "",
                format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        let value: Value = serde_json::from_str(document)
            .map_err(|err| PolicyError::new("", format!("not JSON: {err}")))?;
        Policy::from_value(&value)
    }

    /// Parses a policy document already read as JSON.
    pub fn from_value(value: &Value) -> Result<Policy, PolicyError> {
        let Value::Object(document) = value else {
            return Err(PolicyError::new(
                "",
                "a policy document must be a JSON object",
            ));
        };
        for key in document.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::new(
                    format!("/{}", escape_pointer(key)),
                    format!("unknown policy member {key:?}"),
                ));
            }
        }
        let version = match document.get("Version") {
            None => PolicyVersion::Absent,
            Some(Value::String(v)) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(_) => {
                return Err(PolicyError::new(
                    "/Version",
                    "Version must be \"2012-10-17\" or \"2008-10-17\"",
                ));
            }
        };
        let id = match document.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::new("/Id", "Id must be a string")),
        };
        let items: Vec<(String, &Value)> = match document.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("/Statement/{i}"), s))
                .collect(),
            Some(item @ Value::Object(_)) => vec![("/Statement".to_owned(), item)],
            Some(_) => {
                return Err(PolicyError::new(
                    "/Statement",
                    "Statement must be an object or a list",
                ));
            }
            None => return Err(PolicyError::new("", "a policy needs a Statement")),
        };
        if items.len() > MAX_STATEMENTS {
            return Err(PolicyError::new(
                "/Statement",
                format!("more than {MAX_STATEMENTS} statements"),
            ));
        }
        let mut statements: Vec<Statement> = Vec::with_capacity(items.len());
        for (at, item) in items {
            let statement = parse_statement(item, &at, version)?;
            if let Some(sid) = &statement.sid
                && statements.iter().any(|s| s.sid.as_ref() == Some(sid))
            {
                return Err(PolicyError::new(
                    format!("{at}/Sid"),
                    format!("duplicate Sid {sid:?}: Sids in one policy must be unique"),
                ));
            }
            statements.push(statement);
        }
        Ok(Policy {
            version,
            id,
            statements,
            source: value.clone(),
        })
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The `Version`.
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The `Id`, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The document as it was parsed (member order kept), to write it back.
    pub fn to_value(&self) -> &Value {
        &self.source
    }

    /// Checks that the policy can be an identity-based policy or a permissions boundary: no
    /// statement names a principal (IAM: "Policy document should not specify a principal.").
    pub fn check_identity(&self) -> Result<(), PolicyError> {
        match self.statements.iter().position(Statement::has_principal) {
            None => Ok(()),
            Some(i) => {
                let at = match self.source.get("Statement") {
                    Some(Value::Array(_)) => format!("/Statement/{i}"),
                    _ => "/Statement".to_owned(),
                };
                let member = if self.statements[i].not_principal {
                    "NotPrincipal"
                } else {
                    "Principal"
                };
                Err(PolicyError::new(
                    format!("{at}/{member}"),
                    "Policy document should not specify a principal.",
                ))
            }
        }
    }
}

/// Condition keys and their values for one request. Key names are case-insensitive.
///
/// Values are strings, read by each condition operator as its type (numbers, ISO 8601 or epoch
/// dates, `true`/`false`, base64, IP addresses, ARNs).
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

    /// Sets a boolean key (`"true"` / `"false"`).
    pub fn insert_bool(&mut self, key: &str, value: bool) {
        self.insert(key, if value { "true" } else { "false" });
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(&key.to_ascii_lowercase());
    }

    /// The values of a key, if present.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.get_lower(&key.to_ascii_lowercase())
    }

    /// Whether the key was set with [`Context::insert_list`].
    pub fn is_multivalued(&self, key: &str) -> bool {
        self.keys
            .get(&key.to_ascii_lowercase())
            .is_some_and(|(_, _, multi)| *multi)
    }

    /// The keys as given, with their values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.keys
            .values()
            .map(|(key, values, _)| (key.as_str(), values.as_slice()))
    }

    fn get_lower(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).map(|(_, values, _)| values.as_slice())
    }

    /// The single value of a key (a variable's value); `None` when absent or not exactly one.
    fn single(&self, key: &str) -> Option<&str> {
        match self.get_lower(key) {
            Some([value]) => Some(value),
            _ => None,
        }
    }
}

/// Records an absent key once (case-insensitively), in first-seen order.
fn note_missing(missing: &mut Vec<String>, key: &str) {
    if !missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        missing.push(key.to_owned());
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
    /// The statements that decided it: the matching Deny statements (identity first, then
    /// boundary) for an explicit deny; the matching Allow statements (identity, then boundary)
    /// for an allow; none for an implicit deny.
    pub matched: Vec<MatchedStatement>,
    /// Condition keys (and variables) that the evaluated statements read and the context lacks,
    /// as written in the policy, in first-seen order. Only statements whose action and resource
    /// match the request have their conditions read.
    pub missing_context: Vec<String>,
}

impl Evaluation {
    /// The "because ..." part of IAM's access-denied message, e.g.
    /// `no identity-based policy allows the ecs:RunTask action` or
    /// `with an explicit deny in an identity-based policy`; `None` when allowed.
    pub fn denial_reason(&self, action: &str) -> Option<String> {
        let (article, kind) = match self.denied_by? {
            PolicyKind::Identity => ("an", "identity-based policy"),
            PolicyKind::Boundary => ("a", "permissions boundary"),
        };
        Some(match self.decision {
            Decision::Allowed => return None,
            Decision::ExplicitDeny => format!("with an explicit deny in {article} {kind}"),
            Decision::ImplicitDeny => format!("no {kind} allows the {action} action"),
        })
    }
}

/// `*` (any run, including none) and `?` (one character) matching of the whole `text`.
///
/// Never backtracks: the pattern is cut at its stars and each piece is found leftmost-first
/// (linear two-way search for plain text, a bit-parallel scan for pieces with `?`), so the time
/// is O(|text| · ⌈longest piece / 64⌉ + |pattern|) whatever the pattern. With `ignore_case`
/// both sides are lower-cased first (as IAM does for action names).
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        Pattern::new(&pattern.to_lowercase()).matches(&text.to_lowercase())
    } else {
        Pattern::new(pattern).matches(text)
    }
}

/// Scans policies for applicable statements of one effect.
fn scan(
    sources: &[PolicySource<'_>],
    kind: PolicyKind,
    lower_action: &str,
    request: &Request<'_>,
    missing: &mut Vec<String>,
    denies: &mut Vec<MatchedStatement>,
    allows: &mut Vec<MatchedStatement>,
) {
    for source in sources {
        for (index, statement) in source.policy.statements.iter().enumerate() {
            if statement.applies(lower_action, request, missing) {
                let matched = MatchedStatement {
                    source_policy_id: source.id.to_owned(),
                    kind,
                    statement_index: index,
                    sid: statement.sid.clone(),
                    effect: statement.effect,
                };
                match statement.effect {
                    Effect::Deny => denies.push(matched),
                    Effect::Allow => allows.push(matched),
                }
            }
        }
    }
}

/// Evaluates a request against identity policies and an optional permissions boundary
/// (explicit deny › allow › implicit deny; with a boundary, both must allow).
///
/// An explicit deny in either wins (`denied_by` names the identity policies when they hold
/// one, else the boundary); then the identity policies must allow (else an implicit deny by
/// them), then the boundary, when given, must allow too (else an implicit deny by it).
pub fn evaluate(
    request: &Request<'_>,
    identity: &[PolicySource<'_>],
    boundary: Option<&[PolicySource<'_>]>,
) -> Evaluation {
    let lower_action = request.action.to_lowercase();
    let mut missing = Vec::new();
    let (mut id_denies, mut id_allows) = (Vec::new(), Vec::new());
    scan(
        identity,
        PolicyKind::Identity,
        &lower_action,
        request,
        &mut missing,
        &mut id_denies,
        &mut id_allows,
    );
    let (mut b_denies, mut b_allows) = (Vec::new(), Vec::new());
    if let Some(boundary) = boundary {
        scan(
            boundary,
            PolicyKind::Boundary,
            &lower_action,
            request,
            &mut missing,
            &mut b_denies,
            &mut b_allows,
        );
    }
    let denial = |decision, kind, matched| Evaluation {
        decision,
        denied_by: Some(kind),
        matched,
        missing_context: Vec::new(),
    };
    let mut out = if !id_denies.is_empty() || !b_denies.is_empty() {
        let kind = if id_denies.is_empty() {
            PolicyKind::Boundary
        } else {
            PolicyKind::Identity
        };
        id_denies.append(&mut b_denies);
        denial(Decision::ExplicitDeny, kind, id_denies)
    } else if id_allows.is_empty() {
        denial(Decision::ImplicitDeny, PolicyKind::Identity, Vec::new())
    } else if boundary.is_some() && b_allows.is_empty() {
        denial(Decision::ImplicitDeny, PolicyKind::Boundary, Vec::new())
    } else {
        id_allows.append(&mut b_allows);
        Evaluation {
            decision: Decision::Allowed,
            denied_by: None,
            matched: id_allows,
            missing_context: Vec::new(),
        }
    };
    out.missing_context = missing;
    out
}
