//! The in-memory ECS control plane: clusters, task definitions, container instances and tasks,
//! driven by a logical clock.
//!
//! [`Ecs`] owns everything: the clock (epoch seconds, moved only by [`Ecs::advance`]), a seeded
//! id generator (task and container-instance ids are 32 hex characters, ARNs in ECS's long
//! format with the cluster name inside), the task-definition [`Registry`], and per cluster the
//! placement [`ClusterState`](crate::state::ClusterState) plus the ECS records that describe it.
//!
//! Operations take AWS-shaped requests (`model::*Request`) and return AWS-shaped responses or an
//! [`Error`]; the `api` layer turns errors into ECS exception names. Every operation checks
//! everything before it changes anything, so a call that fails leaves the state as it was.

mod agent;
pub mod asg;
mod availability;
pub mod capacity;
mod clusters;
mod definitions;
mod error;
pub mod execution;
pub mod iam;
mod ids;
pub mod instance_types;
mod instances;
mod services;
mod tags;
mod task_json;
mod task_record;
mod tasks;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use agent::default_capability_attributes;
pub use asg::{AutoScalingGroup, GroupInstance, GroupSpec};
pub use availability::{AvailabilityReport, InstanceTasks, LossOutcome, ServiceAvailability};
pub use capacity::{ProviderRecord, ScalingState};
pub use clusters::Cluster;
pub use error::Error;
pub use ids::IdGenerator;
pub use instances::InstanceRecord;
pub use services::{
    Fault, FaultMode, HEALTHY_AFTER_SECS, Rebalance, ServiceRecord, circuit_breaker_threshold,
    deployment_bounds, rebalancing_incompatibility,
};
pub use task_json::TaskJson;
pub use task_record::{TaskRecord, TaskStatus};
pub use tasks::RunTaskJson;

use crate::model::Timestamp;
use crate::registry::Registry;

/// How an [`Ecs`] starts: which account and Region it plays, its seed and start time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsConfig {
    /// The AWS Region in every ARN (default `us-east-1`).
    pub region: String,
    /// The account id in every ARN (default `123456789012`).
    pub account: String,
    /// Seeds the id generator and placement's `random` draws (default 0).
    pub seed: u64,
    /// The clock's start, in epoch seconds (default 1704067200 = 2024-01-01T00:00:00Z).
    pub start_time: i64,
}

impl Default for EcsConfig {
    fn default() -> Self {
        EcsConfig {
            region: "us-east-1".to_string(),
            account: "123456789012".to_string(),
            seed: 0,
            start_time: 1_704_067_200,
        }
    }
}

/// The ids or ARNs a Describe* call names, checked for its size: 1 to `max` items, with ECS's
/// `InvalidParameterException` texts for an empty and an oversized list.
pub(crate) fn describe_batch<'a>(
    wanted: Option<&'a [String]>,
    max: usize,
    empty: &str,
    too_many: &str,
) -> Result<&'a [String], Error> {
    let wanted = wanted.unwrap_or_default();
    if wanted.is_empty() {
        return Err(error::invalid(empty));
    }
    if wanted.len() > max {
        return Err(error::invalid(too_many));
    }
    Ok(wanted)
}

/// Whether a Describe* `include` list asks for `TAGS`.
pub(crate) fn includes_tags<'a>(fields: impl IntoIterator<Item = &'a str>) -> bool {
    fields.into_iter().any(|field| field == "TAGS")
}

/// Who is calling: recorded where ECS records it (`registeredBy`, ...), and where the
/// authorization layer will sit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The calling principal's ARN.
    pub principal_arn: String,
    /// Global condition keys of the caller's session (`aws:SourceIp`,
    /// `aws:MultiFactorAuthPresent`, ...; `Sim.SetCaller`'s `context`): a string, number or
    /// boolean, or a list of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, serde_json::Value>,
}

impl Caller {
    /// The account's root user.
    pub fn root(account: &str) -> Self {
        Caller::new(format!("arn:aws:iam::{account}:root"))
    }

    /// A caller with no extra context keys.
    pub fn new(principal_arn: impl Into<String>) -> Self {
        Caller {
            principal_arn: principal_arn.into(),
            context: BTreeMap::new(),
        }
    }
}

/// The whole in-memory ECS of one account in one Region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Ecs {
    config: EcsConfig,
    now: i64,
    ids: IdGenerator,
    registry: Registry,
    clusters: IndexMap<String, Cluster>,
    /// Subnet id → Availability Zone, declared by the harness (`Sim.CreateSubnet`).
    subnets: BTreeMap<String, String>,
    /// Tags of task definitions, by ARN (other resources keep their own).
    task_definition_tags: BTreeMap<String, Vec<crate::model::Tag>>,
    /// Faults the harness injected into new tasks (`Sim.FailTasks`).
    #[serde(default)]
    faults: Vec<Fault>,
    /// Auto Scaling group capacity providers by name (CP-KINDS; FARGATE/FARGATE_SPOT are
    /// implicit).
    #[serde(default)]
    capacity_providers: IndexMap<String, ProviderRecord>,
    /// Simulated Auto Scaling groups by name (`Sim.CreateAutoScalingGroup`).
    #[serde(default)]
    auto_scaling_groups: IndexMap<String, AutoScalingGroup>,
    /// IAM users, roles, policies and the harness caller (issue 10, permissions).
    #[serde(default, skip_serializing_if = "iam::IamStore::is_empty")]
    iam: iam::IamStore,
}

