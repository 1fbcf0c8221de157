//! Capacity providers (placement-and-services.md §7): CreateCapacityProvider,
//! UpdateCapacityProvider, DeleteCapacityProvider, DescribeCapacityProviders,
//! PutClusterCapacityProviders; strategies at launch (CP-STRATEGY-RULES, CP-DEFAULT-STRATEGY,
//! CP-DISTRIBUTION, CP-PLACE-PER-PROVIDER); and managed scaling (CP-CPR).
//!
//! Choices where ECS publishes no algorithm (each `[inferred]`, see README "Scaling in and out"):
//! - a task assigned to an Auto Scaling group provider that no instance of the group can take
//!   is created and stays `PROVISIONING` without an instance; every `Sim.Advance` tries to place
//!   it again. If the provider has managed scaling off, it stops on the next tick with
//!   `TaskFailedToStart` and the reason `TaskFailedToStart: EMPTY CAPACITY PROVIDER`,
//!   `TaskFailedToStart: NO ACTIVE INSTANCES` or the placement reason;
//! - a waiting task is placed with the service's constraints and strategy (service tasks) or
//!   RunTask's default strategy and the task definition's constraints (standalone tasks);
//! - the `CapacityProviderReservation` metric counts, per group of identical PROVISIONING tasks,
//!   the new instances of the group's instance type they need, and takes the largest group's
//!   figure (CAS-BLOG); see [`Ecs::capacity_provider_metrics`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::invalid;
use super::tasks::{Launch, StartedTasks, demand_for};
use super::{Cluster, Ecs, Error};
use super::{TaskRecord, TaskStatus};
use crate::model::{
    self, CapacityProviderStatus, CapacityProviderStrategyItem, CapacityProviderType,
    CapacityProviderUpdateStatus, LaunchType, ManagedDraining, ManagedScalingStatus,
    ManagedTerminationProtection, TaskStopCode,
};
use crate::placement::{self, PlacementRequest};
use crate::state::{ClusterState, InstanceIdx, InstanceStatus};

/// At most this many items in a capacity provider strategy (CP-STRATEGY-RULES, current value).
pub const MAX_STRATEGY_ITEMS: usize = 20;
/// At most this many capacity providers associated with one cluster (QUOTA-TABLE, inferred).
pub const MAX_PROVIDERS_PER_CLUSTER: usize = 20;
/// At most this many capacity providers per account (stowplan's figure, inferred).
pub const MAX_PROVIDERS: usize = 500;
/// The predefined Fargate providers (CP-KINDS).
pub const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];
/// Seconds the reservation metric must stay below target before a managed scale-in (15
/// one-minute data points, CP-CPR), and the pause after a scale-out before any scale-in.
pub const SCALE_IN_AFTER_SECS: i64 = 900;

const NAME_MESSAGE: &str = "The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\".";

/// What managed scaling remembers between ticks, and the last metric it computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScalingState {
    /// When managed scaling last raised the group's desired capacity.
    pub last_scale_out_at: Option<i64>,
    /// Since when the wanted instance count has been below the group's desired capacity.
    pub below_since: Option<i64>,
    /// The last `CapacityProviderReservation` value (CP-CPR).
    pub reservation: Option<f64>,
    /// The last M (instances needed) and N (instances running) of CP-CPR.
    pub needed: i64,
    /// N of CP-CPR.
    pub running: i64,
}

/// One Auto Scaling group capacity provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// The provider as DescribeCapacityProviders shows it (tags included).
    pub provider: model::CapacityProvider,
    /// Managed scaling's memory.
    #[serde(default)]
    pub scaling: ScalingState,
}

impl ProviderRecord {
    /// The provider name.
    pub fn name(&self) -> &str {
        self.provider.name.as_deref().unwrap_or_default()
    }

    fn settings(&self) -> model::AutoScalingGroupProvider {
        self.provider
            .auto_scaling_group_provider
            .clone()
            .unwrap_or_default()
    }

    /// The ASG ARN or name it was created with.
    pub fn group_reference(&self) -> String {
        self.settings().auto_scaling_group_arn.unwrap_or_default()
    }

    /// Whether managed scaling is ENABLED.
    pub fn managed_scaling(&self) -> bool {
        self.settings()
            .managed_scaling
            .and_then(|m| m.status)
            .is_some_and(|s| s == ManagedScalingStatus::Enabled)
    }

    /// Whether managed termination protection is ENABLED (CP-MANAGED-TERMINATION).
    pub fn termination_protection(&self) -> bool {
        self.settings().managed_termination_protection
            == Some(ManagedTerminationProtection::Enabled)
    }

    /// Whether managed draining is ENABLED (CP-MANAGED-DRAINING).
    pub fn managed_draining(&self) -> bool {
        self.settings().managed_draining != Some(ManagedDraining::Disabled)
    }

    /// `(targetCapacity, minimumScalingStepSize, maximumScalingStepSize, instanceWarmupPeriod)`.
    pub fn scaling_numbers(&self) -> (i64, i64, i64, i64) {
        let m = self.settings().managed_scaling.unwrap_or_default();
        (
            i64::from(m.target_capacity.unwrap_or(100)),
            i64::from(m.minimum_scaling_step_size.unwrap_or(1)),
            i64::from(m.maximum_scaling_step_size.unwrap_or(10_000)),
            i64::from(m.instance_warmup_period.unwrap_or(300)),
        )
    }

    fn is_active(&self) -> bool {
        self.provider.status == Some(CapacityProviderStatus::Active)
    }
}

