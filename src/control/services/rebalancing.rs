//! Availability Zone rebalancing (SVC-AZ-REBALANCE; developer guide "Balancing an Amazon ECS
//! service across Availability Zones" and "Track Amazon ECS Availability Zone rebalancing").
//!
//! The setting: CreateService defaults `availabilityZoneRebalancing` to `ENABLED` when the
//! service is compatible and to `DISABLED` otherwise; UpdateService keeps the current value when
//! the member is absent (a service that never had one — a snapshot from before — is `DISABLED`).
//! An explicit `ENABLED` on an incompatible service is an `InvalidParameterException` (ECS's
//! message is undocumented; stowplan's says which rule failed). Compatible, as the guide lists
//! it: REPLICA, Availability Zone spread as the first placement strategy or no strategy; not
//! DAEMON, not the EXTERNAL launch type, not `maximumPercent` 100 (stowplan: 100 or less — no
//! room to start a task before stopping one), not a Classic Load Balancer, not a placement
//! constraint on `attribute:ecs.availability-zone`.
//!
//! The behaviour, as stowplan runs it inside the service scheduler (pacing inferred):
//! 1. only once the service is steady: one deployment, `COMPLETED`, exactly `desiredCount`
//!    tasks, all RUNNING, healthy and on ACTIVE instances;
//! 2. the zones considered are those with eligible capacity: the Availability Zones of ACTIVE
//!    instances with a connected agent that meet the service's `memberOf` constraints (and, for
//!    awsvpc services, the zones of its subnets); a zone with no task counts as 0;
//! 3. the service is balanced when the most and the fewest tasks per zone differ by at most 1;
//!    otherwise the moves that balance it are computed (one task at a time from the fullest zone
//!    to the emptiest), `SERVICE_REBALANCING_STARTED` is posted, and as many tasks as
//!    `maximumPercent` leaves room for are started in the destination zones (placed by the real
//!    engine restricted to the zone, with the service's constraints and strategies);
//! 4. once every task of the service is healthy (desiredCount + the ones started), as many tasks
//!    are stopped in the zones with the most tasks (within a zone: on the instance with most of
//!    the service's tasks, oldest first), so the healthy count never drops below
//!    `minimumHealthyPercent`; if tasks were lost meanwhile, the started ones simply stay and the
//!    rolling-update step restores the count;
//! 5. when balanced again, `SERVICE_REBALANCING_COMPLETED` is posted.
//!
//! While the started tasks are not yet healthy the service runs `desiredCount` + their number
//! (the deployment's `runningCount` shows them), which the rolling-update step respects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ServiceRecord, View, deployment_bounds, task_id};
use crate::control::error::invalid;
use crate::control::tasks::{Launch, demand_for};
use crate::control::{Ecs, Error, TaskRecord};
use crate::model::{
    self, AvailabilityZoneRebalancing, DeploymentRolloutState, LaunchType, SchedulingStrategy,
    TaskStopCode,
};
use crate::placement::{self, PlacementRequest};
use crate::state::InstanceIdx;

/// The zone attribute every instance carries.
const ZONE_ATTRIBUTE: &str = "ecs.availability-zone";

/// The state of an Availability Zone rebalancing operation of one service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebalance {
    /// `SERVICE_REBALANCING_STARTED` was posted and `COMPLETED` not yet.
    pub in_progress: bool,
    /// Tasks started to rebalance, waiting to become healthy before the excess stops.
    pub surge: Vec<String>,
}