// The derived (de)serialisers above are `Ecs::serialize` / `Ecs::deserialize` (remote = "Self");
// the trait impls wrap them so that a restored state shares each task's definition with the
// registry again (snapshots write a task's definition as its ARN).
impl Serialize for Ecs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Ecs::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Ecs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut ecs = Ecs::deserialize(deserializer)?;
        let registry = &ecs.registry;
        for cluster in ecs.clusters.values_mut() {
            for record in cluster.tasks.values_mut() {
                record.relink(registry);
            }
        }
        Ok(ecs)
    }
}

impl Ecs {
    /// An empty ECS.
    pub fn new(config: EcsConfig) -> Self {
        Ecs {
            now: config.start_time,
            ids: IdGenerator::new(config.seed),
            registry: Registry::new(&config.region, &config.account),
            clusters: IndexMap::new(),
            subnets: BTreeMap::new(),
            task_definition_tags: BTreeMap::new(),
            faults: Vec::new(),
            capacity_providers: IndexMap::new(),
            auto_scaling_groups: IndexMap::new(),
            iam: iam::IamStore::default(),
            config,
        }
    }

    /// The configuration it started from.
    pub fn config(&self) -> &EcsConfig {
        &self.config
    }

    /// The caller that harness steps act as: the principal chosen by `Sim.SetCaller`, the
    /// account root by default. The scenario runner and the wire server call with it.
    pub fn harness_caller(&self) -> Caller {
        self.chosen_caller()
            .cloned()
            .unwrap_or_else(|| Caller::root(&self.config.account))
    }

    /// The caller that a request signed with `access_key_id` acts as (the wire server's
    /// mapping): the user that owns the key, else [`Ecs::harness_caller`].
    pub fn caller_for_access_key(&self, access_key_id: &str) -> Caller {
        self.access_key_caller(access_key_id)
            .unwrap_or_else(|| self.harness_caller())
    }

    /// The logical clock, in epoch seconds.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The clock as an AWS timestamp.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from_secs(self.now)
    }

    /// The task-definition store.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The clusters in creation order (INACTIVE ones included).
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.values()
    }

    /// Back to an empty state with the same configuration.
    pub fn reset(&mut self) {
        *self = Ecs::new(self.config.clone());
    }

    /// Declares the Availability Zone of a subnet (`Sim.CreateSubnet`).
    pub fn create_subnet(&mut self, subnet_id: &str, availability_zone: &str) -> Result<(), Error> {
        if subnet_id.is_empty() || availability_zone.is_empty() {
            return Err(Error::InvalidParameter(
                "subnetId and availabilityZone must not be empty.".to_string(),
            ));
        }
        self.subnets
            .insert(subnet_id.to_string(), availability_zone.to_string());
        Ok(())
    }

    /// The Availability Zone of a subnet: the declared one, else `<region>a` (the documented
    /// default for subnets the harness never declared).
    pub fn subnet_zone(&self, subnet_id: &str) -> String {
        self.subnets
            .get(subnet_id)
            .cloned()
            .unwrap_or_else(|| format!("{}a", self.config.region))
    }

    fn arn(&self, resource: &str) -> String {
        self.arn_of(&[resource])
    }

    /// [`Ecs::arn`] of a resource given in pieces (`task/`, cluster, `/`, id), built without
    /// a temporary string.
    fn arn_of(&self, pieces: &[&str]) -> String {
        let (region, account) = (&self.config.region, &self.config.account);
        let length = "arn:aws:ecs:::".len()
            + region.len()
            + account.len()
            + pieces.iter().map(|p| p.len()).sum::<usize>();
        let mut arn = String::with_capacity(length);
        for piece in ["arn:aws:ecs:", region, ":", account, ":"]
            .into_iter()
            .chain(pieces.iter().copied())
        {
            arn.push_str(piece);
        }
        arn
    }

    /// The whole state as JSON in a stable order (`Sim.Snapshot`).
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Restores a state written by [`Ecs::snapshot`].
    pub fn restore(snapshot: &serde_json::Value) -> Result<Ecs, Error> {
        serde_json::from_value(snapshot.clone())
            .map_err(|err| Error::InvalidParameter(format!("not a stowplan snapshot: {err}")))
    }
}