/// One step of CP-DISTRIBUTION: which item of `strategy` the next task goes to, given the
/// tasks `counts[i]` already on each item's provider. `None` when no item can take a task
/// (every weight 0 and every base reached).
pub fn next_provider(strategy: &[CapacityProviderStrategyItem], counts: &[u64]) -> Option<usize> {
    let base_item = strategy.iter().position(|i| i.base.unwrap_or(0) > 0);
    let base = base_item
        .map(|i| strategy[i].base.unwrap_or(0) as u64)
        .unwrap_or(0);
    if let Some(b) = base_item
        && counts.get(b).copied().unwrap_or(0) < base
    {
        return Some(b);
    }
    let weights: Vec<u64> = strategy
        .iter()
        .map(|i| i.weight.unwrap_or(0).max(0) as u64)
        .collect();
    let total_weight: u64 = weights.iter().sum();
    if total_weight == 0 {
        // A single item of weight 0 takes everything (CP-STRATEGY-RULES forbids all-zero
        // weights only with several items).
        return (strategy.len() == 1).then_some(0);
    }
    let beyond = |i: usize| -> u64 {
        let c = counts.get(i).copied().unwrap_or(0);
        if Some(i) == base_item {
            c.saturating_sub(base)
        } else {
            c
        }
    };
    let n: u64 = (0..strategy.len()).map(beyond).sum();
    // Maximise weight_i × (n + 1) / W − c'_i, multiplied through by W; ties → earlier item.
    let mut best: Option<(usize, i128)> = None;
    for (i, &w) in weights.iter().enumerate() {
        if w == 0 {
            continue;
        }
        let score =
            i128::from(w) * i128::from(n + 1) - i128::from(beyond(i)) * i128::from(total_weight);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// CP-DISTRIBUTION for a batch: the strategy item each of `count` new tasks goes to, starting
/// from `counts` tasks already on each provider.
pub fn distribute(
    strategy: &[CapacityProviderStrategyItem],
    counts: &[u64],
    count: usize,
) -> Vec<usize> {
    let mut counts: Vec<u64> = (0..strategy.len())
        .map(|i| counts.get(i).copied().unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(i) = next_provider(strategy, &counts) else {
            break;
        };
        counts[i] += 1;
        out.push(i);
    }
    out
}

/// The totals per strategy item of `count` tasks placed from nothing (CP-DISTRIBUTION).
pub fn totals(strategy: &[CapacityProviderStrategyItem], count: usize) -> Vec<u64> {
    let mut totals = vec![0; strategy.len()];
    for i in distribute(strategy, &[], count) {
        totals[i] += 1;
    }
    totals
}

fn is_fargate_provider(name: &str) -> bool {
    FARGATE_PROVIDERS.contains(&name)
}

/// CP-NAME: 1–255 letters, digits, `_`, `-`, not prefixed `aws`, `ecs`, `fargate` (any case).
pub(crate) fn valid_provider_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    super::clusters::valid_name(name)
        && !["aws", "ecs", "fargate"]
            .iter()
            .any(|prefix| lower.starts_with(prefix))
}

/// The shape rules of a strategy that need no state (CP-STRATEGY-RULES).
fn check_strategy_shape(strategy: &[CapacityProviderStrategyItem]) -> Result<(), Error> {
    if strategy.len() > MAX_STRATEGY_ITEMS {
        return Err(invalid(format!(
            "The capacity provider strategy can have at most {MAX_STRATEGY_ITEMS} items."
        )));
    }
    let mut seen: Vec<&str> = Vec::new();
    for item in strategy {
        let name = item.capacity_provider.as_deref().unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(
                "capacityProvider can not be blank in a capacity provider strategy item.",
            ));
        }
        if seen.contains(&name) {
            return Err(invalid(format!(
                "The capacity provider {name} appears more than once in the capacity provider strategy."
            )));
        }
        seen.push(name);
        if !(0..=1_000).contains(&item.weight.unwrap_or(0)) {
            return Err(invalid(
                "The weight of a capacity provider strategy item must be between 0 and 1000.",
            ));
        }
        if !(0..=100_000).contains(&item.base.unwrap_or(0)) {
            return Err(invalid(
                "The base of a capacity provider strategy item must be between 0 and 100000.",
            ));
        }
    }
    if strategy.iter().filter(|i| i.base.unwrap_or(0) > 0).count() > 1 {
        return Err(invalid(
            "Only one capacity provider in a capacity provider strategy can have a base defined.",
        ));
    }
    if strategy.len() > 1 && strategy.iter().all(|i| i.weight.unwrap_or(0) == 0) {
        return Err(invalid(
            "At least one capacity provider in a capacity provider strategy must have a weight greater than zero.",
        ));
    }
    let fargate = strategy
        .iter()
        .filter(|i| is_fargate_provider(i.capacity_provider.as_deref().unwrap_or_default()))
        .count();
    if fargate > 0 && fargate < strategy.len() {
        return Err(invalid(
            "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.",
        ));
    }
    Ok(())
}

/// The provider names of a strategy.
fn strategy_names(strategy: &[CapacityProviderStrategyItem]) -> Vec<String> {
    strategy
        .iter()
        .map(|i| i.capacity_provider.clone().unwrap_or_default())
        .collect()
}

impl Cluster {
    /// The non-STOPPED tasks that a capacity provider holds (or waits to place).
    fn provider_task_count(&self, provider: &str) -> usize {
        self.tasks
            .values()
            .filter(|t| t.last_status() != "STOPPED")
            .filter(|t| t.capacity_provider_name.as_deref() == Some(provider))
            .count()
    }
}

/// One task's slot in a launch through providers: provider, instance, reservation.
type Slot = (String, Option<InstanceIdx>, Option<crate::state::TaskId>);
/// What identical waiting tasks need: `(cpu, memory, static ports?, gpus, eni)`.
type DemandKey = (u32, u32, bool, u32, bool);

/// A task waiting for capacity: assigned to an ASG provider, no instance yet.
pub(crate) fn is_waiting(record: &TaskRecord) -> bool {
    record.last_status() == "PROVISIONING"
        && record.instance.is_none()
        && !record.is_fargate()
        && record.capacity_provider_name.is_some()
}

impl Ecs {
    // ----- the provider table -------------------------------------------------------------

    fn provider_arn(&self, name: &str) -> String {
        self.arn(&format!("capacity-provider/{name}"))
    }

