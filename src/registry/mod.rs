//! Task-definition families, revisions, ARNs and statuses, as ECS keeps them.
//!
//! [`Registry`] is a pure store: registration time and caller are passed in
//! ([`Registration`]), so the same calls give the same bytes.
//!
//! - Revisions start at 1 in each family and are never reused, even after deletion
//!   (TD-REG-REVISION).
//! - ARNs are `arn:<partition>:ecs:<region>:<account>:task-definition/<family>:<revision>`
//!   (TD-REG-ARN).
//! - Status moves ACTIVE → INACTIVE → DELETE_IN_PROGRESS and never back (TD-LIFE-*).
//! - Registration fills in what ECS fills in ([`defaults`]): `compatibilities`,
//!   `requiresAttributes`, normalised task cpu/memory, container defaults.
//!
//! ```
//! use stowplan::model::{FromJson, RegisterTaskDefinitionRequest};
//! use stowplan::registry::{Registration, Registry};
//! let mut registry = Registry::new("us-east-1", "123456789012");
//! let request = RegisterTaskDefinitionRequest::from_value(&serde_json::json!({
//!     "family": "web",
//!     "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]
//! }))?;
//! let at = Registration::by_root("123456789012", 1_704_067_200);
//! let registered = registry.register(&request, &at)?;
//! assert_eq!(
//!     registered.task_definition_arn.as_deref(),
//!     Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1")
//! );
//! assert_eq!(registry.describe("web")?.revision, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod defaults;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{
    Compatibility, RegisterTaskDefinitionRequest, TaskDefinition, TaskDefinitionStatus, Timestamp,
};
use crate::validate::{self, Diagnostic, Severity};

/// The highest revision a family may reach (DG-QUOTAS: revisions per family).
pub const MAX_REVISIONS_PER_FAMILY: u32 = 1_000_000;

/// At most this many references in one DeleteTaskDefinitions call (TD-LIFE-DELETE).
pub const MAX_DELETE_REFERENCES: usize = 10;

/// Who registers, and when: what ECS records in `registeredBy` and `registeredAt`.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// The calling principal's ARN (TD-REG-REGISTEREDBY).
    pub registered_by: String,
    /// The logical time of the call.
    pub at: Timestamp,
}

impl Registration {
    /// Registration by the account's root user at `epoch_secs`.
    pub fn by_root(account: &str, epoch_secs: i64) -> Self {
        Registration {
            registered_by: format!("arn:aws:iam::{account}:root"),
            at: Timestamp::from_secs(epoch_secs),
        }
    }
}

/// Why a registry call failed. The API layer maps each to ECS's exception and message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// The definition breaks at least one rule ECS enforces at registration; the first error
    /// in the catalogue's order of checks is the one ECS would report.
    #[error("{}", .0.first().map(|d| d.message.as_str()).unwrap_or("invalid task definition"))]
    Invalid(Vec<Diagnostic>),
    /// No revision matches the reference (TD-LOOKUP-NOT-FOUND).
    #[error("Unable to describe task definition.")]
    NotFound(String),
    /// A bare family was given where a revision is required (TD-LIFE-DEREGISTER).
    #[error("Revision is missing.")]
    RevisionMissing(String),
    /// The reference is not of the form family, family:revision or a task-definition ARN.
    #[error("Invalid revision number. Number: {0}")]
    BadReference(String),
    /// The family has reached [`MAX_REVISIONS_PER_FAMILY`].
    #[error("The family {0} has reached the maximum number of revisions.")]
    TooManyRevisions(String),
    /// More than [`MAX_DELETE_REFERENCES`] references in one call.
    #[error("You can specify at most {MAX_DELETE_REFERENCES} task definitions.")]
    TooManyReferences,
}

/// The outcome of [`Registry::delete`].
#[derive(Clone, Debug, PartialEq)]
pub struct Deletion {
    /// The revisions now DELETE_IN_PROGRESS.
    pub deleted: Vec<TaskDefinition>,
    /// `(reference, reason)` for each reference that could not be deleted.
    pub failures: Vec<(String, String)>,
}

/// A parsed task-definition reference (TD-LOOKUP-FORMS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// A bare family: the latest ACTIVE revision.
    Family(String),
    /// `family:revision`, or the ARN form.
    Revision(String, u32),
}