/// Why a service with this configuration cannot use Availability Zone rebalancing, or `None`
/// when it can (SVC-AZ-REBALANCE, the developer guide's list).
pub fn rebalancing_incompatibility(
    daemon: bool,
    launch_type: Option<&LaunchType>,
    strategy: &[model::PlacementStrategy],
    constraints: &[model::PlacementConstraint],
    maximum_percent: i64,
    load_balancers: &[model::LoadBalancer],
) -> Option<&'static str> {
    if daemon {
        return Some(
            "Availability Zone rebalancing is not supported for services that use the DAEMON scheduling strategy.",
        );
    }
    if launch_type.is_some_and(|l| l.as_str() == "EXTERNAL") {
        return Some(
            "Availability Zone rebalancing is not supported for services that use the EXTERNAL launch type.",
        );
    }
    if let Some(first) = strategy.first() {
        let spread = first
            .r#type
            .as_ref()
            .is_some_and(|t| t.as_str() == "spread");
        let zone = first.field.as_deref() == Some("attribute:ecs.availability-zone");
        if !(spread && zone) {
            return Some(
                "Availability Zone rebalancing requires Availability Zone spread (attribute:ecs.availability-zone) as the first placement strategy, or no placement strategy.",
            );
        }
    }
    if constraints.iter().any(|c| {
        c.expression
            .as_deref()
            .is_some_and(|e| e.contains("attribute:ecs.availability-zone"))
    }) {
        return Some(
            "Availability Zone rebalancing is not supported for services with a placement constraint on attribute:ecs.availability-zone.",
        );
    }
    if maximum_percent <= 100 {
        return Some(
            "Availability Zone rebalancing requires a maximumPercent above 100 in the deployment configuration.",
        );
    }
    if load_balancers
        .iter()
        .any(|lb| lb.load_balancer_name.is_some() && lb.target_group_arn.is_none())
    {
        return Some(
            "Availability Zone rebalancing is not supported for services that use a Classic Load Balancer.",
        );
    }
    None
}

fn is_enabled(value: Option<&AvailabilityZoneRebalancing>) -> bool {
    value.is_some_and(|v| v.as_str() == "ENABLED")
}

/// Reads an explicit value: `ENABLED`, `DISABLED`, or an error for anything else.
fn explicit(value: &AvailabilityZoneRebalancing) -> Result<bool, Error> {
    match value.as_str() {
        "ENABLED" => Ok(true),
        "DISABLED" => Ok(false),
        other => Err(invalid(format!(
            "Invalid availabilityZoneRebalancing value: {other}. Valid values are ENABLED and DISABLED."
        ))),
    }
}

fn value(enabled: bool) -> AvailabilityZoneRebalancing {
    if enabled {
        AvailabilityZoneRebalancing::Enabled
    } else {
        AvailabilityZoneRebalancing::Disabled
    }
}

/// CreateService: the value the service gets (default ENABLED when compatible).
pub(super) fn on_create(
    request: &model::CreateServiceRequest,
    configuration: &model::DeploymentConfiguration,
) -> Result<AvailabilityZoneRebalancing, Error> {
    let daemon = matches!(
        request.scheduling_strategy,
        Some(SchedulingStrategy::Daemon)
    );
    let why = rebalancing_incompatibility(
        daemon,
        request.launch_type.as_ref(),
        request.placement_strategy.as_deref().unwrap_or_default(),
        request.placement_constraints.as_deref().unwrap_or_default(),
        i64::from(configuration.maximum_percent.unwrap_or(200)),
        request.load_balancers.as_deref().unwrap_or_default(),
    );
    match request.availability_zone_rebalancing.as_ref() {
        None => Ok(value(why.is_none())),
        Some(given) => {
            let enabled = explicit(given)?;
            if let (true, Some(why)) = (enabled, why) {
                return Err(invalid(why));
            }
            Ok(value(enabled))
        }
    }
}

/// UpdateService: the value after the update (absent: unchanged; never set: DISABLED). An
/// explicit ENABLED is checked against the configuration after the update.
pub(super) fn on_update(
    request: &model::UpdateServiceRequest,
    record: &ServiceRecord,
    configuration: &model::DeploymentConfiguration,
    strategy: &[model::PlacementStrategy],
    constraints: &[model::PlacementConstraint],
) -> Result<AvailabilityZoneRebalancing, Error> {
    match request.availability_zone_rebalancing.as_ref() {
        None => Ok(value(is_enabled(
            record.service.availability_zone_rebalancing.as_ref(),
        ))),
        Some(given) => {
            let enabled = explicit(given)?;
            if enabled
                && let Some(why) = rebalancing_incompatibility(
                    record.is_daemon(),
                    record.service.launch_type.as_ref(),
                    strategy,
                    constraints,
                    i64::from(configuration.maximum_percent.unwrap_or(200)),
                    record.service.load_balancers.as_deref().unwrap_or_default(),
                )
            {
                return Err(invalid(why));
            }
            Ok(value(enabled))
        }
    }
}

