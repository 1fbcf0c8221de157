//! The availability report: for a cluster as it is now, per service, where its tasks run and
//! what losing any one container instance or any one Availability Zone would do to it.
//!
//! No ECS peer offers this; it answers "does my service meet its availability requirement?"
//! before the fault happens. For every fault the report takes a copy of the cluster's placement
//! state, removes the lost instances (and the reservations of every task on them), and re-places
//! the lost tasks of every REPLICA service with the real placement engine — the service's
//! demand, task group, constraints and strategies — in the order the service scheduler runs
//! (services in creation order, all sharing the remaining capacity). Nothing in the `Ecs`
//! changes.
//!
//! Counted tasks are the service's tasks that are meant to run (desired status RUNNING, not yet
//! STOPPED). A DAEMON service needs no re-placement: its desired count shrinks with the
//! instances (SVC-DAEMON). Fargate tasks are never lost with an instance; with a zone they are,
//! and they can be re-placed when the service's subnets reach another zone (`Sim.FailAvailabilityZone`
//! itself only terminates container instances).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Ecs, Error};
use crate::placement;
use crate::state::{InstanceIdx, InstanceStatus};

const ZONE_ATTRIBUTE: &str = "ecs.availability-zone";

/// The availability report of one cluster ([`Ecs::availability_report`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityReport {
    /// The cluster's ARN.
    pub cluster_arn: String,
    /// The logical clock when the report was made (epoch seconds).
    pub at: i64,
    /// One entry per ACTIVE service, in creation order.
    pub services: Vec<ServiceAvailability>,
}

/// Where one service's tasks run and what each single fault would do to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAvailability {
    /// The service name.
    pub service_name: String,
    /// `REPLICA` or `DAEMON`.
    pub scheduling_strategy: String,
    /// The desired count (for DAEMON: the eligible instances, as DescribeServices shows it).
    pub desired_count: i64,
    /// Tasks meant to run now (desired status RUNNING, not yet STOPPED).
    pub tasks: i64,
    /// The healthy floor in percent: the one asked for, else the service's
    /// `minimumHealthyPercent`.
    pub healthy_percent: i64,
    /// ⌈desiredCount × healthyPercent / 100⌉ tasks (DEP-ROUNDING).
    pub healthy_floor: i64,
    /// Tasks per Availability Zone: every zone with a live instance (0 included), plus
    /// Fargate tasks' zones, by name.
    pub tasks_per_zone: BTreeMap<String, i64>,
    /// Tasks per live container instance, in registration order (0 included).
    pub tasks_per_instance: Vec<InstanceTasks>,
    /// Losing each instance that hosts at least one of the service's tasks.
    pub instance_losses: Vec<LossOutcome>,
    /// Losing each Availability Zone of `tasks_per_zone`.
    pub zone_losses: Vec<LossOutcome>,
    /// Every single-instance loss keeps the floor and recovers fully.
    pub survives_instance_loss: bool,
    /// Every single-zone loss keeps the floor and recovers fully.
    pub survives_zone_loss: bool,
}

/// The tasks of a service on one container instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceTasks {
    /// The container instance ARN.
    pub container_instance_arn: String,
    /// Its EC2 instance id, when it has one.
    pub ec2_instance_id: Option<String>,
    /// Its Availability Zone, when it has one.
    pub availability_zone: Option<String>,
    /// The service's tasks on it.
    pub tasks: i64,
}

/// What one fault (an instance or a zone lost) does to one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LossOutcome {
    /// The container instance ARN or the zone name lost.
    pub lost: String,
    /// The service's tasks that stop with it.
    pub tasks_lost: i64,
    /// The service's tasks still running right after the fault.
    pub tasks_remaining: i64,
    /// `tasks_remaining` ≥ the healthy floor.
    pub above_floor: bool,
    /// How many of the lost tasks the remaining capacity can place again.
    pub replaceable: i64,
    /// Every lost task can be placed again (`replaceable == tasks_lost`).
    pub recovers: bool,
}

/// One service's tasks as the report counts them.
struct Counted {
    key: String,
    daemon: bool,
    fargate_subnet_zones: Option<Vec<String>>,
    /// (instance, zone) of every counted task.
    tasks: Vec<(Option<InstanceIdx>, Option<String>)>,
}