impl Reference {
    /// Parses `family`, `family:revision` or `arn:…:task-definition/family:revision`.
    pub fn parse(text: &str) -> Result<Self, RegistryError> {
        let body = if text.starts_with("arn:") {
            match text.split_once(":task-definition/") {
                Some((_, rest)) => rest,
                None => return Err(RegistryError::BadReference(text.to_string())),
            }
        } else {
            text
        };
        match body.split_once(':') {
            None => Ok(Reference::Family(body.to_string())),
            Some((family, revision)) => match revision.parse::<u32>() {
                Ok(number) if number >= 1 => Ok(Reference::Revision(family.to_string(), number)),
                _ => Err(RegistryError::BadReference(revision.to_string())),
            },
        }
    }
}

/// One family: its revision counter survives deletion of every revision (TD-REG-REVISION).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Family {
    last_revision: u32,
    revisions: BTreeMap<u32, Arc<TaskDefinition>>,
}

/// The task-definition store of one account in one Region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    partition: String,
    region: String,
    account: String,
    families: BTreeMap<String, Family>,
}

impl Registry {
    /// An empty store for `account` in `region` (partition `aws`).
    pub fn new(region: &str, account: &str) -> Self {
        Registry {
            partition: "aws".to_string(),
            region: region.to_string(),
            account: account.to_string(),
            families: BTreeMap::new(),
        }
    }

    /// The ARN a revision of `family` has (TD-REG-ARN).
    pub fn arn(&self, family: &str, revision: u32) -> String {
        format!(
            "arn:{}:ecs:{}:{}:task-definition/{family}:{revision}",
            self.partition, self.region, self.account
        )
    }