/// "3 tasks in us-east-1a, 3 in us-east-1b, and 0 in us-east-1c" (`tasks_each`: repeat
/// "tasks" after every count, as the COMPLETED text does).
fn zone_list(counts: &BTreeMap<String, i64>, tasks_each: bool) -> String {
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(position, (zone, n))| {
            if position == 0 || tasks_each {
                format!("{n} tasks in {zone}")
            } else {
                format!("{n} in {zone}")
            }
        })
        .collect();
    match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        2 => format!("{} and {}", parts[0], parts[1]),
        n => format!("{}, and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// Whether the counts differ by at most one.
fn balanced(counts: &BTreeMap<String, i64>) -> bool {
    let max = counts.values().max().copied().unwrap_or(0);
    let min = counts.values().min().copied().unwrap_or(0);
    max - min <= 1
}

/// The destination zone of every move that balances `counts` (fullest to emptiest, ties to
/// the first zone by name).
fn moves(counts: &BTreeMap<String, i64>) -> Vec<String> {
    let mut counts = counts.clone();
    let mut destinations = Vec::new();
    while let (Some(from), Some(to)) = (fullest(&counts), emptiest(&counts)) {
        if counts[&from] - counts[&to] <= 1 {
            break;
        }
        *counts.get_mut(&from).expect("listed") -= 1;
        *counts.get_mut(&to).expect("listed") += 1;
        destinations.push(to);
    }
    destinations
}

/// The zone with the most tasks (ties: the first by name).
fn fullest(counts: &BTreeMap<String, i64>) -> Option<String> {
    counts
        .iter()
        .max_by_key(|(zone, n)| (**n, std::cmp::Reverse((*zone).clone())))
        .map(|(zone, _)| zone.clone())
}

/// The zone with the fewest tasks (ties: the first by name).
fn emptiest(counts: &BTreeMap<String, i64>) -> Option<String> {
    counts
        .iter()
        .min_by_key(|(_, n)| **n)
        .map(|(zone, _)| zone.clone())
}

impl Ecs {
    /// Whether a service rebalances now: ENABLED, and still compatible with its configuration.
    fn rebalancing_on(record: &ServiceRecord) -> bool {
        let (_, max_pct) = record.percents();
        is_enabled(record.service.availability_zone_rebalancing.as_ref())
            && !record.is_fargate()
            && rebalancing_incompatibility(
                record.is_daemon(),
                record.service.launch_type.as_ref(),
                record
                    .service
                    .placement_strategy
                    .as_deref()
                    .unwrap_or_default(),
                record
                    .service
                    .placement_constraints
                    .as_deref()
                    .unwrap_or_default(),
                max_pct,
                record.service.load_balancers.as_deref().unwrap_or_default(),
            )
            .is_none()
    }

    /// Tasks started to rebalance that are still live: the rolling-update step keeps them on
    /// top of `desiredCount` until the excess is stopped.
    pub(super) fn rebalance_surge(&self, cluster_key: &str, name: &str) -> i64 {
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let primary = record.primary_id();
        record
            .rebalance
            .surge
            .iter()
            .filter_map(|arn| cluster.tasks.get(arn))
            .filter(|t| {
                t.desired_status() == "RUNNING"
                    && t.last_status() != "STOPPED"
                    && t.started_by.as_deref() == Some(primary.as_str())
            })
            .count() as i64
    }

    /// The zone of an instance (its `ecs.availability-zone` attribute).
    pub(crate) fn instance_zone(&self, cluster_key: &str, idx: InstanceIdx) -> Option<String> {
        self.clusters[cluster_key]
            .state
            .instance(idx)
            .ok()
            .and_then(|i| i.attribute(ZONE_ATTRIBUTE).flatten().map(str::to_string))
    }

    /// The zones with eligible capacity for a service (see the module docs, step 2).
    fn rebalance_zones(&self, cluster_key: &str, name: &str, launch: &Launch) -> Vec<String> {
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let Some(probe) = cluster.daemon_probe(record) else {
            return Vec::new();
        };
        let subnet_zones: Vec<String> =
            launch.subnets.iter().map(|s| self.subnet_zone(s)).collect();
        let mut zones: Vec<String> = cluster
            .daemon_instances(&probe)
            .into_iter()
            .filter_map(|idx| self.instance_zone(cluster_key, idx))
            .filter(|zone| subnet_zones.is_empty() || subnet_zones.contains(zone))
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    /// A placement request for `count` tasks of the service's PRIMARY deployment, as the
    /// scheduler would place them (EC2/EXTERNAL services only), optionally restricted to one
    /// Availability Zone.
    pub(crate) fn service_request(
        &self,
        cluster_key: &str,
        name: &str,
        count: u32,
        zone: Option<&str>,
    ) -> Option<(Launch, PlacementRequest)> {
        let launch = self.service_launch(cluster_key, name).ok()?;
        if launch.launch_type == LaunchType::Fargate {
            return None;
        }
        let mut demand = demand_for(&launch.definition, None);
        let mut zones: Vec<String> = launch.subnets.iter().map(|s| self.subnet_zone(s)).collect();
        if let Some(zone) = zone {
            zones = vec![zone.to_string()];
        }
        if !zones.is_empty() {
            demand = demand.with_availability_zones(zones);
        }
        let mut request = PlacementRequest::new(demand, launch.group.clone())
            .with_count(count)
            .with_strategy(launch.strategy.clone());
        for constraint in &launch.constraints {
            request = request.with_constraint(constraint.clone());
        }
        Some((launch, request))
    }

    /// One rebalancing step for a REPLICA service (module docs); whether it changed anything.
    pub(super) fn rebalance_step(&mut self, cluster_key: &str, name: &str) -> bool {
        let record = &self.clusters[cluster_key].services[name];
        if record.is_daemon() || !record.is_active() {
            return false;
        }
        let steady_deployment = record.deployments.len() == 1
            && record.deployments[0].rollout_state == Some(DeploymentRolloutState::Completed);
        if !Self::rebalancing_on(record) || !steady_deployment {
            // A deployment or a settings change ends any rebalancing under way.
            if record.rebalance != Rebalance::default() {
                self.record_mut(cluster_key, name).rebalance = Rebalance::default();
                return true;
            }
            return false;
        }
        let views = self.views(cluster_key, name);
        if !record.rebalance.surge.is_empty() {
            let surge: Vec<&View> = views
                .iter()
                .filter(|v| record.rebalance.surge.contains(&v.arn) && v.desired_running)
                .collect();
            if surge.is_empty() {
                self.record_mut(cluster_key, name).rebalance.surge.clear();
                return true;
            }
            let desired = i64::from(record.service.desired_count.unwrap_or(0));
            let keep: Vec<&View> = views.iter().filter(|v| v.desired_running).collect();
            if keep.len() as i64 != desired + surge.len() as i64 {
                // Tasks were lost meanwhile: the started tasks become ordinary ones and the
                // rolling-update step restores the count within the limits.
                self.record_mut(cluster_key, name).rebalance.surge.clear();
                return true;
            }
            if keep.iter().any(|v| !v.healthy || v.draining) {
                return false;
            }
            // Every kept task is healthy: stopping the surge leaves desiredCount ≥ the floor.
            let count = surge.len();
            self.rebalance_stop(cluster_key, name, count, &views);
            return true;
        }
        let desired = i64::from(record.service.desired_count.unwrap_or(0));
        let keep: Vec<&View> = views.iter().filter(|v| v.desired_running).collect();
        if keep.len() as i64 != desired || keep.iter().any(|v| !v.healthy || v.draining) {
            return false;
        }
        let Ok(launch) = self.service_launch(cluster_key, name) else {
            return false;
        };
        let zones = self.rebalance_zones(cluster_key, name, &launch);
        let counts = self.zone_counts(cluster_key, &zones, &keep);
        if balanced(&counts) {
            if record.rebalance.in_progress {
                self.record_mut(cluster_key, name).rebalance.in_progress = false;
                let message = format!(
                    "service ({name}) is AZ balanced with {}.",
                    zone_list(&counts, true)
                );
                self.event(cluster_key, name, message);
            }
            return false;
        }
        let (min_pct, max_pct) = record.percents();
        let (_, max) = deployment_bounds(desired, min_pct, max_pct);
        let live = views.iter().filter(|v| v.last != "STOPPED").count() as i64;
        let room = usize::try_from(max - live).unwrap_or(0);
        let mut destinations = moves(&counts);
        destinations.truncate(room);
        if destinations.is_empty() {
            return false;
        }
        if !record.rebalance.in_progress {
            self.record_mut(cluster_key, name).rebalance.in_progress = true;
            let message = format!(
                "service ({name}) is not AZ balanced with {}. AZ Rebalancing in progress.",
                zone_list(&counts, false)
            );
            self.event(cluster_key, name, message);
        }
        let mut per_zone: BTreeMap<String, u32> = BTreeMap::new();
        for zone in destinations {
            *per_zone.entry(zone).or_default() += 1;
        }
        let mut changed = false;
        for (zone, n) in per_zone {
            changed |= self.rebalance_start(cluster_key, name, &zone, n);
        }
        changed
    }

    fn record_mut(&mut self, cluster_key: &str, name: &str) -> &mut ServiceRecord {
        self.clusters
            .get_mut(cluster_key)
            .and_then(|c| c.services.get_mut(name))
            .expect("listed")
    }

    /// Tasks per zone (zones listed first with 0, tasks elsewhere ignored).
    fn zone_counts(
        &self,
        cluster_key: &str,
        zones: &[String],
        tasks: &[&View],
    ) -> BTreeMap<String, i64> {
        let mut counts: BTreeMap<String, i64> = zones.iter().map(|z| (z.clone(), 0)).collect();
        for view in tasks {
            if let Some(zone) = view
                .instance
                .and_then(|i| self.instance_zone(cluster_key, i))
                && let Some(n) = counts.get_mut(&zone)
            {
                *n += 1;
            }
        }
        counts
    }

    /// Starts `n` tasks in `zone` (TASKS_STARTED), or posts SERVICE_TASK_PLACEMENT_FAILURE.
    fn rebalance_start(&mut self, cluster_key: &str, name: &str, zone: &str, n: u32) -> bool {
        let Some((launch, request)) = self.service_request(cluster_key, name, n, Some(zone)) else {
            return false;
        };
        let cluster = &self.clusters[cluster_key];
        let Ok(plan) = placement::plan(&cluster.state, &request) else {
            return false;
        };
        let placed: Vec<InstanceIdx> = plan
            .outcomes()
            .iter()
            .filter_map(|o| o.placement().map(|p| p.instance))
            .collect();
        let failed = placed.len() < n as usize;
        let deployment = cluster.services[name].primary_id();
        let base = cluster.services[name].task_arns.len();
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        let reservations = plan.apply(&mut cluster.state).unwrap_or_default();
        let mut records: Vec<TaskRecord> = Vec::new();
        for (index, (instance, reservation)) in placed.into_iter().zip(reservations).enumerate() {
            records.push(self.new_service_task(
                cluster_key,
                &launch,
                Some((instance, reservation)),
                base + index,
                &deployment,
            ));
        }
        if failed {
            let message = format!(
                "service ({name}) is unable to place a task in {zone} because no container instance met all of its requirements."
            );
            self.event(cluster_key, name, message);
        }
        if records.is_empty() {
            return false;
        }
        let mut ids = Vec::new();
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        for record in records {
            let arn = record.arn.clone();
            ids.push(format!("(task {})", task_id(&arn)));
            cluster.tasks.insert(arn.clone(), record);
            let service = cluster.services.get_mut(name).expect("listed");
            service.task_arns.push(arn.clone());
            service.rebalance.surge.push(arn);
            service.steady = false;
        }
        let message = format!(
            "{name} has started {} tasks in {zone} to AZ Rebalance: {}.",
            ids.len(),
            ids.join(" ")
        );
        self.event(cluster_key, name, message);
        true
    }

    /// Stops `count` tasks in the zones with the most tasks (TASKS_STOPPED), ending the surge.
    fn rebalance_stop(&mut self, cluster_key: &str, name: &str, count: usize, views: &[View]) {
        let record = &self.clusters[cluster_key].services[name];
        let surge = record.rebalance.surge.clone();
        let keep: Vec<&View> = views.iter().filter(|v| v.desired_running).collect();
        // The same zones the start decision counted (those with eligible capacity).
        let zones: Vec<String> = match self.service_launch(cluster_key, name) {
            Ok(launch) => self.rebalance_zones(cluster_key, name, &launch),
            Err(_) => Vec::new(),
        };
        let mut counts = self.zone_counts(cluster_key, &zones, &keep);
        let mut chosen: Vec<(String, String)> = Vec::new();
        for _ in 0..count {
            let Some(zone) = fullest(&counts) else {
                break;
            };
            let in_zone: Vec<&&View> = keep
                .iter()
                .filter(|v| !surge.contains(&v.arn))
                .filter(|v| !chosen.iter().any(|(arn, _)| *arn == v.arn))
                .filter(|v| {
                    v.instance.and_then(|i| self.instance_zone(cluster_key, i))
                        == Some(zone.clone())
                })
                .collect();
            // PL-SCALEIN inside the zone: the instance with most of the service's tasks, oldest.
            let per_instance =
                |idx: Option<InstanceIdx>| in_zone.iter().filter(|v| v.instance == idx).count();
            let Some(victim) = in_zone
                .iter()
                .enumerate()
                .max_by_key(|(position, v)| {
                    (per_instance(v.instance), std::cmp::Reverse(*position))
                })
                .map(|(_, v)| v.arn.clone())
            else {
                counts.remove(&zone);
                continue;
            };
            *counts.get_mut(&zone).expect("listed") -= 1;
            chosen.push((victim, zone));
        }
        let reason = format!(
            "Scaling activity initiated by (deployment {})",
            record.primary_id()
        );
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        for (arn, _) in &chosen {
            cluster.schedule_stop(arn, TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
        let service = cluster.services.get_mut(name).expect("listed");
        service.rebalance.surge.clear();
        service.steady = false;
        let mut per_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (arn, zone) in chosen {
            per_zone
                .entry(zone)
                .or_default()
                .push(format!("(task {})", task_id(&arn)));
        }
        for (zone, ids) in per_zone {
            let message = format!(
                "{name} has stopped {} running tasks in {zone} due to AZ rebalancing: {}.",
                ids.len(),
                ids.join(" ")
            );
            self.event(cluster_key, name, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(z, n)| (z.to_string(), *n)).collect()
    }

    #[test]
    fn svc_az_rebalance_moves_fullest_to_emptiest() {
        let c = counts(&[("a", 3), ("b", 3), ("c", 0)]);
        assert!(!balanced(&c));
        assert_eq!(moves(&c), vec!["c".to_string(), "c".to_string()]);
        assert!(balanced(&counts(&[("a", 2), ("b", 1), ("c", 2)])));
        assert!(moves(&counts(&[("a", 1), ("b", 2)])).is_empty());
    }

    #[test]
    fn svc_az_rebalance_event_zone_lists() {
        let c = counts(&[("us-east-1a", 3), ("us-east-1b", 3), ("us-east-1c", 0)]);
        assert_eq!(
            zone_list(&c, false),
            "3 tasks in us-east-1a, 3 in us-east-1b, and 0 in us-east-1c"
        );
        assert_eq!(
            zone_list(&c, true),
            "3 tasks in us-east-1a, 3 tasks in us-east-1b, and 0 tasks in us-east-1c"
        );
        assert_eq!(
            zone_list(&counts(&[("a", 1), ("b", 2)]), false),
            "1 tasks in a and 2 in b"
        );
    }

    #[test]
    fn svc_az_rebalance_compatibility_list() {
        let spread = |field: &str| model::PlacementStrategy {
            r#type: Some(model::PlacementStrategyType::Spread),
            field: Some(field.to_string()),
            ..Default::default()
        };
        assert!(rebalancing_incompatibility(false, None, &[], &[], 200, &[]).is_none());
        assert!(rebalancing_incompatibility(true, None, &[], &[], 100, &[]).is_some());
        assert!(
            rebalancing_incompatibility(
                false,
                None,
                &[spread("attribute:ecs.availability-zone")],
                &[],
                200,
                &[]
            )
            .is_none()
        );
        assert!(
            rebalancing_incompatibility(false, None, &[spread("instanceId")], &[], 200, &[])
                .is_some()
        );
        assert!(rebalancing_incompatibility(false, None, &[], &[], 100, &[]).is_some());
    }
}