impl Ecs {
    /// The availability report of `cluster` (default cluster when `None`) for the given
    /// services (names or ARNs; all ACTIVE services when `None`), with the healthy floor at
    /// `healthy_percent` of each service's desired count (default: its
    /// `minimumHealthyPercent`). Changes nothing.
    ///
    /// # Errors
    ///
    /// Unknown cluster ([`Error::ClusterNotFound`]), unknown service
    /// ([`Error::ServiceNotFound`]), a percent outside 0–100 ([`Error::InvalidParameter`]).
    pub fn availability_report(
        &self,
        cluster: Option<&str>,
        services: Option<&[String]>,
        healthy_percent: Option<i64>,
    ) -> Result<AvailabilityReport, Error> {
        if healthy_percent.is_some_and(|p| !(0..=100).contains(&p)) {
            return Err(Error::InvalidParameter(
                "healthyPercent must be between 0 and 100.".to_string(),
            ));
        }
        let cluster = self.cluster(cluster)?;
        let cluster_key = cluster.name.clone();
        let keys: Vec<String> = match services {
            Some(names) => names
                .iter()
                .map(|n| cluster.service_key(n).ok_or(Error::ServiceNotFound))
                .collect::<Result<_, _>>()?,
            None => cluster
                .services
                .values()
                .filter(|s| s.is_active())
                .map(|s| s.name().to_string())
                .collect(),
        };
        // Live instances, their zones.
        let live: Vec<(InstanceIdx, String, Option<String>, Option<String>)> = cluster
            .instances
            .values()
            .filter_map(|r| {
                let instance = cluster.state.instance(r.idx).ok()?;
                (instance.status() != InstanceStatus::Inactive).then(|| {
                    (
                        r.idx,
                        r.arn.clone(),
                        instance.ec2_instance_id().map(str::to_string),
                        instance
                            .attribute(ZONE_ATTRIBUTE)
                            .flatten()
                            .map(str::to_string),
                    )
                })
            })
            .collect();
        // Every ACTIVE service, counted (the simulation re-places all of them).
        let counted: Vec<Counted> = cluster
            .services
            .values()
            .filter(|s| s.is_active())
            .map(|record| {
                let tasks = record
                    .task_arns
                    .iter()
                    .filter_map(|arn| cluster.tasks.get(arn))
                    .filter(|t| t.desired_status() == "RUNNING" && t.last_status() != "STOPPED")
                    .map(|t| {
                        let zone = match t.instance {
                            Some(idx) => cluster
                                .state
                                .instance(idx)
                                .ok()
                                .and_then(|i| i.attribute(ZONE_ATTRIBUTE).flatten())
                                .map(str::to_string),
                            None => t.availability_zone.clone(),
                        };
                        (t.instance, zone)
                    })
                    .collect();
                let fargate = record
                    .service
                    .launch_type
                    .as_ref()
                    .is_some_and(|l| l.as_str() == "FARGATE");
                let fargate_subnet_zones = fargate.then(|| {
                    let mut zones: Vec<String> = record
                        .service
                        .network_configuration
                        .as_ref()
                        .and_then(|n| n.awsvpc_configuration.as_ref())
                        .and_then(|a| a.subnets.clone())
                        .unwrap_or_default()
                        .iter()
                        .map(|s| self.subnet_zone(s))
                        .collect();
                    zones.sort();
                    zones.dedup();
                    zones
                });
                Counted {
                    key: record.name().to_string(),
                    daemon: record.is_daemon(),
                    fargate_subnet_zones,
                    tasks,
                }
            })
            .collect();
        let mut zones: Vec<String> = live.iter().filter_map(|l| l.3.clone()).collect();
        for c in &counted {
            zones.extend(c.tasks.iter().filter_map(|(_, z)| z.clone()));
        }
        zones.sort();
        zones.dedup();
        // Every fault: the lost instances and, per service, how many lost tasks re-place.
        let instance_faults: Vec<(String, Vec<InstanceIdx>)> =
            live.iter().map(|l| (l.1.clone(), vec![l.0])).collect();
        let zone_faults: Vec<(String, Vec<InstanceIdx>)> = zones
            .iter()
            .map(|zone| {
                (
                    zone.clone(),
                    live.iter()
                        .filter(|l| l.3.as_deref() == Some(zone.as_str()))
                        .map(|l| l.0)
                        .collect(),
                )
            })
            .collect();
        let instance_results: Vec<BTreeMap<String, (i64, i64)>> = instance_faults
            .iter()
            .map(|(_, lost)| self.simulate_loss(&cluster_key, &counted, lost, None))
            .collect();
        let zone_results: Vec<BTreeMap<String, (i64, i64)>> = zone_faults
            .iter()
            .map(|(zone, lost)| self.simulate_loss(&cluster_key, &counted, lost, Some(zone)))
            .collect();
        let mut report = Vec::new();
        for key in &keys {
            let record = &cluster.services[key];
            let Some(mine) = counted.iter().find(|c| &c.key == key) else {
                continue;
            };
            let described = cluster.describe_service(record, self.now, false);
            let desired = i64::from(described.desired_count.unwrap_or(0));
            let percent = healthy_percent.unwrap_or_else(|| {
                i64::from(
                    record
                        .service
                        .deployment_configuration
                        .as_ref()
                        .and_then(|c| c.minimum_healthy_percent)
                        .unwrap_or(if record.is_daemon() { 0 } else { 100 }),
                )
            });
            let (floor, _) = super::deployment_bounds(desired, percent, 100);
            let total = mine.tasks.len() as i64;
            let mut tasks_per_zone: BTreeMap<String, i64> =
                zones.iter().map(|z| (z.clone(), 0)).collect();
            for (_, zone) in &mine.tasks {
                if let Some(zone) = zone {
                    *tasks_per_zone.entry(zone.clone()).or_default() += 1;
                }
            }
            let tasks_per_instance: Vec<InstanceTasks> = live
                .iter()
                .map(|(idx, arn, ec2, zone)| InstanceTasks {
                    container_instance_arn: arn.clone(),
                    ec2_instance_id: ec2.clone(),
                    availability_zone: zone.clone(),
                    tasks: mine.tasks.iter().filter(|(i, _)| *i == Some(*idx)).count() as i64,
                })
                .collect();
            let outcome = |lost: &str, result: &BTreeMap<String, (i64, i64)>| {
                let (tasks_lost, replaceable) = result.get(key).copied().unwrap_or((0, 0));
                let remaining = total - tasks_lost;
                LossOutcome {
                    lost: lost.to_string(),
                    tasks_lost,
                    tasks_remaining: remaining,
                    above_floor: remaining >= floor,
                    replaceable,
                    recovers: replaceable == tasks_lost,
                }
            };
            let instance_losses: Vec<LossOutcome> = instance_faults
                .iter()
                .zip(&instance_results)
                .filter(|((_, lost), _)| mine.tasks.iter().any(|(i, _)| *i == Some(lost[0])))
                .map(|((arn, _), result)| outcome(arn, result))
                .collect();
            let zone_losses: Vec<LossOutcome> = zone_faults
                .iter()
                .zip(&zone_results)
                .map(|((zone, _), result)| outcome(zone, result))
                .collect();
            let survives =
                |losses: &[LossOutcome]| losses.iter().all(|l| l.above_floor && l.recovers);
            report.push(ServiceAvailability {
                service_name: key.clone(),
                scheduling_strategy: if record.is_daemon() {
                    "DAEMON"
                } else {
                    "REPLICA"
                }
                .to_string(),
                desired_count: desired,
                tasks: total,
                healthy_percent: percent,
                healthy_floor: floor,
                tasks_per_zone,
                tasks_per_instance,
                survives_instance_loss: survives(&instance_losses),
                survives_zone_loss: survives(&zone_losses),
                instance_losses,
                zone_losses,
            });
        }
        Ok(AvailabilityReport {
            cluster_arn: cluster.arn.clone(),
            at: self.now,
            services: report,
        })
    }