    /// Validates and registers `request` as the next revision of its family.
    ///
    /// Fails with [`RegistryError::Invalid`] (changing nothing) when validation reports an
    /// error; warnings do not stop registration.
    pub fn register(
        &mut self,
        request: &RegisterTaskDefinitionRequest,
        registration: &Registration,
    ) -> Result<TaskDefinition, RegistryError> {
        let errors: Vec<Diagnostic> = validate::validate(request)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(RegistryError::Invalid(errors));
        }
        let family_name = request.family.clone().unwrap_or_default();
        let last = self
            .families
            .get(&family_name)
            .map_or(0, |family| family.last_revision);
        if last >= MAX_REVISIONS_PER_FAMILY {
            return Err(RegistryError::TooManyRevisions(family_name));
        }
        let revision = last + 1;
        let mut definition = defaults::registered_form(request);
        definition.task_definition_arn = Some(self.arn(&family_name, revision));
        definition.revision = Some(revision as i32);
        definition.status = Some(TaskDefinitionStatus::Active);
        definition.registered_at = Some(registration.at);
        definition.registered_by = Some(registration.registered_by.clone());
        definition.compatibilities = Some(compatibilities(request));
        let family = self.families.entry(family_name).or_default();
        family.last_revision = revision;
        family
            .revisions
            .insert(revision, Arc::new(definition.clone()));
        Ok(definition)
    }

    /// Finds a revision by family (latest ACTIVE), `family:revision` or ARN, whatever its
    /// status (TD-LOOKUP-FORMS, TD-LOOKUP-INACTIVE: INACTIVE revisions stay describable).
    pub fn describe(&self, reference: &str) -> Result<&TaskDefinition, RegistryError> {
        self.describe_shared(reference).map(Arc::as_ref)
    }

    /// [`Registry::describe`], returning the stored revision itself so that a task can share it
    /// instead of copying it.
    pub fn describe_shared(&self, reference: &str) -> Result<&Arc<TaskDefinition>, RegistryError> {
        let not_found = || RegistryError::NotFound(reference.to_string());
        // The ARN form is the common one (tasks, services): look it up without parsing.
        if let Some(found) = self.by_arn(reference) {
            return Ok(found);
        }
        match Reference::parse(reference).map_err(|_| not_found())? {
            Reference::Family(name) => self
                .families
                .get(&name)
                .and_then(|family| {
                    family
                        .revisions
                        .values()
                        .rev()
                        .find(|d| d.status == Some(TaskDefinitionStatus::Active))
                })
                .ok_or_else(not_found),
            Reference::Revision(name, number) => self
                .families
                .get(&name)
                .and_then(|family| family.revisions.get(&number))
                .ok_or_else(not_found),
        }
    }

    /// The revision whose ARN is exactly `arn`, if it is stored.
    fn by_arn(&self, arn: &str) -> Option<&Arc<TaskDefinition>> {
        let (_, body) = arn.split_once(":task-definition/")?;
        let (family, revision) = body.rsplit_once(':')?;
        let number = revision.parse::<u32>().ok()?;
        self.families
            .get(family)?
            .revisions
            .get(&number)
            .filter(|d| d.task_definition_arn.as_deref() == Some(arn))
    }

    /// Moves a revision to INACTIVE (TD-LIFE-DEREGISTER); idempotent on an INACTIVE revision.
    pub fn deregister(
        &mut self,
        reference: &str,
        at: Timestamp,
    ) -> Result<TaskDefinition, RegistryError> {
        let (name, number) = self.revision_reference(reference)?;
        let definition = self
            .families
            .get_mut(&name)
            .and_then(|family| family.revisions.get_mut(&number))
            .map(Arc::make_mut)
            .ok_or_else(|| RegistryError::NotFound(reference.to_string()))?;
        if definition.status == Some(TaskDefinitionStatus::Active) {
            definition.status = Some(TaskDefinitionStatus::Inactive);
            definition.deregistered_at = Some(at);
        }
        Ok(definition.clone())
    }

    /// Requests deletion of INACTIVE revisions (TD-LIFE-DELETE): each accepted one moves to
    /// DELETE_IN_PROGRESS; the others come back as `(reference, reason)` failures.
    pub fn delete(
        &mut self,
        references: &[String],
        at: Timestamp,
    ) -> Result<Deletion, RegistryError> {
        if references.len() > MAX_DELETE_REFERENCES {
            return Err(RegistryError::TooManyReferences);
        }
        let mut deleted = Vec::new();
        let mut failures = Vec::new();
        for reference in references {
            let Ok((name, number)) = self.revision_reference(reference) else {
                failures.push((
                    reference.clone(),
                    "The specified task definition does not exist.".to_string(),
                ));
                continue;
            };
            let Some(definition) = self
                .families
                .get_mut(&name)
                .and_then(|family| family.revisions.get_mut(&number))
                .map(Arc::make_mut)
            else {
                failures.push((
                    reference.clone(),
                    "The specified task definition does not exist.".to_string(),
                ));
                continue;
            };
            match definition.status {
                Some(TaskDefinitionStatus::Active) => failures.push((
                    reference.clone(),
                    "The specified task definition is still in ACTIVE status. Please deregister the target and try again.".to_string(),
                )),
                Some(TaskDefinitionStatus::DeleteInProgress) => deleted.push(definition.clone()),
                _ => {
                    definition.status = Some(TaskDefinitionStatus::DeleteInProgress);
                    definition.delete_requested_at = Some(at);
                    deleted.push(definition.clone());
                }
            }
        }
        Ok(Deletion { deleted, failures })
    }

    /// Removes DELETE_IN_PROGRESS revisions that `in_use` says nothing references any more.
    /// The family's revision counter survives (TD-REG-REVISION).
    pub fn purge(&mut self, in_use: impl Fn(&str) -> bool) {
        for family in self.families.values_mut() {
            family.revisions.retain(|_, definition| {
                definition.status != Some(TaskDefinitionStatus::DeleteInProgress)
                    || definition
                        .task_definition_arn
                        .as_deref()
                        .is_some_and(&in_use)
            });
        }
    }

    /// Task-definition ARNs (TD-LIST): families in name order, revisions ascending (or both
    /// descending), filtered by exact family and by status (`None` = every status).
    pub fn list(
        &self,
        family: Option<&str>,
        status: Option<&TaskDefinitionStatus>,
        descending: bool,
    ) -> Vec<String> {
        let mut arns: Vec<String> = self
            .families
            .iter()
            .filter(|(name, _)| family.is_none_or(|wanted| wanted == name.as_str()))
            .flat_map(|(_, f)| f.revisions.values())
            .filter(|d| status.is_none_or(|wanted| d.status.as_ref() == Some(wanted)))
            .filter_map(|d| d.task_definition_arn.clone())
            .collect();
        if descending {
            arns.reverse();
        }
        arns
    }

    /// Family names starting with `prefix` that have a revision in `status` (`None` = any
    /// revision at all), in name order (TD-LIST).
    pub fn families(&self, prefix: &str, status: Option<&TaskDefinitionStatus>) -> Vec<String> {
        self.families
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter(|(_, family)| {
                family
                    .revisions
                    .values()
                    .any(|d| status.is_none_or(|wanted| d.status.as_ref() == Some(wanted)))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every stored revision, families in name order, revisions ascending.
    pub fn iter(&self) -> impl Iterator<Item = &TaskDefinition> {
        self.families
            .values()
            .flat_map(|family| family.revisions.values())
            .map(Arc::as_ref)
    }

    fn revision_reference(&self, reference: &str) -> Result<(String, u32), RegistryError> {
        match Reference::parse(reference)? {
            Reference::Family(_) => Err(RegistryError::RevisionMissing(reference.to_string())),
            Reference::Revision(name, number) => Ok((name, number)),
        }
    }
}

/// The launch types a request passes validation for, in the fixed order
/// `EXTERNAL, EC2, MANAGED_INSTANCES, FARGATE` (TD-COMPUTED-COMPATIBILITIES).
///
/// Each launch type's rules run on a copy of the request that declares just that type; EC2 is
/// included whenever its rules pass, which they do for any definition that registered unless an
/// EC2-only rule fails.
pub fn compatibilities(request: &RegisterTaskDefinitionRequest) -> Vec<Compatibility> {
    [
        Compatibility::External,
        Compatibility::Ec2,
        Compatibility::ManagedInstances,
        Compatibility::Fargate,
    ]
    .into_iter()
    .filter(|target| {
        let mut probe = request.clone();
        probe.requires_compatibilities = Some(vec![target.clone()]);
        !validate::validate(&probe)
            .iter()
            .any(|d| d.severity == Severity::Error)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FromJson;

    fn request(json: serde_json::Value) -> RegisterTaskDefinitionRequest {
        RegisterTaskDefinitionRequest::from_value(&json).unwrap()
    }

    fn web() -> RegisterTaskDefinitionRequest {
        request(serde_json::json!({
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]
        }))
    }

    fn at(secs: i64) -> Registration {
        Registration::by_root("123456789012", secs)
    }

    // TD-REG-REVISION: revisions count from 1 and are never reused.
    #[test]
    fn td_reg_revision_never_reused() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        for expected in 1..=3 {
            let d = registry.register(&web(), &at(0)).unwrap();
            assert_eq!(d.revision, Some(expected));
        }
        registry
            .deregister("web:3", Timestamp::from_secs(1))
            .unwrap();
        registry
            .delete(&["web:3".to_string()], Timestamp::from_secs(2))
            .unwrap();
        registry.purge(|_| false);
        assert!(registry.describe("web:3").is_err());
        assert_eq!(registry.register(&web(), &at(3)).unwrap().revision, Some(4));
    }

    // TD-REG-ARN, TD-REG-STATUS, TD-REG-TIMESTAMPS, TD-REG-REGISTEREDBY.
    #[test]
    fn td_reg_arn_status_time_and_caller() {
        let mut registry = Registry::new("eu-west-1", "111122223333");
        let d = registry
            .register(
                &web(),
                &Registration {
                    registered_by: "arn:aws:iam::111122223333:user/alice".to_string(),
                    at: Timestamp::from_secs(1_700_000_000),
                },
            )
            .unwrap();
        assert_eq!(
            d.task_definition_arn.as_deref(),
            Some("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:1")
        );
        assert_eq!(d.status, Some(TaskDefinitionStatus::Active));
        assert_eq!(d.registered_at, Some(Timestamp::from_secs(1_700_000_000)));
        assert_eq!(
            d.registered_by.as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
    }

    // TD-LOOKUP-FORMS, TD-LOOKUP-INACTIVE, TD-LOOKUP-NOT-FOUND.
    #[test]
    fn td_lookup_forms_and_inactive() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        registry.register(&web(), &at(0)).unwrap();
        registry.register(&web(), &at(0)).unwrap();
        registry
            .deregister("web:2", Timestamp::from_secs(5))
            .unwrap();
        assert_eq!(registry.describe("web").unwrap().revision, Some(1));
        assert_eq!(
            registry.describe("web:2").unwrap().status,
            Some(TaskDefinitionStatus::Inactive)
        );
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
        assert_eq!(registry.describe(arn).unwrap().revision, Some(2));
        assert!(matches!(
            registry.describe("web:9"),
            Err(RegistryError::NotFound(_))
        ));
        assert!(matches!(
            registry.describe("nope"),
            Err(RegistryError::NotFound(_))
        ));
    }

    // TD-LIFE-DEREGISTER: a bare family is refused; deregistering twice is idempotent.
    #[test]
    fn td_life_deregister_needs_a_revision() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        registry.register(&web(), &at(0)).unwrap();
        assert!(matches!(
            registry.deregister("web", Timestamp::from_secs(1)),
            Err(RegistryError::RevisionMissing(_))
        ));
        let first = registry
            .deregister("web:1", Timestamp::from_secs(1))
            .unwrap();
        let second = registry
            .deregister("web:1", Timestamp::from_secs(2))
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(second.deregistered_at, Some(Timestamp::from_secs(1)));
    }

    // TD-LIFE-DELETE: only INACTIVE revisions; per-item failures; at most 10.
    #[test]
    fn td_life_delete_only_inactive() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        registry.register(&web(), &at(0)).unwrap();
        registry.register(&web(), &at(0)).unwrap();
        registry
            .deregister("web:1", Timestamp::from_secs(1))
            .unwrap();
        let Deletion { deleted, failures } = registry
            .delete(
                &["web:1".to_string(), "web:2".to_string()],
                Timestamp::from_secs(2),
            )
            .unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!(
            deleted[0].status,
            Some(TaskDefinitionStatus::DeleteInProgress)
        );
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, "web:2");
        let eleven: Vec<String> = (1..=11).map(|n| format!("web:{n}")).collect();
        assert_eq!(
            registry.delete(&eleven, Timestamp::from_secs(3)),
            Err(RegistryError::TooManyReferences)
        );
    }

    // TD-LIST: sorted by family then revision; families by prefix.
    #[test]
    fn td_list_order_and_filters() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        let mut other = web();
        other.family = Some("api".to_string());
        registry.register(&web(), &at(0)).unwrap();
        registry.register(&other, &at(0)).unwrap();
        registry.register(&web(), &at(0)).unwrap();
        registry
            .deregister("web:1", Timestamp::from_secs(1))
            .unwrap();
        let active = registry.list(None, Some(&TaskDefinitionStatus::Active), false);
        let names: Vec<&str> = active
            .iter()
            .map(|a| a.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["api:1", "web:2"]);
        assert_eq!(registry.list(Some("web"), None, true).len(), 2);
        assert_eq!(registry.families("w", None), ["web"]);
        assert_eq!(
            registry.families("", Some(&TaskDefinitionStatus::Inactive)),
            ["web"]
        );
    }

    // TD-COMPUTED-COMPATIBILITIES: a bridge definition with container memory is EC2 (and
    // EXTERNAL); a valid awsvpc Fargate definition adds FARGATE.
    #[test]
    fn td_computed_compatibilities() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        let bridge = registry.register(&web(), &at(0)).unwrap();
        let listed = bridge.compatibilities.unwrap();
        assert!(listed.contains(&Compatibility::Ec2));
        assert!(!listed.contains(&Compatibility::Fargate));
        let fargate = request(serde_json::json!({
            "family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "web", "image": "nginx"}]
        }));
        let listed = registry
            .register(&fargate, &at(0))
            .unwrap()
            .compatibilities
            .unwrap();
        assert!(listed.contains(&Compatibility::Ec2));
        assert!(listed.contains(&Compatibility::Fargate));
    }

    #[test]
    fn an_invalid_request_changes_nothing() {
        let mut registry = Registry::new("us-east-1", "123456789012");
        let before = registry.clone();
        let bad = request(serde_json::json!({"family": "x y", "containerDefinitions": []}));
        assert!(matches!(
            registry.register(&bad, &at(0)),
            Err(RegistryError::Invalid(_))
        ));
        assert_eq!(registry, before);
    }
}