    fn fargate_provider(&self, name: &str) -> model::CapacityProvider {
        model::CapacityProvider {
            capacity_provider_arn: Some(self.provider_arn(name)),
            name: Some(name.to_string()),
            status: Some(CapacityProviderStatus::Active),
            tags: Some(Vec::new()),
            r#type: Some(if name == "FARGATE" {
                CapacityProviderType::Fargate
            } else {
                CapacityProviderType::FargateSpot
            }),
            ..Default::default()
        }
    }

    /// The provider record a name or ARN refers to (ASG providers only).
    fn provider_key(&self, parameter: &str) -> Option<String> {
        let name = match parameter.split_once(":capacity-provider/") {
            Some((_, name)) if parameter.starts_with("arn:") => name,
            _ => parameter,
        };
        self.capacity_providers
            .contains_key(name)
            .then(|| name.to_string())
    }

    /// The ASG capacity providers, in creation order (INACTIVE ones included).
    pub fn capacity_providers(&self) -> impl Iterator<Item = &ProviderRecord> {
        self.capacity_providers.values()
    }

    /// The ACTIVE cluster a provider is associated with, if any.
    fn provider_cluster(&self, provider: &str) -> Option<String> {
        self.clusters
            .values()
            .filter(|c| c.is_active())
            .find(|c| c.capacity_providers.iter().any(|p| p == provider))
            .map(|c| c.name.clone())
    }

    fn check_scaling_settings(
        managed_scaling: Option<&model::ManagedScaling>,
        termination: Option<&ManagedTerminationProtection>,
    ) -> Result<(), Error> {
        if let Some(m) = managed_scaling {
            let range = |value: Option<i32>, lo: i32, hi: i32, what: &str| {
                if value.is_some_and(|v| !(lo..=hi).contains(&v)) {
                    Err(invalid(format!(
                        "managedScaling.{what} must be between {lo} and {hi}."
                    )))
                } else {
                    Ok(())
                }
            };
            range(m.target_capacity, 1, 100, "targetCapacity")?;
            range(
                m.minimum_scaling_step_size,
                1,
                10_000,
                "minimumScalingStepSize",
            )?;
            range(
                m.maximum_scaling_step_size,
                1,
                10_000,
                "maximumScalingStepSize",
            )?;
            range(m.instance_warmup_period, 0, 10_000, "instanceWarmupPeriod")?;
            if m.minimum_scaling_step_size.unwrap_or(1)
                > m.maximum_scaling_step_size.unwrap_or(10_000)
            {
                return Err(invalid(
                    "managedScaling.minimumScalingStepSize must not be greater than maximumScalingStepSize.",
                ));
            }
        }
        let scaling_on = managed_scaling
            .and_then(|m| m.status.as_ref())
            .is_some_and(|s| *s == ManagedScalingStatus::Enabled);
        if termination == Some(&ManagedTerminationProtection::Enabled) && !scaling_on {
            return Err(invalid(
                "The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the Auto Scaling group must have instance protection from scale in enabled and managed scaling must be enabled.",
            ));
        }
        Ok(())
    }

    /// CreateCapacityProvider (CP-NAME, CP-ASG-SETTINGS): an ACTIVE `EC2_AUTOSCALING` provider.
    pub fn create_capacity_provider(
        &mut self,
        request: &model::CreateCapacityProviderRequest,
    ) -> Result<model::CreateCapacityProviderResponse, Error> {
        let name = request.name.clone().unwrap_or_default();
        if !valid_provider_name(&name) {
            return Err(Error::Client(NAME_MESSAGE.to_string()));
        }
        if request.managed_instances_provider.is_some() {
            return Err(invalid(
                "Managed Instances capacity providers are not supported by this version of stowplan.",
            ));
        }
        let Some(settings) = request.auto_scaling_group_provider.clone() else {
            return Err(invalid("autoScalingGroupProvider can not be null."));
        };
        let group = settings.auto_scaling_group_arn.clone().unwrap_or_default();
        if group.is_empty() {
            return Err(invalid("autoScalingGroupArn can not be blank."));
        }
        if self
            .capacity_providers
            .get(&name)
            .is_some_and(|p| p.provider.status != Some(CapacityProviderStatus::Inactive))
        {
            return Err(Error::Client(
                "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.".to_string(),
            ));
        }
        if self.auto_scaling_group(&group).is_none() {
            return Err(Error::Client(format!(
                "The specified Auto Scaling group ARN {group} is invalid or does not exist."
            )));
        }
        let group_arn = self
            .auto_scaling_group(&group)
            .map(|g| g.arn.clone())
            .unwrap_or_default();
        if self.capacity_providers.values().any(|p| {
            p.provider.status != Some(CapacityProviderStatus::Inactive)
                && self
                    .auto_scaling_group(&p.group_reference())
                    .map(|g| &g.arn)
                    == Some(&group_arn)
        }) {
            return Err(Error::Client(
                "The specified Auto Scaling group is already in use by another capacity provider."
                    .to_string(),
            ));
        }
        Self::check_scaling_settings(
            settings.managed_scaling.as_ref(),
            settings.managed_termination_protection.as_ref(),
        )?;
        let tags = request.tags.clone().unwrap_or_default();
        super::tags::check_tags(&tags)?;
        if self
            .capacity_providers
            .values()
            .filter(|p| p.provider.status != Some(CapacityProviderStatus::Inactive))
            .count()
            >= MAX_PROVIDERS
        {
            return Err(Error::LimitExceeded(format!(
                "An account can have at most {MAX_PROVIDERS} capacity providers."
            )));
        }
        // CP-ASG-SETTINGS defaults, filled in as DescribeCapacityProviders shows them.
        let mut settings = settings;
        settings.auto_scaling_group_arn = Some(group_arn);
        let mut scaling = settings.managed_scaling.clone().unwrap_or_default();
        scaling.status.get_or_insert(ManagedScalingStatus::Disabled);
        scaling.target_capacity.get_or_insert(100);
        scaling.minimum_scaling_step_size.get_or_insert(1);
        scaling.maximum_scaling_step_size.get_or_insert(10_000);
        scaling.instance_warmup_period.get_or_insert(300);
        settings.managed_scaling = Some(scaling);
        settings
            .managed_termination_protection
            .get_or_insert(ManagedTerminationProtection::Disabled);
        settings
            .managed_draining
            .get_or_insert(ManagedDraining::Enabled);
        let provider = model::CapacityProvider {
            capacity_provider_arn: Some(self.provider_arn(&name)),
            name: Some(name.clone()),
            status: Some(CapacityProviderStatus::Active),
            auto_scaling_group_provider: Some(settings),
            update_status: None,
            tags: Some(tags),
            r#type: Some(CapacityProviderType::Ec2Autoscaling),
            ..Default::default()
        };
        self.capacity_providers.shift_remove(&name);
        self.capacity_providers.insert(
            name.clone(),
            ProviderRecord {
                provider: provider.clone(),
                scaling: ScalingState::default(),
            },
        );
        Ok(model::CreateCapacityProviderResponse {
            capacity_provider: Some(provider),
            ..Default::default()
        })
    }

    /// UpdateCapacityProvider: new managed scaling, termination protection or draining
    /// settings (`updateStatus` `UPDATE_COMPLETE`).
    pub fn update_capacity_provider(
        &mut self,
        request: &model::UpdateCapacityProviderRequest,
    ) -> Result<model::UpdateCapacityProviderResponse, Error> {
        let parameter = request.name.clone().unwrap_or_default();
        if is_fargate_provider(&parameter) {
            return Err(Error::Client(
                "The FARGATE and FARGATE_SPOT capacity providers cannot be updated.".to_string(),
            ));
        }
        let key = self
            .provider_key(&parameter)
            .filter(|k| self.capacity_providers[k].is_active())
            .ok_or_else(|| invalid("The specified capacity provider does not exist."))?;
        let Some(update) = request.auto_scaling_group_provider.clone() else {
            return Err(invalid("autoScalingGroupProvider can not be null."));
        };
        let record = &self.capacity_providers[&key];
        let mut settings = record.settings();
        let mut scaling = settings.managed_scaling.clone().unwrap_or_default();
        if let Some(new) = &update.managed_scaling {
            if new.status.is_some() {
                scaling.status = new.status.clone();
            }
            if new.target_capacity.is_some() {
                scaling.target_capacity = new.target_capacity;
            }
            if new.minimum_scaling_step_size.is_some() {
                scaling.minimum_scaling_step_size = new.minimum_scaling_step_size;
            }
            if new.maximum_scaling_step_size.is_some() {
                scaling.maximum_scaling_step_size = new.maximum_scaling_step_size;
            }
            if new.instance_warmup_period.is_some() {
                scaling.instance_warmup_period = new.instance_warmup_period;
            }
        }
        if let Some(p) = &update.managed_termination_protection {
            settings.managed_termination_protection = Some(p.clone());
        }
        if let Some(d) = &update.managed_draining {
            settings.managed_draining = Some(d.clone());
        }
        Self::check_scaling_settings(
            Some(&scaling),
            settings.managed_termination_protection.as_ref(),
        )?;
        settings.managed_scaling = Some(scaling);
        let record = self.capacity_providers.get_mut(&key).expect("found above");
        record.provider.auto_scaling_group_provider = Some(settings);
        record.provider.update_status = Some(CapacityProviderUpdateStatus::UpdateComplete);
        Ok(model::UpdateCapacityProviderResponse {
            capacity_provider: Some(record.provider.clone()),
            ..Default::default()
        })
    }

    /// DeleteCapacityProvider (CP-DELETE): refused for FARGATE/FARGATE_SPOT, while associated
    /// with a cluster, or while a service's strategy names it; otherwise INACTIVE with
    /// `DELETE_COMPLETE` at once (the DEPROVISIONING stage takes no logical time).
    pub fn delete_capacity_provider(
        &mut self,
        request: &model::DeleteCapacityProviderRequest,
    ) -> Result<model::DeleteCapacityProviderResponse, Error> {
        let parameter = request.capacity_provider.clone().unwrap_or_default();
        if is_fargate_provider(&parameter) {
            return Err(Error::Client(
                "The FARGATE and FARGATE_SPOT capacity providers cannot be deleted.".to_string(),
            ));
        }
        let key = self
            .provider_key(&parameter)
            .filter(|k| self.capacity_providers[k].is_active())
            .ok_or_else(|| invalid("The specified capacity provider does not exist."))?;
        if let Some(cluster) = self.provider_cluster(&key) {
            return Err(Error::Client(format!(
                "The specified capacity provider is in use and cannot be removed. It is associated with cluster {cluster}; disassociate it with PutClusterCapacityProviders first."
            )));
        }
        if self.provider_in_use_by_services(&key) {
            return Err(Error::Client(
                "The specified capacity provider is in use by a service and cannot be removed."
                    .to_string(),
            ));
        }
        let record = self.capacity_providers.get_mut(&key).expect("found above");
        record.provider.status = Some(CapacityProviderStatus::Inactive);
        record.provider.update_status = Some(CapacityProviderUpdateStatus::DeleteComplete);
        Ok(model::DeleteCapacityProviderResponse {
            capacity_provider: Some(record.provider.clone()),
            ..Default::default()
        })
    }

    fn provider_in_use_by_services(&self, provider: &str) -> bool {
        self.clusters.values().any(|c| {
            c.services.values().filter(|s| !s.is_inactive()).any(|s| {
                s.service
                    .capacity_provider_strategy
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|i| i.capacity_provider.as_deref() == Some(provider))
            })
        })
    }

    /// Every provider DescribeCapacityProviders lists, in order: FARGATE, FARGATE_SPOT, then
    /// the ASG providers by creation (INACTIVE ones while describable), and the `MISSING`
    /// failures for names that match none.
    pub fn describe_capacity_providers(
        &self,
        request: &model::DescribeCapacityProvidersRequest,
    ) -> Result<(Vec<model::CapacityProvider>, Vec<model::Failure>), Error> {
        let with_tags = super::includes_tags(
            request
                .include
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|f| f.as_str()),
        );
        let show = |mut p: model::CapacityProvider| {
            if !with_tags {
                p.tags = None;
            }
            p
        };
        let mut all: Vec<model::CapacityProvider> = FARGATE_PROVIDERS
            .iter()
            .map(|n| self.fargate_provider(n))
            .collect();
        all.extend(self.capacity_providers.values().map(|r| r.provider.clone()));
        let wanted = request.capacity_providers.as_deref().unwrap_or_default();
        if wanted.len() > 100 {
            return Err(invalid("capacityProviders can have at most 100 items."));
        }
        if wanted.is_empty() {
            let listed = all
                .into_iter()
                .filter(|p| p.status != Some(CapacityProviderStatus::Inactive))
                .map(show)
                .collect();
            return Ok((listed, Vec::new()));
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for parameter in wanted {
            match all.iter().find(|p| {
                p.name.as_deref() == Some(parameter.as_str())
                    || p.capacity_provider_arn.as_deref() == Some(parameter.as_str())
            }) {
                Some(p) => found.push(show(p.clone())),
                None => failures.push(model::Failure {
                    arn: Some(if parameter.starts_with("arn:") {
                        parameter.clone()
                    } else {
                        self.provider_arn(parameter)
                    }),
                    reason: Some("MISSING".to_string()),
                    ..Default::default()
                }),
            }
        }
        Ok((found, failures))
    }

    /// The providers a strategy may name on `cluster`: associated and ACTIVE (CP-ASSOCIATE).
    fn check_strategy_for_cluster(
        &self,
        cluster: &Cluster,
        strategy: &[CapacityProviderStrategyItem],
    ) -> Result<(), Error> {
        check_strategy_shape(strategy)?;
        for name in strategy_names(strategy) {
            if !cluster.capacity_providers.contains(&name) {
                return Err(invalid(format!(
                    "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again. ({name})"
                )));
            }
            if !is_fargate_provider(&name)
                && !self
                    .capacity_providers
                    .get(&name)
                    .is_some_and(ProviderRecord::is_active)
            {
                return Err(invalid(format!(
                    "The specified capacity provider {name} is not ACTIVE."
                )));
            }
        }
        Ok(())
    }

    /// The capacity provider strategy a launch uses (CP-STRATEGY-RULES, CP-DEFAULT-STRATEGY):
    /// the request's, else the cluster default when no launch type is given; `None` means a
    /// plain launch type.
    pub(crate) fn launch_strategy(
        &self,
        cluster: &Cluster,
        launch_type: Option<&LaunchType>,
        strategy: Option<&[CapacityProviderStrategyItem]>,
    ) -> Result<Option<Vec<CapacityProviderStrategyItem>>, Error> {
        let strategy = strategy.filter(|s| !s.is_empty());
        match (launch_type, strategy) {
            (Some(_), Some(_)) => Err(invalid(
                "Specify either Launch Type or Capacity Provider Strategy, but not both.",
            )),
            (Some(_), None) => Ok(None),
            (None, Some(strategy)) => {
                self.check_strategy_for_cluster(cluster, strategy)?;
                Ok(Some(strategy.to_vec()))
            }
            (None, None) if cluster.default_strategy.is_empty() => Ok(None),
            (None, None) => {
                self.check_strategy_for_cluster(cluster, &cluster.default_strategy)?;
                Ok(Some(cluster.default_strategy.clone()))
            }
        }
    }

    /// The launch type a strategy's tasks use: FARGATE for the Fargate providers, EC2 for
    /// Auto Scaling group providers.
    pub(crate) fn strategy_launch_type(strategy: &[CapacityProviderStrategyItem]) -> LaunchType {
        if strategy
            .first()
            .and_then(|i| i.capacity_provider.as_deref())
            .is_some_and(is_fargate_provider)
        {
            LaunchType::Fargate
        } else {
            LaunchType::Ec2
        }
    }

    /// The launch type a service's tasks use: its own, or the one its strategy implies.
    pub(crate) fn service_launch_type(service: &model::Service) -> Option<LaunchType> {
        match (
            &service.launch_type,
            service.capacity_provider_strategy.as_deref(),
        ) {
            (Some(l), _) => Some(l.clone()),
            (None, Some(s)) if !s.is_empty() => Some(Self::strategy_launch_type(s)),
            _ => None,
        }
    }

    /// UpdateService `capacityProviderStrategy` (CP-DEFAULT-STRATEGY): `None` = no change; an
    /// empty list reverts to the cluster default (an error when there is none and the service
    /// was not created with a launch type); a new strategy starts a new deployment.
    pub(crate) fn update_strategy(
        &self,
        cluster_key: &str,
        record: &super::ServiceRecord,
        request: &model::UpdateServiceRequest,
    ) -> Result<Option<Vec<CapacityProviderStrategyItem>>, Error> {
        let Some(wanted) = request.capacity_provider_strategy.as_deref() else {
            return Ok(None);
        };
        let cluster = &self.clusters[cluster_key];
        let current = record
            .service
            .capacity_provider_strategy
            .clone()
            .unwrap_or_default();
        if wanted.is_empty() {
            if record.service.launch_type.is_some() {
                return Ok(None);
            }
            if cluster.default_strategy.is_empty() {
                return Err(invalid(
                    "No launch type to fall back to for empty capacity provider strategy. Your service was not created with a launch type.",
                ));
            }
            self.check_strategy_for_cluster(cluster, &cluster.default_strategy)?;
            return Ok(
                (cluster.default_strategy != current).then(|| cluster.default_strategy.clone())
            );
        }
        if record.is_daemon() {
            return Err(invalid(
                "Capacity provider strategies are not supported with the DAEMON scheduling strategy.",
            ));
        }
        self.check_strategy_for_cluster(cluster, wanted)?;
        let old_type = Self::service_launch_type(&record.service);
        if old_type.is_some() && old_type != Some(Self::strategy_launch_type(wanted)) {
            return Err(invalid(
                "Updating a service from Fargate to EC2 capacity (or back) is not supported; create a new service.",
            ));
        }
        Ok((wanted != current.as_slice()).then(|| wanted.to_vec()))
    }

    /// PutClusterCapacityProviders (CP-ASSOCIATE): replaces the cluster's providers and default
    /// strategy wholesale; removing a provider a service or a non-STOPPED task uses is
    /// `ResourceInUse`.
    pub fn put_cluster_capacity_providers(
        &mut self,
        request: &model::PutClusterCapacityProvidersRequest,
    ) -> Result<model::PutClusterCapacityProvidersResponse, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let (Some(providers), Some(strategy)) = (
            request.capacity_providers.clone(),
            request.default_capacity_provider_strategy.clone(),
        ) else {
            return Err(invalid(
                "capacityProviders and defaultCapacityProviderStrategy are required.",
            ));
        };
        self.check_association(&cluster.name, &providers, &strategy)?;
        for removed in cluster
            .capacity_providers
            .iter()
            .filter(|p| !providers.contains(p))
        {
            let by_service = cluster
                .services
                .values()
                .filter(|s| !s.is_inactive())
                .any(|s| {
                    s.service
                        .capacity_provider_strategy
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .any(|i| i.capacity_provider.as_deref() == Some(removed.as_str()))
                });
            if by_service || cluster.provider_task_count(removed) > 0 {
                return Err(Error::ResourceInUse(format!(
                    "The specified capacity provider {removed} is in use and cannot be removed."
                )));
            }
        }
        let key = cluster.name.clone();
        let cluster = self.clusters.get_mut(&key).expect("checked above");
        cluster.capacity_providers = providers;
        cluster.default_strategy = strategy;
        Ok(model::PutClusterCapacityProvidersResponse {
            cluster: Some(cluster.describe(false, false)),
            ..Default::default()
        })
    }

    /// The checks on a cluster's provider list and default strategy (CreateCluster,
    /// PutClusterCapacityProviders).
    pub(crate) fn check_association(
        &self,
        cluster: &str,
        providers: &[String],
        strategy: &[CapacityProviderStrategyItem],
    ) -> Result<(), Error> {
        if providers.len() > MAX_PROVIDERS_PER_CLUSTER {
            return Err(Error::LimitExceeded(format!(
                "A cluster can have at most {MAX_PROVIDERS_PER_CLUSTER} capacity providers."
            )));
        }
        for (i, name) in providers.iter().enumerate() {
            if providers[..i].contains(name) {
                return Err(invalid(format!(
                    "The capacity provider {name} is listed more than once."
                )));
            }
            if is_fargate_provider(name) {
                continue;
            }
            let record = self
                .capacity_providers
                .get(name)
                .filter(|p| p.is_active())
                .ok_or_else(|| {
                    invalid(format!(
                        "The specified capacity provider {name} does not exist or is not ACTIVE."
                    ))
                })?;
            if let Some(other) = self.provider_cluster(name)
                && other != cluster
            {
                return Err(invalid(format!(
                    "The capacity provider {} is already associated with cluster {other}; a capacity provider can be associated with only one cluster.",
                    record.name()
                )));
            }
        }
        check_strategy_shape(strategy)?;
        for name in strategy_names(strategy) {
            if !providers.contains(&name) {
                return Err(invalid(format!(
                    "The default capacity provider strategy names {name}, which is not among the cluster's capacity providers."
                )));
            }
        }
        Ok(())
    }

    // ----- launching through providers ------------------------------------------------------

    /// The instances of a provider's Auto Scaling group in `cluster` that are not being
    /// terminated.
    fn provider_instances(&self, cluster: &Cluster, provider: &str) -> Vec<InstanceIdx> {
        let Some(record) = self.capacity_providers.get(provider) else {
            return Vec::new();
        };
        let Some(group) = self.auto_scaling_group(&record.group_reference()) else {
            return Vec::new();
        };
        group
            .instances
            .iter()
            .filter(|i| i.cluster == cluster.name)
            .filter_map(|i| cluster.instances.get(&i.container_instance_arn))
            .map(|r| r.idx)
            .collect()
    }

    /// Plans `request` on the instances in `allowed` only (CP-PLACE-PER-PROVIDER) and commits
    /// it to `state`: the other ACTIVE instances are set DRAINING on a trial copy for the plan
    /// and back to ACTIVE afterwards. Returns the outcomes and the new reservations.
    fn place_on(
        state: &mut ClusterState,
        allowed: &[InstanceIdx],
        request: &PlacementRequest,
    ) -> Option<(Vec<placement::Outcome>, Vec<crate::state::TaskId>)> {
        let mut trial = state.clone();
        let hidden: Vec<InstanceIdx> = trial
            .instances()
            .filter(|(idx, i)| i.status() == InstanceStatus::Active && !allowed.contains(idx))
            .map(|(idx, _)| idx)
            .collect();
        for idx in &hidden {
            trial.set_status(*idx, InstanceStatus::Draining).ok()?;
        }
        let plan = placement::plan(&trial, request).ok()?;
        let outcomes = plan.outcomes().to_vec();
        let reservations = plan.apply(&mut trial).ok()?;
        for idx in &hidden {
            trial.set_status(*idx, InstanceStatus::Active).ok()?;
        }
        *state = trial;
        Some((outcomes, reservations))
    }

    /// Creates `count` tasks for the providers `assigned` (one strategy item per task):
    /// Fargate tasks at once, ASG tasks placed on their group's instances or left waiting in
    /// PROVISIONING. Works on a trial copy of the placement state and commits at the end.
    #[allow(clippy::too_many_arguments)]
    fn launch_through_providers(
        &mut self,
        cluster_key: &str,
        launch: &Launch,
        strategy: &[CapacityProviderStrategyItem],
        assigned: &[usize],
        first_index: usize,
        overrides: Option<model::TaskOverride>,
        started_by: Option<String>,
        tags: Option<Vec<model::Tag>>,
    ) -> (Vec<TaskRecord>, Option<placement::Failure>) {
        let cluster = &self.clusters[cluster_key];
        let mut state = cluster.state.clone();
        // Per task: (provider, instance, reservation).
        let mut slots: Vec<Slot> = Vec::new();
        let mut first_failure = None;
        let mut demand = demand_for(&launch.definition, overrides.as_ref());
        if !launch.subnets.is_empty() {
            demand = demand.with_availability_zones(
                launch.subnets.iter().map(|s| self.subnet_zone(s)).collect(),
            );
        }
        for (item, spec) in strategy.iter().enumerate() {
            let name = spec.capacity_provider.clone().unwrap_or_default();
            let n = assigned.iter().filter(|&&i| i == item).count();
            if n == 0 {
                continue;
            }
            if is_fargate_provider(&name) {
                slots.extend((0..n).map(|_| (name.clone(), None, None)));
                continue;
            }
            let allowed = self.provider_instances(cluster, &name);
            let mut request = PlacementRequest::new(demand.clone(), launch.group.clone())
                .with_count(n as u32)
                .with_strategy(launch.strategy.clone());
            for constraint in &launch.constraints {
                request = request.with_constraint(constraint.clone());
            }
            let placed = Self::place_on(&mut state, &allowed, &request);
            let (outcomes, reservations) = placed.unwrap_or_default();
            let mut reservations = reservations.into_iter();
            for k in 0..n {
                match outcomes.get(k).and_then(|o| o.placement()) {
                    Some(p) => slots.push((name.clone(), Some(p.instance), reservations.next())),
                    None => {
                        if first_failure.is_none() {
                            first_failure = outcomes.get(k).and_then(|o| o.failure()).copied();
                        }
                        slots.push((name.clone(), None, None));
                    }
                }
            }
        }
        // Tasks are created in the order the strategy assigned them.
        let mut by_item: Vec<Vec<Slot>> = vec![Vec::new(); strategy.len()];
        {
            let mut slots = slots.into_iter();
            for (item, spec) in strategy.iter().enumerate() {
                let n = assigned.iter().filter(|&&i| i == item).count();
                let _ = spec;
                by_item[item] = slots.by_ref().take(n).collect();
            }
        }
        let mut cursors = vec![0usize; strategy.len()];
        self.clusters
            .get_mut(cluster_key)
            .expect("checked by the caller")
            .state = state;
        let mut records = Vec::new();
        for (position, &item) in assigned.iter().enumerate() {
            let (name, instance, reservation) = by_item[item][cursors[item]].clone();
            cursors[item] += 1;
            let fargate = is_fargate_provider(&name);
            let mut launch_for_task = Launch {
                definition: launch.definition.clone(),
                launch_type: if fargate {
                    LaunchType::Fargate
                } else {
                    LaunchType::Ec2
                },
                group: launch.group.clone(),
                subnets: launch.subnets.clone(),
                constraints: launch.constraints.clone(),
                strategy: launch.strategy.clone(),
                platform_version: launch.platform_version.clone(),
            };
            if !fargate {
                launch_for_task.platform_version = None;
            }
            let mut record = self.new_task(
                cluster_key,
                &launch_for_task,
                instance,
                reservation,
                first_index + position,
                overrides.clone(),
                started_by.clone(),
                tags.clone(),
            );
            record.capacity_provider_name = Some(name);
            if !fargate && instance.is_none() {
                // CP-PLACE-PER-PROVIDER: waits for capacity.
                record.last = TaskStatus::Provisioning;
            }
            records.push(record);
        }
        (records, first_failure)
    }

    /// RunTask through a capacity provider strategy (CP-DISTRIBUTION over the tasks of this
    /// call; CP-PLACE-PER-PROVIDER).
    pub(crate) fn run_task_with_providers(
        &mut self,
        request: &model::RunTaskRequest,
        strategy: Vec<CapacityProviderStrategyItem>,
    ) -> Result<StartedTasks, Error> {
        let count = request.count.unwrap_or(1).max(1) as usize;
        let launch_type = Self::strategy_launch_type(&strategy);
        let launch = self.check_launch(
            request.task_definition.as_deref(),
            Some(&launch_type),
            request.network_configuration.as_ref(),
            request.group.as_deref(),
            request.placement_constraints.as_deref().unwrap_or_default(),
            request.placement_strategy.as_deref(),
            request.platform_version.as_deref(),
        )?;
        super::tags::check_tags(request.tags.as_deref().unwrap_or_default())?;
        let assigned = distribute(&strategy, &[], count);
        if assigned.len() < count {
            return Err(invalid(
                "The capacity provider strategy cannot place tasks: every provider has a weight of 0.",
            ));
        }
        let cluster_key = self.cluster(request.cluster.as_deref())?.name.clone();
        // Everything is checked: from here on the call succeeds.
        let (records, _) = self.launch_through_providers(
            &cluster_key,
            &launch,
            &strategy,
            &assigned,
            0,
            request.overrides.clone(),
            request.started_by.clone(),
            request.tags.clone(),
        );
        let mut arns = Vec::with_capacity(records.len());
        let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
        for record in records {
            arns.push(record.arn.clone());
            cluster.tasks.insert(record.arn.clone(), record);
        }
        Ok(StartedTasks {
            cluster: cluster_key,
            arns,
            failures: Vec::new(),
        })
    }

    /// The strategy a service launches through, if it uses capacity providers.
    pub(crate) fn service_strategy(
        &self,
        cluster_key: &str,
        name: &str,
    ) -> Option<Vec<CapacityProviderStrategyItem>> {
        self.clusters[cluster_key].services[name]
            .service
            .capacity_provider_strategy
            .clone()
            .filter(|s| !s.is_empty())
    }

    /// Starts `count` PRIMARY tasks of a service that uses a capacity provider strategy:
    /// CP-DISTRIBUTION over the service's non-STOPPED tasks, then CP-PLACE-PER-PROVIDER.
    /// Returns the records (the scheduler files them) and the first placement failure.
    pub(crate) fn provider_replicas(
        &mut self,
        cluster_key: &str,
        name: &str,
        count: usize,
    ) -> (Vec<TaskRecord>, Option<placement::Failure>) {
        let Some(strategy) = self.service_strategy(cluster_key, name) else {
            return (Vec::new(), None);
        };
        let Ok(launch) = self.service_launch(cluster_key, name) else {
            return (Vec::new(), None);
        };
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let counts: Vec<u64> = strategy
            .iter()
            .map(|item| {
                record
                    .task_arns
                    .iter()
                    .filter_map(|a| cluster.tasks.get(a))
                    .filter(|t| t.desired_status() == "RUNNING" && t.last_status() != "STOPPED")
                    .filter(|t| t.capacity_provider_name == item.capacity_provider)
                    .count() as u64
            })
            .collect();
        let deployment = record.primary_id();
        let base = record.task_arns.len();
        let assigned = distribute(&strategy, &counts, count);
        self.launch_through_providers(
            cluster_key,
            &launch,
            &strategy,
            &assigned,
            base,
            None,
            Some(deployment),
            None,
        )
    }

    /// PL-SCALEIN across providers (CP-DISTRIBUTION, scale-in): how far `task`'s provider is
    /// above its share of `live` − 1 tasks, negated so that a smaller key stops first.
    pub(crate) fn provider_scale_in_key(
        &self,
        cluster_key: &str,
        name: &str,
        task: &str,
        live: &[&str],
    ) -> i64 {
        let Some(strategy) = self.service_strategy(cluster_key, name) else {
            return 0;
        };
        let cluster = &self.clusters[cluster_key];
        let provider_of = |arn: &str| {
            cluster
                .tasks
                .get(arn)
                .and_then(|t| t.capacity_provider_name.clone())
        };
        let Some(mine) = provider_of(task) else {
            return 0;
        };
        let Some(item) = strategy
            .iter()
            .position(|i| i.capacity_provider.as_deref() == Some(mine.as_str()))
        else {
            // A provider the strategy no longer names goes first.
            return -1_000_000;
        };
        let share = totals(&strategy, live.len().saturating_sub(1));
        let have = live
            .iter()
            .filter(|a| provider_of(a).as_deref() == Some(mine.as_str()))
            .count() as i64;
        -(have - share[item] as i64)
    }

    // ----- the capacity tick ----------------------------------------------------------------

    /// One capacity step of `Sim.Advance`, after the agents and before the service schedulers:
    /// the Auto Scaling groups move toward their desired capacity, waiting tasks are placed on
    /// their provider's instances (or fail when the provider has no managed scaling), and
    /// managed scaling recomputes each provider's metric and desired capacity.
    pub(crate) fn tick_capacity(&mut self) {
        self.tick_auto_scaling_groups();
        let keys: Vec<String> = self.clusters.keys().cloned().collect();
        for key in &keys {
            if self.clusters[key].is_active() {
                self.place_waiting(key);
            }
        }
        self.tick_managed_scaling();
    }

    /// Tries to place every waiting task of the cluster on its provider's instances.
    fn place_waiting(&mut self, cluster_key: &str) {
        let now = self.now;
        let waiting: Vec<String> = self.clusters[cluster_key]
            .tasks
            .iter()
            .filter(|(_, t)| is_waiting(t) && t.desired_status() == "RUNNING")
            .map(|(a, _)| a.clone())
            .collect();
        for arn in waiting {
            let cluster = &self.clusters[cluster_key];
            let record = &cluster.tasks[&arn];
            let provider = record.capacity_provider_name.clone().unwrap_or_default();
            let definition = Arc::clone(&record.definition.0);
            let group = record.group.clone();
            let service = group
                .strip_prefix("service:")
                .and_then(|n| cluster.services.get(n));
            let mut demand = demand_for(&definition, record.overrides.as_deref());
            let subnet = record
                .attachments
                .iter()
                .flat_map(|a| a.details.as_deref().unwrap_or_default())
                .find(|d| d.name.as_deref() == Some("subnetId"))
                .and_then(|d| d.value.clone())
                .filter(|s| !s.is_empty());
            if let Some(subnet) = &subnet {
                demand = demand.with_availability_zones(vec![self.subnet_zone(subnet)]);
            }
            let launch = self.check_launch_with(
                definition,
                Some(&LaunchType::Ec2),
                service.and_then(|s| s.service.network_configuration.as_ref()),
                Some(&group),
                service
                    .and_then(|s| s.service.placement_constraints.as_deref())
                    .unwrap_or_default(),
                service.and_then(|s| s.service.placement_strategy.as_deref()),
                None,
            );
            let (constraints, strategy) = match launch {
                Ok(l) => (l.constraints, l.strategy),
                Err(_) => (Vec::new(), placement::default_runtask_strategy()),
            };
            let mut request = PlacementRequest::new(demand, group).with_strategy(strategy);
            for c in constraints {
                request = request.with_constraint(c);
            }
            let allowed = self.provider_instances(cluster, &provider);
            let managed = self
                .capacity_providers
                .get(&provider)
                .is_some_and(|p| p.is_active() && p.managed_scaling())
                && cluster.capacity_providers.contains(&provider);
            let live: Vec<InstanceIdx> = allowed
                .iter()
                .copied()
                .filter(|idx| {
                    cluster
                        .state
                        .instance(*idx)
                        .is_ok_and(|i| i.status() == InstanceStatus::Active)
                })
                .collect();
            let mut state = cluster.state.clone();
            let placed = Self::place_on(&mut state, &allowed, &request);
            let placement = placed
                .as_ref()
                .and_then(|(o, r)| o.first().and_then(|o| o.placement()).zip(r.first()))
                .map(|(p, r)| (p.instance, *r));
            let failure_reason = placed
                .as_ref()
                .and_then(|(o, _)| o.first().and_then(|o| o.failure()))
                .map(|f| f.reason.as_str().to_string());
            let cluster = self.clusters.get_mut(cluster_key).expect("listed");
            match placement {
                Some((idx, reservation)) => {
                    cluster.state = state;
                    let instance_arn = cluster.record_at(idx).map(|r| r.arn.clone());
                    let zone = cluster.state.instance(idx).ok().and_then(|i| {
                        i.attribute("ecs.availability-zone")
                            .flatten()
                            .map(str::to_string)
                    });
                    let record = cluster.tasks.get_mut(&arn).expect("listed");
                    record.instance = Some(idx);
                    record.reservation = Some(reservation);
                    record.container_instance_arn = instance_arn;
                    if zone.is_some() {
                        record.availability_zone = zone;
                    }
                    if !record.awsvpc() {
                        record.last = TaskStatus::Pending;
                    }
                    record.bump();
                }
                None if !managed => {
                    let reason = if allowed.is_empty() {
                        "TaskFailedToStart: EMPTY CAPACITY PROVIDER".to_string()
                    } else if live.is_empty() {
                        "TaskFailedToStart: NO ACTIVE INSTANCES".to_string()
                    } else {
                        format!(
                            "TaskFailedToStart: {}",
                            failure_reason.unwrap_or_else(|| "RESOURCE:CPU".to_string())
                        )
                    };
                    cluster.stop_now(&arn, now, Some(TaskStopCode::TaskFailedToStart), &reason);
                }
                None => {}
            }
        }
    }

    /// The tasks a provider waits to place in `cluster`, by identical demand:
    /// `(cpu, memory, static ports?, gpus, eni) → count`.
    fn waiting_groups(&self, cluster: &Cluster, provider: &str) -> Vec<(DemandKey, u64)> {
        let mut groups: Vec<(DemandKey, u64)> = Vec::new();
        for record in cluster.tasks.values() {
            if !is_waiting(record)
                || record.desired_status() != "RUNNING"
                || record.capacity_provider_name.as_deref() != Some(provider)
            {
                continue;
            }
            let d = demand_for(record.definition(), record.overrides.as_deref());
            let key = (
                d.cpu,
                d.memory,
                !d.ports_tcp.is_empty() || !d.ports_udp.is_empty(),
                d.gpus,
                d.eni,
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => groups.push((key, 1)),
            }
        }
        groups
    }

    /// Managed scaling for every ACTIVE provider with managed scaling on that is associated
    /// with a cluster (CP-CPR): computes M, N and the metric, and moves the group's desired
    /// capacity (scale-out at once after the warm-up; scale-in after 15 minutes below target
    /// and 15 minutes after the last scale-out, by at most half the group per step).
    fn tick_managed_scaling(&mut self) {
        let now = self.now;
        let names: Vec<String> = self.capacity_providers.keys().cloned().collect();
        for name in names {
            let record = &self.capacity_providers[&name];
            if !record.is_active() || !record.managed_scaling() {
                continue;
            }
            let Some(cluster_key) = self.provider_cluster(&name) else {
                continue;
            };
            let Some(metric) = self.compute_metric(&cluster_key, &name) else {
                continue;
            };
            let record = &self.capacity_providers[&name];
            let (_, _, max_step, warmup) = record.scaling_numbers();
            let mut scaling = record.scaling.clone();
            scaling.reservation = Some(metric.reservation);
            scaling.needed = metric.needed;
            scaling.running = metric.running;
            let group_ref = record.group_reference();
            let Some(group) = self.auto_scaling_group(&group_ref) else {
                continue;
            };
            let (current, min, max) = (group.desired, group.min, group.max);
            let wanted = metric.wanted.clamp(min, max);
            let mut new_desired = current;
            if wanted > current {
                scaling.below_since = None;
                let warm = scaling
                    .last_scale_out_at
                    .is_none_or(|at| now - at >= warmup);
                if warm {
                    new_desired = wanted;
                    scaling.last_scale_out_at = Some(now);
                }
            } else if wanted < current {
                let since = *scaling.below_since.get_or_insert(now);
                let cooled = scaling
                    .last_scale_out_at
                    .is_none_or(|at| now - at >= SCALE_IN_AFTER_SECS);
                if now - since >= SCALE_IN_AFTER_SECS && cooled {
                    let step = (current / 2).max(1).min(max_step);
                    new_desired = wanted.max(current - step);
                    scaling.below_since = None;
                }
            } else {
                scaling.below_since = None;
            }
            self.capacity_providers
                .get_mut(&name)
                .expect("listed")
                .scaling = scaling;
            if new_desired != current {
                let _ = self.set_desired_capacity(&group_ref, new_desired);
            }
        }
    }

    /// CP-CPR for one provider in one cluster, or `None` when it has no group.
    fn compute_metric(&self, cluster_key: &str, provider: &str) -> Option<ProviderMetric> {
        let record = self.capacity_providers.get(provider)?;
        let group = self.auto_scaling_group(&record.group_reference())?;
        let cluster = &self.clusters[cluster_key];
        let (target, min_step, max_step, _) = record.scaling_numbers();
        let in_service: Vec<&super::asg::GroupInstance> = group
            .instances
            .iter()
            .filter(|i| i.cluster == cluster_key && i.lifecycle == "InService")
            .collect();
        let n = in_service.len() as i64;
        let busy = in_service
            .iter()
            .filter(|i| self.runs_non_daemon_task(cluster, &i.container_instance_arn))
            .count() as i64;
        let (vcpus, memory, enis, gpus) =
            super::instance_types::instance_type(&group.instance_type)
                .map(|(_, c, m, e, g)| (c, m, e, g))
                .unwrap_or((2, 4096, 3, 0));
        let groups = self.waiting_groups(cluster, provider);
        let waiting: u64 = groups.iter().map(|(_, n)| n).sum();
        let mut extra: i64 = 0;
        let mut fitting = false;
        for ((cpu, mem, ports, g, eni), count) in &groups {
            let mut per = u64::MAX;
            if *cpu > 0 {
                per = per.min(u64::from(vcpus * 1024 / cpu));
            }
            if *mem > 0 {
                per = per.min(u64::from(memory / mem));
            }
            if *ports {
                per = per.min(1);
            }
            if *g > 0 {
                per = per.min(u64::from(gpus / g));
            }
            if *eni {
                per = per.min(u64::from(enis.saturating_sub(1)));
            }
            if per == 0 {
                continue; // does not fit the instance type: ignored (CP-CPR step 2)
            }
            fitting = true;
            let per = per.min(*count);
            extra = extra.max(count.div_ceil(per) as i64);
        }
        if waiting > 0 && !fitting {
            // Nothing fits: the metric stays at the target and no scaling happens.
            return Some(ProviderMetric {
                reservation: target as f64,
                needed: busy,
                running: n,
                wanted: group.desired,
                waiting,
            });
        }
        if extra > 0 {
            extra = if extra < min_step {
                min_step
            } else {
                extra.min(max_step)
            };
        }
        let needed = busy + extra;
        let (reservation, wanted) = if n == 0 {
            if extra > 0 {
                (200.0, 2.max(group.desired))
            } else {
                (100.0, 0)
            }
        } else {
            let reservation = needed as f64 * 100.0 / n as f64;
            (reservation, (needed * 100 + target - 1) / target.max(1))
        };
        Some(ProviderMetric {
            reservation,
            needed,
            running: n,
            wanted,
            waiting,
        })
    }

    /// Whether an instance runs a non-STOPPED task that is not a daemon service's.
    pub(crate) fn runs_non_daemon_task(&self, cluster: &Cluster, instance_arn: &str) -> bool {
        cluster.tasks.values().any(|t| {
            t.container_instance_arn() == Some(instance_arn)
                && t.last_status() != "STOPPED"
                && !is_daemon_task(cluster, t)
        })
    }

    /// The metrics of every ACTIVE ASG provider (`Sim.DescribeCapacityProviderMetrics`),
    /// recomputed from the current state: `CapacityProviderReservation`, M, N, the desired
    /// capacity managed scaling aims at and the tasks waiting.
    pub fn capacity_provider_metrics(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for record in self.capacity_providers.values().filter(|p| p.is_active()) {
            let name = record.name();
            let cluster = self.provider_cluster(name);
            let metric = cluster
                .as_deref()
                .and_then(|c| self.compute_metric(c, name));
            let group = self.auto_scaling_group(&record.group_reference());
            out.push(serde_json::json!({
                "capacityProvider": name,
                "cluster": cluster,
                "managedScaling": if record.managed_scaling() { "ENABLED" } else { "DISABLED" },
                "CapacityProviderReservation": metric.as_ref().map(|m| m.reservation),
                "instancesNeeded": metric.as_ref().map(|m| m.needed),
                "instancesRunning": metric.as_ref().map(|m| m.running),
                "targetInstances": metric.as_ref().map(|m| m.wanted),
                "provisioningTasks": metric.as_ref().map(|m| m.waiting).unwrap_or(0),
                "desiredCapacity": group.map(|g| g.desired),
            }));
        }
        out
    }
}

/// Whether a task belongs to a DAEMON service of its cluster.
pub(crate) fn is_daemon_task(cluster: &Cluster, task: &TaskRecord) -> bool {
    task.group
        .strip_prefix("service:")
        .and_then(|n| cluster.services.get(n))
        .is_some_and(|s| s.is_daemon())
}

/// One provider's CP-CPR figures.
#[derive(Clone, Debug, PartialEq)]
struct ProviderMetric {
    reservation: f64,
    needed: i64,
    running: i64,
    wanted: i64,
    waiting: u64,
}