    /// Per service: (tasks lost, tasks the remaining capacity re-places) when `lost`
    /// instances (and, for Fargate tasks, `zone`) go away, on a copy of the placement state.
    fn simulate_loss(
        &self,
        cluster_key: &str,
        counted: &[Counted],
        lost: &[InstanceIdx],
        zone: Option<&str>,
    ) -> BTreeMap<String, (i64, i64)> {
        let mut state = self.clusters[cluster_key].state.clone();
        for idx in lost {
            let _ = state.deregister(*idx, true);
        }
        let mut out = BTreeMap::new();
        for service in counted {
            let lost_tasks = service
                .tasks
                .iter()
                .filter(|(instance, task_zone)| match instance {
                    Some(idx) => lost.contains(idx),
                    None => zone.is_some() && task_zone.as_deref() == zone,
                })
                .count() as i64;
            let replaceable = if lost_tasks == 0 || service.daemon {
                // A DAEMON service's desired count shrinks with the instances (SVC-DAEMON).
                lost_tasks
            } else if let Some(subnet_zones) = &service.fargate_subnet_zones {
                if subnet_zones.iter().any(|z| Some(z.as_str()) != zone) {
                    lost_tasks
                } else {
                    0
                }
            } else {
                match self.service_request(cluster_key, &service.key, lost_tasks as u32, None) {
                    Some((_, request)) => match placement::plan(&state, &request) {
                        Ok(plan) => {
                            let placed = plan
                                .outcomes()
                                .iter()
                                .filter(|o| o.placement().is_some())
                                .count() as i64;
                            let _ = plan.apply(&mut state);
                            placed
                        }
                        Err(_) => 0,
                    },
                    None => 0,
                }
            };
            out.insert(service.key.clone(), (lost_tasks, replaceable));
        }
        out
    }
}
