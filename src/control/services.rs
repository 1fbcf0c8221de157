//! Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices; the
//! service scheduler (REPLICA and DAEMON) and rolling deployments with the deployment circuit
//! breaker, run by [`Ecs::advance`] after the agents (scenario-format.md "Time", step 3).
//!
//! Rules: SVC-* and DEP-* (placement-and-services.md §6), PL-DEFAULT-SERVICE, PL-SCALEIN,
//! PL-GROUP-DEFAULT, TASK-STOPCODE. Where ECS publishes no algorithm the choices are stowplan's
//! and say so (`[inferred]`):
//! - a task is *healthy* 40 seconds after it reached `RUNNING` unless the harness made it report
//!   `UNHEALTHY` (DEP-HEALTHY; no load balancer is modelled);
//! - the circuit breaker counts tasks of the deployment that stopped with `TaskFailedToStart` or
//!   `EssentialContainerExited`, and tasks the scheduler replaced because they were unhealthy; a
//!   task becoming healthy resets the count (`resetOnHealthyTask`, default true);
//! - a rollback makes the most recent `COMPLETED` deployment `PRIMARY` again (DEP-CIRCUIT-BREAKER).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::clusters::valid_name;
use super::error::invalid;
use super::instances::missing;
use super::tasks::{Launch, demand_for, demand_reservation};
use super::{Caller, Cluster, Ecs, Error, TaskRecord, TaskStatus};
use crate::model::{
    self, DeploymentRolloutState, HealthStatus, LaunchType, SchedulingStrategy, TaskStopCode,
    Timestamp,
};
use crate::placement::{
    self, BinpackField, FailureReason, PlacementRequest, SpreadField, StrategyRule, Verdict,
};
use crate::state::{InstanceIdx, InstanceStatus};

mod rebalancing;
pub use rebalancing::{Rebalance, rebalancing_incompatibility};

/// Services per cluster (SVC-LIMITS).
pub const MAX_SERVICES_PER_CLUSTER: usize = 5_000;
/// Tasks per service (SVC-LIMITS): the largest `desiredCount`.
pub const MAX_TASKS_PER_SERVICE: i32 = 5_000;
/// Service events kept, newest first (SVC-EVENTS).
pub const MAX_SERVICE_EVENTS: usize = 100;
/// Services per DescribeServices call (SVC-LIST-DESCRIBE).
pub const MAX_DESCRIBE_SERVICES: usize = 10;
/// A task with no failing health check is healthy this long after it reached RUNNING
/// (DEP-HEALTHY).
pub const HEALTHY_AFTER_SECS: i64 = 40;
/// Consecutive launch failures before `is unable to consistently start tasks successfully.`
/// (SVC-REPLICA-MAINTAIN, inferred threshold).
pub const CONSISTENT_START_FAILURES: u32 = 3;
/// Scheduler rounds per tick at most (each round runs every service once).
const MAX_SCHEDULER_ROUNDS: usize = 32;

const TROUBLESHOOTING: &str =
    "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

/// What `Sim.FailTasks` makes a matching new task do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultMode {
    /// It never reaches RUNNING: PENDING → STOPPED, `TaskFailedToStart`.
    FailToStart,
    /// Its essential containers exit (code 1) `seconds` after it reached RUNNING.
    ExitAfter,
    /// Once RUNNING it reports `healthStatus` `UNHEALTHY`.
    Unhealthy,
}

impl FaultMode {
    /// Parses the harness spelling (`failToStart`, `exitAfter`, `unhealthy`).
    pub fn parse(text: &str) -> Option<FaultMode> {
        match text {
            "failToStart" => Some(FaultMode::FailToStart),
            "exitAfter" => Some(FaultMode::ExitAfter),
            "unhealthy" => Some(FaultMode::Unhealthy),
            _ => None,
        }
    }
}

/// A fault injected by `Sim.FailTasks`: every task of the task definition created from `since`
/// on behaves as `mode` says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// A family (every revision) or a full task-definition ARN.
    pub task_definition: String,
    /// What the tasks do.
    pub mode: FaultMode,
    /// For [`FaultMode::ExitAfter`]: seconds after RUNNING.
    pub seconds: i64,
    /// The clock when the fault was declared; older tasks are unaffected.
    pub since: i64,
}

impl Fault {
    fn matches(&self, record: &TaskRecord) -> bool {
        let definition_matches = if self.task_definition.starts_with("arn:") {
            record.task_definition_arn() == self.task_definition
        } else {
            record.family() == self.task_definition
        };
        definition_matches && record.created_at.secs() >= self.since
    }
}

/// The ECS record of one service: its configuration (as DescribeServices shows it, counters
/// recomputed on every describe), deployments (PRIMARY first), events and tasks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The service's configuration and status.
    pub service: model::Service,
    /// Deployments, PRIMARY first, then older ones (ACTIVE) newest first.
    pub deployments: Vec<model::Deployment>,
    /// Service events, newest first, at most 100 (SVC-EVENTS).
    pub events: Vec<model::ServiceEvent>,
    /// ARNs of the tasks it started (until they expire), in launch order.
    pub task_arns: Vec<String>,
    /// Tasks whose stop or health the circuit breaker already counted.
    pub accounted: Vec<String>,
    /// Whether the service is in a steady state (the last event said so).
    pub steady: bool,
    /// Consecutive tasks that stopped before reaching RUNNING.
    pub launch_failures: u32,
    /// Availability Zone rebalancing in progress (SVC-AZ-REBALANCE).
    #[serde(default)]
    pub rebalance: Rebalance,
}

impl ServiceRecord {
    /// The service name.
    pub fn name(&self) -> &str {
        self.service.service_name.as_deref().unwrap_or_default()
    }

    /// `ACTIVE`, `DRAINING` or `INACTIVE` (SVC-STATUS).
    pub fn status(&self) -> &str {
        self.service.status.as_deref().unwrap_or_default()
    }

    /// Whether it is ACTIVE.
    pub fn is_active(&self) -> bool {
        self.status() == "ACTIVE"
    }

    /// Whether it is INACTIVE (deleted and drained).
    pub fn is_inactive(&self) -> bool {
        self.status() == "INACTIVE"
    }

    /// Whether it uses the DAEMON scheduling strategy.
    pub fn is_daemon(&self) -> bool {
        matches!(
            self.service.scheduling_strategy,
            Some(SchedulingStrategy::Daemon)
        )
    }

    fn is_fargate(&self) -> bool {
        matches!(self.service.launch_type, Some(LaunchType::Fargate))
    }

    fn group(&self) -> String {
        format!("service:{}", self.name())
    }

    fn percents(&self) -> (i64, i64) {
        let config = self.service.deployment_configuration.as_ref();
        let min = config
            .and_then(|c| c.minimum_healthy_percent)
            .unwrap_or(100);
        let max = config.and_then(|c| c.maximum_percent).unwrap_or(200);
        (i64::from(min), i64::from(max))
    }

    fn breaker(&self) -> (bool, bool) {
        let breaker = self
            .service
            .deployment_configuration
            .as_ref()
            .and_then(|c| c.deployment_circuit_breaker.as_ref());
        (
            breaker.and_then(|b| b.enable).unwrap_or(false),
            breaker.and_then(|b| b.rollback).unwrap_or(false),
        )
    }

    fn reset_on_healthy(&self) -> bool {
        self.service
            .deployment_configuration
            .as_ref()
            .and_then(|c| c.deployment_circuit_breaker.as_ref())
            .and_then(|b| b.reset_on_healthy_task)
            .unwrap_or(true)
    }

    pub(crate) fn primary_id(&self) -> String {
        self.deployments
            .first()
            .and_then(|d| d.id.clone())
            .unwrap_or_default()
    }

    fn push_event(&mut self, id: String, now: i64, message: String) {
        // SVC-EVENTS: identical consecutive messages are suppressed; 100 kept.
        if self.events.first().and_then(|e| e.message.as_deref()) == Some(message.as_str()) {
            return;
        }
        self.events.insert(
            0,
            model::ServiceEvent {
                id: Some(id),
                created_at: Some(Timestamp::from_secs(now)),
                message: Some(message),
                ..Default::default()
            },
        );
        self.events.truncate(MAX_SERVICE_EVENTS);
    }
}

/// DEP-ROUNDING: the most tasks (⌊D × max / 100⌋) and the fewest healthy tasks
/// (⌈D × min / 100⌉) a deployment step may leave.
pub fn deployment_bounds(desired: i64, minimum_percent: i64, maximum_percent: i64) -> (i64, i64) {
    let max = (desired * maximum_percent).div_euclid(100);
    let min = (desired * minimum_percent + 99).div_euclid(100);
    (min, max)
}

/// DEP-CIRCUIT-BREAKER: the failure threshold T = clamp(⌈0.5 × desired⌉, 3, 200).
pub fn circuit_breaker_threshold(desired: i64) -> i64 {
    ((desired + 1) / 2).clamp(3, 200)
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn is_pending(status: &str) -> bool {
    matches!(status, "PROVISIONING" | "PENDING" | "ACTIVATING")
}

/// DEP-HEALTHY without a load balancer: RUNNING for 40 s and not reporting UNHEALTHY.
fn is_healthy(record: &TaskRecord, now: i64) -> bool {
    record.last_status() == "RUNNING"
        && record.desired_status() == "RUNNING"
        && record.health_status != Some(HealthStatus::Unhealthy)
        && record
            .started_at
            .is_some_and(|at| now - at.secs() >= HEALTHY_AFTER_SECS)
}

/// The DeploymentConfiguration a service gets: `given` over the defaults (DEP-CONFIG-DEFAULTS),
/// checked (SVC-DAEMON).
fn resolve_configuration(
    given: Option<&model::DeploymentConfiguration>,
    base: Option<&model::DeploymentConfiguration>,
    daemon: bool,
) -> Result<model::DeploymentConfiguration, Error> {
    let (default_min, default_max) = if daemon { (0, 100) } else { (100, 200) };
    let pick = |f: fn(&model::DeploymentConfiguration) -> Option<i32>, default: i32| {
        given
            .and_then(f)
            .or_else(|| base.and_then(f))
            .unwrap_or(default)
    };
    let min = pick(|c| c.minimum_healthy_percent, default_min);
    let max = pick(|c| c.maximum_percent, default_max);
    if !(0..=100).contains(&min) {
        return Err(invalid("minimumHealthyPercent must be between 0 and 100."));
    }
    if daemon && max > 100 {
        return Err(invalid(
            "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again",
        ));
    }
    if max < 0 {
        return Err(invalid("maximumPercent must not be negative."));
    }
    let breaker = given
        .and_then(|c| c.deployment_circuit_breaker.clone())
        .or_else(|| base.and_then(|c| c.deployment_circuit_breaker.clone()))
        .unwrap_or(model::DeploymentCircuitBreaker {
            enable: Some(false),
            rollback: Some(false),
            ..Default::default()
        });
    Ok(model::DeploymentConfiguration {
        deployment_circuit_breaker: Some(breaker),
        maximum_percent: Some(max),
        minimum_healthy_percent: Some(min),
        ..Default::default()
    })
}

impl Cluster {
    /// The key (name) of the service a `service` parameter names (name or ARN).
    pub fn service_key(&self, parameter: &str) -> Option<String> {
        let name = parameter.rsplit('/').next().unwrap_or(parameter);
        self.services.contains_key(name).then(|| name.to_string())
    }

    /// The tasks of a service, for ListTasks `serviceName` (`ServiceNotFoundException` if the
    /// cluster has no such service).
    pub fn service_task_arns(&self, parameter: &str) -> Result<Vec<String>, Error> {
        let key = self.service_key(parameter).ok_or(Error::ServiceNotFound)?;
        Ok(self.services[&key].task_arns.clone())
    }

    /// Services with `status` on Fargate (`fargate`) or not (cluster statistics).
    pub fn service_count(&self, status: &str, fargate: bool) -> usize {
        self.services
            .values()
            .filter(|s| s.status() == status && s.is_fargate() == fargate)
            .count()
    }

    /// Container instances a DAEMON service should run on: ACTIVE, agent connected, and
    /// satisfying the service's constraints and required attributes (SVC-DAEMON).
    fn daemon_instances(&self, request: &PlacementRequest) -> Vec<InstanceIdx> {
        let Ok(explanation) = placement::explain(&self.state, request) else {
            return Vec::new();
        };
        let Some(first) = explanation.tasks.first() else {
            return Vec::new();
        };
        first
            .verdicts
            .iter()
            .filter(|(_, verdict)| match verdict {
                Verdict::Ranked { .. } => true,
                Verdict::NotCandidate(_) => false,
                Verdict::Rejected(rejection) => !matches!(
                    rejection.reason(),
                    FailureReason::Agent
                        | FailureReason::Attribute
                        | FailureReason::Location
                        | FailureReason::MemberOf
                        | FailureReason::DistinctInstance
                ),
            })
            .map(|(idx, _)| *idx)
            .collect()
    }

    fn instance_arn(&self, idx: InstanceIdx) -> Option<String> {
        self.instances
            .values()
            .find(|r| r.idx == idx)
            .map(|r| r.arn.clone())
    }

    fn instance_status(&self, idx: InstanceIdx) -> InstanceStatus {
        self.state
            .instance(idx)
            .map(|i| i.status())
            .unwrap_or(InstanceStatus::Inactive)
    }

    /// Marks a task to stop (desired STOPPED); the agents walk it to STOPPED.
    fn schedule_stop(&mut self, arn: &str, code: TaskStopCode, reason: &str) {
        if let Some(record) = self.tasks.get_mut(arn)
            && record.desired_status() != "STOPPED"
        {
            record.mark_stopping(code, reason);
            record.bump();
        }
    }

    /// The service as DescribeServices shows it: counters from the task table (SVC-COUNTS).
    pub fn describe_service(
        &self,
        record: &ServiceRecord,
        now: i64,
        with_tags: bool,
    ) -> model::Service {
        let tasks: Vec<&TaskRecord> = record
            .task_arns
            .iter()
            .filter_map(|arn| self.tasks.get(arn))
            .collect();
        let count = |deployment: Option<&str>, f: &dyn Fn(&TaskRecord) -> bool| {
            tasks
                .iter()
                .filter(|t| deployment.is_none_or(|d| t.started_by.as_deref() == Some(d)))
                .filter(|t| f(t))
                .count() as i32
        };
        let desired = if record.is_daemon() && record.is_active() {
            self.daemon_desired(record)
        } else {
            record.service.desired_count.unwrap_or(0)
        };
        let mut service = record.service.clone();
        service.desired_count = Some(desired);
        service.running_count = Some(count(None, &|t| t.last_status() == "RUNNING"));
        service.pending_count = Some(count(None, &|t| is_pending(t.last_status())));
        service.deployments = Some(
            record
                .deployments
                .iter()
                .enumerate()
                .map(|(position, deployment)| {
                    let mut deployment = deployment.clone();
                    let id = deployment.id.clone().unwrap_or_default();
                    deployment.desired_count = Some(if position == 0 {
                        desired
                    } else {
                        count(Some(&id), &|t| {
                            t.desired_status() == "RUNNING" && t.last_status() != "STOPPED"
                        })
                    });
                    deployment.running_count =
                        Some(count(Some(&id), &|t| t.last_status() == "RUNNING"));
                    deployment.pending_count =
                        Some(count(Some(&id), &|t| is_pending(t.last_status())));
                    deployment
                })
                .collect(),
        );
        service.events = Some(record.events.clone());
        if !with_tags {
            service.tags = None;
        }
        let _ = now;
        service
    }

    fn daemon_desired(&self, record: &ServiceRecord) -> i32 {
        let Some(request) = self.daemon_probe(record) else {
            return 0;
        };
        self.daemon_instances(&request).len() as i32
    }

    /// A placement request that asks only the daemon's constraints and required attributes
    /// (no resources), to find the instances it belongs on.
    fn daemon_probe(&self, record: &ServiceRecord) -> Option<PlacementRequest> {
        let mut request = PlacementRequest::new(placement::Demand::new(0, 0), record.group());
        for constraint in record
            .service
            .placement_constraints
            .as_deref()
            .unwrap_or_default()
        {
            if let Some(expression) = &constraint.expression
                && let Ok(parsed) = placement::Constraint::member_of(expression)
            {
                request = request.with_constraint(parsed);
            }
        }
        Some(request)
    }
}

/// One service task as the scheduler sees it.
#[derive(Clone, Debug)]
struct View {
    arn: String,
    deployment: String,
    last: String,
    desired_running: bool,
    healthy: bool,
    instance: Option<InstanceIdx>,
    draining: bool,
}

impl Ecs {
    /// CreateService (SVC-CREATE-INPUT, DEP-CONFIG-DEFAULTS, PL-DEFAULT-SERVICE,
    /// PL-GROUP-DEFAULT): the service starts ACTIVE with one PRIMARY deployment IN_PROGRESS;
    /// the scheduler starts its tasks on the next tick.
    pub fn create_service(
        &mut self,
        request: &model::CreateServiceRequest,
        caller: &Caller,
    ) -> Result<model::CreateServiceResponse, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let name = request.service_name.clone().unwrap_or_default();
        if !valid_name(&name) {
            return Err(invalid(
                "Service name must be 1-255 characters: letters (upper and lower case), numbers, hyphens and underscores.",
            ));
        }
        if cluster
            .services
            .get(&name)
            .is_some_and(|s| !s.is_inactive())
        {
            return Err(invalid("Creation of service was not idempotent."));
        }
        if cluster
            .services
            .values()
            .filter(|s| !s.is_inactive())
            .count()
            >= MAX_SERVICES_PER_CLUSTER
        {
            return Err(invalid(format!(
                "A cluster can have at most {MAX_SERVICES_PER_CLUSTER} services."
            )));
        }
        let strategy = request
            .scheduling_strategy
            .clone()
            .unwrap_or(SchedulingStrategy::Replica);
        if !strategy.is_known() {
            return Err(invalid(format!(
                "Invalid scheduling strategy: {}",
                strategy.as_str()
            )));
        }
        let daemon = strategy == SchedulingStrategy::Daemon;
        if let Some(controller) = request
            .deployment_controller
            .as_ref()
            .and_then(|c| c.r#type.as_ref())
            && controller.as_str() != "ECS"
        {
            return Err(invalid(format!(
                "The {} deployment controller is not supported by this version of stowplan.",
                controller.as_str()
            )));
        }
        // CP-STRATEGY-RULES, CP-DEFAULT-STRATEGY (capacity.rs).
        let providers = self.launch_strategy(
            cluster,
            request.launch_type.as_ref(),
            request.capacity_provider_strategy.as_deref(),
        )?;
        if daemon && providers.is_some() && request.capacity_provider_strategy.is_some() {
            return Err(invalid(
                "Capacity provider strategies are not supported with the DAEMON scheduling strategy.",
            ));
        }
        let providers = providers.filter(|_| !daemon);
        let desired = match (daemon, request.desired_count) {
            (false, None) => {
                return Err(invalid(
                    "desiredCount is required for the REPLICA scheduling strategy.",
                ));
            }
            (false, Some(n)) => n,
            (true, _) => 0,
        };
        if !(0..=MAX_TASKS_PER_SERVICE).contains(&desired) {
            return Err(invalid(format!(
                "desiredCount must be between 0 and {MAX_TASKS_PER_SERVICE}."
            )));
        }
        let launch_type = match &providers {
            Some(strategy) => Self::strategy_launch_type(strategy),
            None => request.launch_type.clone().unwrap_or(LaunchType::Ec2),
        };
        if daemon && launch_type == LaunchType::Fargate {
            return Err(invalid(
                "The daemon scheduling strategy is not supported with the FARGATE launch type.",
            ));
        }
        if daemon
            && request
                .placement_strategy
                .as_ref()
                .is_some_and(|s| !s.is_empty())
        {
            return Err(invalid(
                "Placement strategies are not supported with the daemon scheduling strategy.",
            ));
        }
        let configuration =
            resolve_configuration(request.deployment_configuration.as_ref(), None, daemon)?;
        let launch = self.check_launch(
            request.task_definition.as_deref(),
            Some(&launch_type),
            request.network_configuration.as_ref(),
            Some(&format!("service:{name}")),
            request.placement_constraints.as_deref().unwrap_or_default(),
            request.placement_strategy.as_deref(),
            request.platform_version.as_deref(),
        )?;
        super::tags::check_tags(request.tags.as_deref().unwrap_or_default())?;
        let az_rebalancing = rebalancing::on_create(request, &configuration)?;
        // Everything is checked: from here on the call succeeds.
        let cluster_key = cluster.name.clone();
        let cluster_arn = cluster.arn.clone();
        let now = self.now;
        let mut deployment =
            self.new_deployment(&launch, request.network_configuration.clone(), None);
        if providers.is_some() {
            deployment.launch_type = None;
            deployment.capacity_provider_strategy = providers.clone();
        }
        let fargate = launch_type == LaunchType::Fargate;
        let service = model::Service {
            service_arn: Some(self.arn(&format!("service/{cluster_key}/{name}"))),
            service_name: Some(name.clone()),
            cluster_arn: Some(cluster_arn),
            load_balancers: Some(request.load_balancers.clone().unwrap_or_default()),
            service_registries: Some(request.service_registries.clone().unwrap_or_default()),
            status: Some("ACTIVE".to_string()),
            desired_count: Some(desired),
            running_count: Some(0),
            pending_count: Some(0),
            launch_type: providers.is_none().then_some(launch_type),
            capacity_provider_strategy: providers,
            platform_version: fargate.then(|| {
                request
                    .platform_version
                    .clone()
                    .unwrap_or_else(|| "LATEST".to_string())
            }),
            platform_family: fargate.then(|| "Linux".to_string()),
            task_definition: launch.definition.task_definition_arn.clone(),
            deployment_configuration: Some(configuration),
            role_arn: None,
            created_at: Some(Timestamp::from_secs(now)),
            placement_constraints: Some(request.placement_constraints.clone().unwrap_or_default()),
            placement_strategy: Some(request.placement_strategy.clone().unwrap_or_default()),
            network_configuration: request.network_configuration.clone(),
            health_check_grace_period_seconds: request.health_check_grace_period_seconds,
            scheduling_strategy: Some(strategy),
            deployment_controller: Some(model::DeploymentController {
                r#type: Some(model::DeploymentControllerType::Ecs),
                ..Default::default()
            }),
            tags: Some(request.tags.clone().unwrap_or_default()),
            created_by: Some(caller.principal_arn.clone()),
            enable_ecs_managed_tags: Some(request.enable_ecs_managed_tags.unwrap_or(false)),
            propagate_tags: Some(
                request
                    .propagate_tags
                    .clone()
                    .unwrap_or(model::PropagateTags::None),
            ),
            enable_execute_command: Some(request.enable_execute_command.unwrap_or(false)),
            availability_zone_rebalancing: Some(az_rebalancing),
            ..Default::default()
        };
        let record = ServiceRecord {
            service,
            deployments: vec![deployment],
            events: Vec::new(),
            task_arns: Vec::new(),
            accounted: Vec::new(),
            steady: false,
            launch_failures: 0,
            rebalance: Rebalance::default(),
        };
        let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
        cluster.services.shift_remove(&name);
        cluster.services.insert(name.clone(), record);
        let cluster = &self.clusters[&cluster_key];
        Ok(model::CreateServiceResponse {
            service: Some(cluster.describe_service(&cluster.services[&name], now, true)),
            ..Default::default()
        })
    }

    fn new_deployment(
        &mut self,
        launch: &Launch,
        network: Option<model::NetworkConfiguration>,
        reason: Option<String>,
    ) -> model::Deployment {
        let id = format!("ecs-svc/{}", self.ids.digits(19));
        let now = Timestamp::from_secs(self.now);
        let fargate = launch.launch_type == LaunchType::Fargate;
        model::Deployment {
            status: Some("PRIMARY".to_string()),
            task_definition: launch.definition.task_definition_arn.clone(),
            desired_count: Some(0),
            pending_count: Some(0),
            running_count: Some(0),
            failed_tasks: Some(0),
            created_at: Some(now),
            updated_at: Some(now),
            launch_type: Some(launch.launch_type.clone()),
            platform_version: fargate.then(|| {
                launch
                    .platform_version
                    .clone()
                    .unwrap_or_else(|| "1.4.0".to_string())
            }),
            platform_family: fargate.then(|| "Linux".to_string()),
            network_configuration: network,
            rollout_state: Some(DeploymentRolloutState::InProgress),
            rollout_state_reason: Some(
                reason.unwrap_or_else(|| format!("ECS deployment {id} in progress.")),
            ),
            id: Some(id),
            ..Default::default()
        }
    }

    fn service_record(
        &self,
        cluster: Option<&str>,
        parameter: Option<&str>,
    ) -> Result<(String, String), Error> {
        let cluster = self.cluster(cluster)?;
        let parameter = parameter
            .filter(|p| !p.is_empty())
            .ok_or_else(|| invalid("service can not be blank."))?;
        let key = cluster
            .service_key(parameter)
            .ok_or(Error::ServiceNotFound)?;
        Ok((cluster.name.clone(), key))
    }

    /// UpdateService (DEP-TRIGGERS): `desiredCount`, deployment configuration and placement
    /// changes apply in place; a new task definition, network configuration, platform version
    /// or `forceNewDeployment` starts a new PRIMARY deployment.
    pub fn update_service(
        &mut self,
        request: &model::UpdateServiceRequest,
    ) -> Result<model::UpdateServiceResponse, Error> {
        let (cluster_key, key) =
            self.service_record(request.cluster.as_deref(), request.service.as_deref())?;
        let record = &self.clusters[&cluster_key].services[&key];
        if !record.is_active() {
            return Err(Error::ServiceNotActive);
        }
        let daemon = record.is_daemon();
        if let Some(n) = request.desired_count {
            if daemon {
                return Err(invalid(
                    "The daemon scheduling strategy does not support a desired count for services.",
                ));
            }
            if !(0..=MAX_TASKS_PER_SERVICE).contains(&n) {
                return Err(invalid(format!(
                    "desiredCount must be between 0 and {MAX_TASKS_PER_SERVICE}."
                )));
            }
        }
        let new_providers = self.update_strategy(&cluster_key, record, request)?;
        if let Some(controller) = request
            .deployment_controller
            .as_ref()
            .and_then(|c| c.r#type.as_ref())
            && controller.as_str() != "ECS"
        {
            return Err(invalid(
                "Updating the deployment controller is not supported by this version of stowplan.",
            ));
        }
        if daemon
            && request
                .placement_strategy
                .as_ref()
                .is_some_and(|s| !s.is_empty())
        {
            return Err(invalid(
                "Placement strategies are not supported with the daemon scheduling strategy.",
            ));
        }
        let configuration = resolve_configuration(
            request.deployment_configuration.as_ref(),
            record.service.deployment_configuration.as_ref(),
            daemon,
        )?;
        let current_definition = record.service.task_definition.clone().unwrap_or_default();
        let definition = match request.task_definition.as_deref() {
            Some(reference) => self.launchable_definition(Some(reference))?,
            None => Arc::clone(
                self.registry
                    .describe_shared(&current_definition)
                    .map_err(|_| Error::Client("TaskDefinition not found.".to_string()))?,
            ),
        };
        let new_arn = definition.task_definition_arn.clone().unwrap_or_default();
        let constraints = request
            .placement_constraints
            .clone()
            .or_else(|| record.service.placement_constraints.clone())
            .unwrap_or_default();
        let strategy = request
            .placement_strategy
            .clone()
            .or_else(|| record.service.placement_strategy.clone())
            .unwrap_or_default();
        let network = request
            .network_configuration
            .clone()
            .or_else(|| record.service.network_configuration.clone());
        let platform = request
            .platform_version
            .clone()
            .or_else(|| record.service.platform_version.clone());
        let launch_type = match &new_providers {
            Some(strategy) => Some(Self::strategy_launch_type(strategy)),
            None => Self::service_launch_type(&record.service),
        };
        let launch = self.check_launch_with(
            definition,
            launch_type.as_ref(),
            network.as_ref(),
            Some(&record.group()),
            &constraints,
            Some(&strategy),
            platform.as_deref(),
        )?;
        let az_rebalancing =
            rebalancing::on_update(request, record, &configuration, &strategy, &constraints)?;
        let new_deployment = new_arn != current_definition
            || request.force_new_deployment == Some(true)
            || new_providers.is_some()
            || (request.network_configuration.is_some()
                && network != record.service.network_configuration)
            || (request.platform_version.is_some() && platform != record.service.platform_version);
        // Everything is checked: from here on the call succeeds.
        let deployment = new_deployment.then(|| {
            let mut deployment = self.new_deployment(&launch, network.clone(), None);
            let strategy = new_providers.clone().or_else(|| {
                self.clusters[&cluster_key].services[&key]
                    .service
                    .capacity_provider_strategy
                    .clone()
                    .filter(|s| !s.is_empty())
            });
            if strategy.is_some() {
                deployment.launch_type = None;
                deployment.capacity_provider_strategy = strategy;
            }
            deployment
        });
        let now = self.now;
        let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
        let record = cluster.services.get_mut(&key).expect("checked above");
        if let Some(n) = request.desired_count
            && Some(n) != record.service.desired_count
        {
            record.service.desired_count = Some(n);
            record.steady = false;
        }
        if let Some(strategy) = new_providers {
            record.service.launch_type = None;
            record.service.capacity_provider_strategy = Some(strategy);
        }
        record.service.deployment_configuration = Some(configuration);
        record.service.placement_constraints = Some(constraints);
        record.service.placement_strategy = Some(strategy);
        record.service.network_configuration = network;
        record.service.platform_version = platform;
        if let Some(grace) = request.health_check_grace_period_seconds {
            record.service.health_check_grace_period_seconds = Some(grace);
        }
        if let Some(flag) = request.enable_execute_command {
            record.service.enable_execute_command = Some(flag);
        }
        record.service.availability_zone_rebalancing = Some(az_rebalancing);
        if let Some(deployment) = deployment {
            for old in &mut record.deployments {
                old.status = Some("ACTIVE".to_string());
                old.updated_at = Some(Timestamp::from_secs(now));
            }
            record.deployments.insert(0, deployment);
            record.service.task_definition = Some(new_arn);
            record.steady = false;
        }
        let cluster = &self.clusters[&cluster_key];
        Ok(model::UpdateServiceResponse {
            service: Some(cluster.describe_service(&cluster.services[&key], now, false)),
            ..Default::default()
        })
    }

    /// DeleteService (SVC-DELETE, SVC-STATUS): refused for a REPLICA service scaled above 0
    /// without `force`; the service becomes DRAINING, its tasks stop, and once they are all
    /// STOPPING or STOPPED it is INACTIVE.
    pub fn delete_service(
        &mut self,
        request: &model::DeleteServiceRequest,
    ) -> Result<model::DeleteServiceResponse, Error> {
        let (cluster_key, key) =
            self.service_record(request.cluster.as_deref(), request.service.as_deref())?;
        let record = &self.clusters[&cluster_key].services[&key];
        if !record.is_active() {
            return Err(Error::ServiceNotActive);
        }
        if !record.is_daemon()
            && record.service.desired_count.unwrap_or(0) > 0
            && request.force != Some(true)
        {
            return Err(invalid(
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        let now = self.now;
        let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
        let record = cluster.services.get_mut(&key).expect("checked above");
        record.service.status = Some("DRAINING".to_string());
        record.service.desired_count = Some(0);
        let reason = format!(
            "Scaling activity initiated by (deployment {})",
            record.primary_id()
        );
        let arns = record.task_arns.clone();
        for arn in &arns {
            cluster.schedule_stop(arn, TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
        let cluster = &self.clusters[&cluster_key];
        Ok(model::DeleteServiceResponse {
            service: Some(cluster.describe_service(&cluster.services[&key], now, false)),
            ..Default::default()
        })
    }

    /// DescribeServices (SVC-LIST-DESCRIBE): ≤ 10 names or ARNs; unknown ones are `MISSING`
    /// failures. DRAINING and INACTIVE services are still described.
    pub fn describe_services(
        &self,
        request: &model::DescribeServicesRequest,
    ) -> Result<model::DescribeServicesResponse, Error> {
        let wanted = super::describe_batch(
            request.services.as_deref(),
            MAX_DESCRIBE_SERVICES,
            "Services cannot be empty.",
            "services can have at most 10 items.",
        )?;
        let cluster = self.cluster(request.cluster.as_deref())?;
        let with_tags = super::includes_tags(request.include.iter().flatten().map(|f| f.as_str()));
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for parameter in wanted {
            match cluster.service_key(parameter) {
                Some(key) => services.push(cluster.describe_service(
                    &cluster.services[&key],
                    self.now,
                    with_tags,
                )),
                None => failures.push(missing(self, &cluster.name, parameter, "service")),
            }
        }
        Ok(model::DescribeServicesResponse {
            services: Some(services),
            failures: Some(failures),
            ..Default::default()
        })
    }

    /// The service ARNs ListServices returns before paging: ACTIVE services, filtered by
    /// `launchType` and `schedulingStrategy` (SVC-LIST-DESCRIBE).
    pub fn service_arns(&self, request: &model::ListServicesRequest) -> Result<Vec<String>, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        Ok(cluster
            .services
            .values()
            .filter(|s| s.is_active())
            .filter(|s| {
                request
                    .launch_type
                    .as_ref()
                    .is_none_or(|l| s.service.launch_type.as_ref() == Some(l))
            })
            .filter(|s| {
                request
                    .scheduling_strategy
                    .as_ref()
                    .is_none_or(|l| s.service.scheduling_strategy.as_ref() == Some(l))
            })
            .filter_map(|s| s.service.service_arn.clone())
            .collect())
    }

    /// `Sim.FailTasks`: every task of `task_definition` (a family, `family:revision` or ARN)
    /// created from now on fails as `mode` says; `mode` `None` removes the faults declared for
    /// it. Returns the number of faults in force.
    pub fn fail_tasks(
        &mut self,
        task_definition: &str,
        mode: Option<FaultMode>,
        seconds: i64,
    ) -> Result<usize, Error> {
        let key = if task_definition.contains(':') {
            self.registry
                .describe(task_definition)
                .map_err(|_| Error::Client("TaskDefinition not found.".to_string()))?
                .task_definition_arn
                .clone()
                .unwrap_or_default()
        } else {
            task_definition.to_string()
        };
        if key.is_empty() {
            return Err(invalid("taskDefinition can not be blank."));
        }
        if seconds < 0 {
            return Err(invalid("seconds must not be negative."));
        }
        self.faults.retain(|f| f.task_definition != key);
        if let Some(mode) = mode {
            self.faults.push(Fault {
                task_definition: key,
                mode,
                seconds,
                since: self.now,
            });
        }
        Ok(self.faults.len())
    }

    /// Faults that act before the agents move tasks: a PENDING task that must fail to start
    /// is marked to stop (it goes to STOPPED in this tick, TASK-TRANSITIONS); a task whose
    /// essential containers must exit now exits (TASK-STOPCODE `EssentialContainerExited`).
    pub(crate) fn apply_faults_before_agents(&mut self) {
        if self.faults.is_empty() {
            return;
        }
        let now = self.now;
        let faults = self.faults.clone();
        for cluster in self.clusters.values_mut() {
            for record in cluster.tasks.values_mut() {
                if record.desired_status() != "RUNNING" {
                    continue;
                }
                for fault in faults.iter().filter(|f| f.matches(record)) {
                    match fault.mode {
                        FaultMode::FailToStart if record.last_status() == "PENDING" => {
                            record.mark_stopping(
                                TaskStopCode::TaskFailedToStart,
                                "CannotStartContainerError: the container failed to start (Sim.FailTasks)",
                            );
                        }
                        FaultMode::ExitAfter
                            if record.last_status() == "RUNNING"
                                && record
                                    .started_at
                                    .is_some_and(|at| now - at.secs() >= fault.seconds) =>
                        {
                            for position in 0..record.containers.len() {
                                if record.essential(position) {
                                    let container = &mut record.containers[position];
                                    container.last = TaskStatus::Stopped;
                                    container.exit_code = Some(1);
                                    container.network_bindings = Vec::new();
                                }
                            }
                            record.mark_stopping(
                                TaskStopCode::EssentialContainerExited,
                                "Essential container in task exited",
                            );
                        }
                        _ => continue,
                    }
                    record.bump();
                    break;
                }
            }
        }
    }

    /// Faults that act after the agents: RUNNING tasks that must be unhealthy report it.
    pub(crate) fn apply_faults_after_agents(&mut self) {
        if self.faults.is_empty() {
            return;
        }
        let faults = self.faults.clone();
        for cluster in self.clusters.values_mut() {
            for record in cluster.tasks.values_mut() {
                if record.last_status() == "RUNNING"
                    && record.health_status != Some(HealthStatus::Unhealthy)
                    && faults
                        .iter()
                        .any(|f| f.mode == FaultMode::Unhealthy && f.matches(record))
                {
                    record.health_status = Some(HealthStatus::Unhealthy);
                    record.bump();
                }
            }
        }
    }

    /// Step 3 of a tick: every service of every cluster, DAEMON ones first, round after round
    /// until a round changes nothing; `observe` sees the state after every service step.
    pub(crate) fn run_service_schedulers(&mut self, observe: &mut impl FnMut(&Ecs)) {
        let keys: Vec<String> = self.clusters.keys().cloned().collect();
        for key in keys {
            let mut names: Vec<(bool, String)> = self.clusters[&key]
                .services
                .values()
                .filter(|s| !s.is_inactive())
                .map(|s| (!s.is_daemon(), s.name().to_string()))
                .collect();
            if names.is_empty() {
                continue;
            }
            names.sort_by_key(|(replica, _)| *replica);
            for _ in 0..MAX_SCHEDULER_ROUNDS {
                let mut changed = false;
                for (_, name) in &names {
                    changed |= self.schedule_service(&key, name);
                    observe(self);
                }
                if !changed {
                    break;
                }
            }
        }
    }

    fn event(&mut self, cluster: &str, service: &str, message: String) {
        let id = self.ids.uuid();
        let now = self.now;
        if let Some(record) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.services.get_mut(service))
        {
            record.push_event(id, now, message);
        }
    }

    /// One scheduler step for one service; whether it changed anything.
    fn schedule_service(&mut self, cluster_key: &str, name: &str) -> bool {
        let now = self.now;
        let mut changed = false;
        // Forget expired tasks.
        {
            let cluster = self.clusters.get_mut(cluster_key).expect("listed");
            let known: Vec<String> = cluster.tasks.keys().cloned().collect();
            let record = cluster.services.get_mut(name).expect("listed");
            record.task_arns.retain(|a| known.contains(a));
            let arns = record.task_arns.clone();
            record.accounted.retain(|a| arns.contains(a));
        }
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        if record.is_inactive() {
            return false;
        }
        if !record.is_active() {
            // SVC-STATUS: DRAINING → INACTIVE once every task is STOPPING or STOPPED.
            let drained = record.task_arns.iter().all(|a| {
                cluster.tasks.get(a).is_none_or(|t| {
                    matches!(t.last_status(), "STOPPING" | "DEPROVISIONING" | "STOPPED")
                })
            });
            if drained {
                let cluster = self.clusters.get_mut(cluster_key).expect("listed");
                let record = cluster.services.get_mut(name).expect("listed");
                record.service.status = Some("INACTIVE".to_string());
                for deployment in &mut record.deployments {
                    deployment.updated_at = Some(Timestamp::from_secs(now));
                }
                return true;
            }
            return false;
        }
        changed |= self.account_tasks(cluster_key, name);
        changed |= self.circuit_breaker(cluster_key, name);
        changed |= self.replace_unhealthy(cluster_key, name);
        changed |= self.rebalance_step(cluster_key, name);
        changed |= if self.clusters[cluster_key].services[name].is_daemon() {
            self.step_daemon(cluster_key, name)
        } else {
            self.step_replica(cluster_key, name)
        };
        self.settle(cluster_key, name);
        changed
    }

    /// Circuit-breaker bookkeeping (DEP-DEPLOYMENT-FIELDS `failedTasks`, DEP-CIRCUIT-BREAKER
    /// stages) and SVC-REPLICA-MAINTAIN's launch-failure event.
    fn account_tasks(&mut self, cluster_key: &str, name: &str) -> bool {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let mut failures: Vec<(String, String, bool)> = Vec::new();
        let mut healthy: Vec<(String, String)> = Vec::new();
        for arn in &record.task_arns {
            let Some(task) = cluster.tasks.get(arn) else {
                continue;
            };
            let deployment = task.started_by.clone().unwrap_or_default();
            if record.accounted.contains(arn) {
                continue;
            }
            if task.last_status() == "STOPPED" {
                let failed = matches!(
                    task.stop_code,
                    Some(TaskStopCode::TaskFailedToStart)
                        | Some(TaskStopCode::EssentialContainerExited)
                );
                if failed {
                    failures.push((arn.clone(), deployment, task.started_at.is_none()));
                } else {
                    healthy.push((arn.clone(), String::new()));
                }
            } else if is_healthy(task, now) {
                healthy.push((arn.clone(), deployment));
            }
        }
        if failures.is_empty() && healthy.is_empty() {
            return false;
        }
        let mut consistent_event = false;
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        let record = cluster.services.get_mut(name).expect("listed");
        let reset = record.reset_on_healthy();
        for (arn, deployment) in &healthy {
            record.accounted.push(arn.clone());
            if deployment.is_empty() {
                continue;
            }
            record.launch_failures = 0;
            if reset
                && let Some(d) = record
                    .deployments
                    .iter_mut()
                    .find(|d| d.id.as_deref() == Some(deployment.as_str()))
            {
                d.failed_tasks = Some(0);
            }
        }
        for (arn, deployment, never_started) in &failures {
            record.accounted.push(arn.clone());
            if let Some(d) = record.deployments.iter_mut().find(|d| {
                d.id.as_deref() == Some(deployment.as_str())
                    && d.rollout_state == Some(DeploymentRolloutState::InProgress)
            }) {
                d.failed_tasks = Some(d.failed_tasks.unwrap_or(0) + 1);
                d.updated_at = Some(Timestamp::from_secs(now));
            }
            if *never_started {
                record.launch_failures += 1;
                if record.launch_failures == CONSISTENT_START_FAILURES {
                    consistent_event = true;
                }
            }
        }
        if consistent_event {
            let message =
                format!("(service {name}) is unable to consistently start tasks successfully.");
            self.event(cluster_key, name, message);
        }
        false
    }

    /// DEP-CIRCUIT-BREAKER: the PRIMARY deployment fails when its failed tasks reach the
    /// threshold; with rollback the last COMPLETED deployment becomes PRIMARY again.
    fn circuit_breaker(&mut self, cluster_key: &str, name: &str) -> bool {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let (enabled, rollback) = record.breaker();
        let Some(primary) = record.deployments.first() else {
            return false;
        };
        if !enabled || primary.rollout_state != Some(DeploymentRolloutState::InProgress) {
            return false;
        }
        let desired = if record.is_daemon() {
            i64::from(cluster.daemon_desired(record))
        } else {
            i64::from(record.service.desired_count.unwrap_or(0))
        };
        if i64::from(primary.failed_tasks.unwrap_or(0)) < circuit_breaker_threshold(desired) {
            return false;
        }
        let failed_id = primary.id.clone().unwrap_or_default();
        let target = record
            .deployments
            .iter()
            .skip(1)
            .position(|d| d.rollout_state == Some(DeploymentRolloutState::Completed))
            .map(|p| p + 1);
        let stamp = Timestamp::from_secs(now);
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        let record = cluster.services.get_mut(name).expect("listed");
        let primary = &mut record.deployments[0];
        primary.rollout_state = Some(DeploymentRolloutState::Failed);
        primary.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".to_string());
        primary.updated_at = Some(stamp);
        let mut messages = vec![format!(
            "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
        )];
        if rollback && let Some(position) = target {
            let mut back = record.deployments.remove(position);
            let back_id = back.id.clone().unwrap_or_default();
            back.status = Some("PRIMARY".to_string());
            back.rollout_state = Some(DeploymentRolloutState::InProgress);
            back.rollout_state_reason = Some(format!(
                "ECS deployment circuit breaker: rolling back to deploymentId {back_id}."
            ));
            back.updated_at = Some(stamp);
            back.failed_tasks = Some(0);
            for other in &mut record.deployments {
                other.status = Some("ACTIVE".to_string());
            }
            record.service.task_definition = back.task_definition.clone();
            record.deployments.insert(0, back);
            messages.push(format!(
                "(service {name}) rolling back to deployment {back_id}."
            ));
        }
        record.steady = false;
        for message in messages {
            self.event(cluster_key, name, message);
        }
        true
    }

    /// Tasks reporting UNHEALTHY past the grace period are stopped and replaced
    /// (TASK-STOPCODE `ServiceSchedulerInitiated`, `Task failed container health checks`);
    /// each counts for the circuit breaker (stage 2).
    fn replace_unhealthy(&mut self, cluster_key: &str, name: &str) -> bool {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let grace = i64::from(
            record
                .service
                .health_check_grace_period_seconds
                .unwrap_or(0),
        );
        let victims: Vec<(String, String)> = record
            .task_arns
            .iter()
            .filter_map(|arn| cluster.tasks.get(arn).map(|t| (arn, t)))
            .filter(|(_, t)| {
                t.last_status() == "RUNNING"
                    && t.desired_status() == "RUNNING"
                    && t.health_status == Some(HealthStatus::Unhealthy)
                    && t.started_at.is_none_or(|at| now - at.secs() >= grace)
            })
            .map(|(arn, t)| (arn.clone(), t.started_by.clone().unwrap_or_default()))
            .collect();
        if victims.is_empty() {
            return false;
        }
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        for (arn, _) in &victims {
            cluster.schedule_stop(
                arn,
                TaskStopCode::ServiceSchedulerInitiated,
                "Task failed container health checks",
            );
        }
        let record = cluster.services.get_mut(name).expect("listed");
        for (arn, deployment) in &victims {
            record.accounted.push(arn.clone());
            if let Some(d) = record.deployments.iter_mut().find(|d| {
                d.id.as_deref() == Some(deployment.as_str())
                    && d.rollout_state == Some(DeploymentRolloutState::InProgress)
            }) {
                d.failed_tasks = Some(d.failed_tasks.unwrap_or(0) + 1);
            }
        }
        let ids: Vec<String> = victims
            .iter()
            .map(|(arn, _)| format!("(task {})", task_id(arn)))
            .collect();
        let message = format!(
            "(service {name}) has stopped {} running tasks: {}.",
            ids.len(),
            ids.join(" ")
        );
        self.event(cluster_key, name, message);
        true
    }

    fn views(&self, cluster_key: &str, name: &str) -> Vec<View> {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        record
            .task_arns
            .iter()
            .filter_map(|arn| cluster.tasks.get(arn))
            .map(|t| View {
                arn: t.arn.clone(),
                deployment: t.started_by.clone().unwrap_or_default(),
                last: t.last_status().to_string(),
                desired_running: t.desired_status() == "RUNNING" && t.last_status() != "STOPPED",
                healthy: is_healthy(t, now),
                instance: t.instance,
                draining: t
                    .instance
                    .is_some_and(|idx| cluster.instance_status(idx) == InstanceStatus::Draining),
            })
            .collect()
    }

    /// The launch of a service's PRIMARY deployment (task definition, launch type, network,
    /// group `service:NAME`, constraints and strategy).
    pub(super) fn service_launch(&self, cluster_key: &str, name: &str) -> Result<Launch, Error> {
        let record = &self.clusters[cluster_key].services[name];
        let arn = record.service.task_definition.clone().unwrap_or_default();
        let definition = Arc::clone(
            self.registry
                .describe_shared(&arn)
                .map_err(|_| Error::Client("TaskDefinition not found.".to_string()))?,
        );
        let strategy = record
            .service
            .placement_strategy
            .clone()
            .unwrap_or_default();
        self.check_launch_with(
            definition,
            Self::service_launch_type(&record.service).as_ref(),
            record.service.network_configuration.as_ref(),
            Some(&record.group()),
            record
                .service
                .placement_constraints
                .as_deref()
                .unwrap_or_default(),
            Some(&strategy),
            record.service.platform_version.as_deref(),
        )
    }

    /// Stops `arns` for the PRIMARY deployment (PL-SCALEIN victims, DEP-ALGORITHM step 4).
    fn stop_for_deployment(&mut self, cluster_key: &str, name: &str, arns: &[String]) {
        if arns.is_empty() {
            return;
        }
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        let reason = format!(
            "Scaling activity initiated by (deployment {})",
            cluster.services[name].primary_id()
        );
        for arn in arns {
            cluster.schedule_stop(arn, TaskStopCode::ServiceSchedulerInitiated, &reason);
        }
        cluster.services.get_mut(name).expect("listed").steady = false;
        let ids: Vec<String> = arns
            .iter()
            .map(|arn| format!("(task {})", task_id(arn)))
            .collect();
        let message = format!(
            "(service {name}) has stopped {} running tasks: {}.",
            ids.len(),
            ids.join(" ")
        );
        self.event(cluster_key, name, message);
    }

    /// Records tasks the scheduler started and posts `has started N tasks`.
    fn started(&mut self, cluster_key: &str, name: &str, records: Vec<TaskRecord>) {
        if records.is_empty() {
            return;
        }
        let mut ids = Vec::new();
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        for record in records {
            let arn = record.arn.clone();
            ids.push(format!("(task {})", task_id(&arn)));
            cluster.tasks.insert(arn.clone(), record);
            let service = cluster.services.get_mut(name).expect("listed");
            service.task_arns.push(arn);
            service.steady = false;
        }
        let message = format!(
            "(service {name}) has started {} tasks: {}.",
            ids.len(),
            ids.join(" ")
        );
        self.event(cluster_key, name, message);
    }

    fn unable_to_place(&mut self, cluster_key: &str, name: &str, failure: &placement::Failure) {
        let cluster = &self.clusters[cluster_key];
        let message = match (failure.reason, failure.instance) {
            (FailureReason::NoContainerInstances, _) | (_, None) => format!(
                "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: {} {TROUBLESHOOTING}",
                failure.reason.as_str()
            ),
            (reason, Some(idx)) => {
                let id = cluster
                    .instance_arn(idx)
                    .map(|a| task_id(&a).to_string())
                    .unwrap_or_default();
                let what = match reason {
                    FailureReason::ResourceMemory => {
                        "has insufficient memory available.".to_string()
                    }
                    FailureReason::ResourceCpu => {
                        "has insufficient CPU units available.".to_string()
                    }
                    FailureReason::ResourcePorts | FailureReason::ResourcePortsUdp => {
                        "is already using a port required by your task.".to_string()
                    }
                    other => format!("encountered error \"{}\".", other.as_str()),
                };
                format!(
                    "(service {name}) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance {id}) {what} {TROUBLESHOOTING}"
                )
            }
        };
        self.event(cluster_key, name, message);
    }

    /// Places `count` tasks of the PRIMARY deployment (PL-DEFAULT-SERVICE when the service has
    /// no strategy; group `service:NAME`, startedBy the deployment id, PL-GROUP-DEFAULT).
    fn start_replicas(&mut self, cluster_key: &str, name: &str, count: usize) -> usize {
        if self.service_strategy(cluster_key, name).is_some() {
            // CP-DISTRIBUTION, CP-PLACE-PER-PROVIDER (capacity.rs).
            let (records, failure) = self.provider_replicas(cluster_key, name, count);
            if let Some(failure) = failure {
                self.unable_to_place(cluster_key, name, &failure);
            }
            let n = records.len();
            self.started(cluster_key, name, records);
            return n;
        }
        let Ok(launch) = self.service_launch(cluster_key, name) else {
            return 0;
        };
        let deployment = self.clusters[cluster_key].services[name].primary_id();
        let base = self.clusters[cluster_key].services[name].task_arns.len();
        let mut records = Vec::new();
        if launch.launch_type == LaunchType::Fargate {
            for index in 0..count {
                records.push(self.new_service_task(
                    cluster_key,
                    &launch,
                    None,
                    base + index,
                    &deployment,
                ));
            }
        } else {
            let cluster = &self.clusters[cluster_key];
            let mut demand = demand_for(&launch.definition, None);
            if !launch.subnets.is_empty() {
                demand = demand.with_availability_zones(
                    launch.subnets.iter().map(|s| self.subnet_zone(s)).collect(),
                );
            }
            let mut request = PlacementRequest::new(demand, launch.group.clone())
                .with_count(count as u32)
                .with_strategy(launch.strategy.clone());
            for constraint in &launch.constraints {
                request = request.with_constraint(constraint.clone());
            }
            let Ok(plan) = placement::plan(&cluster.state, &request) else {
                return 0;
            };
            let placed: Vec<InstanceIdx> = plan
                .outcomes()
                .iter()
                .filter_map(|o| o.placement().map(|p| p.instance))
                .collect();
            let failure = plan.outcomes().iter().find_map(|o| o.failure().cloned());
            let cluster = self.clusters.get_mut(cluster_key).expect("listed");
            let reservations = plan.apply(&mut cluster.state).unwrap_or_default();
            for (index, (instance, reservation)) in placed.into_iter().zip(reservations).enumerate()
            {
                records.push(self.new_service_task(
                    cluster_key,
                    &launch,
                    Some((instance, reservation)),
                    base + index,
                    &deployment,
                ));
            }
            if let Some(failure) = failure {
                self.unable_to_place(cluster_key, name, &failure);
            }
        }
        let n = records.len();
        self.started(cluster_key, name, records);
        n
    }

    /// PL-SCALEIN: the order victims are taken in — not yet RUNNING first, then unhealthy,
    /// then the service's strategies mirrored (no strategy: the AZ with most of the service's
    /// tasks, then the instance with most of them; binpack: the instance left with the most
    /// free resource), ties to the oldest task.
    fn pick_victim(
        &self,
        cluster_key: &str,
        name: &str,
        pool: &[&View],
        live: &[&View],
    ) -> Option<usize> {
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let strategy: Vec<StrategyRule> = match record.service.placement_strategy.as_deref() {
            Some(rules) if !rules.is_empty() => rules
                .iter()
                .filter_map(|rule| {
                    let kind = rule.r#type.as_ref().map(|t| t.as_str()).unwrap_or_default();
                    let text = match rule.field.as_deref() {
                        Some(field) if kind != "random" => format!("{kind}:{field}"),
                        _ => kind.to_string(),
                    };
                    text.parse().ok()
                })
                .collect(),
            _ => placement::default_runtask_strategy(),
        };
        let bucket = |idx: Option<InstanceIdx>, field: &SpreadField| -> Option<String> {
            let idx = idx?;
            match field {
                SpreadField::InstanceId | SpreadField::Host => Some(format!("{}", idx.0)),
                SpreadField::Attribute(attribute) => cluster.state.instance(idx).ok().map(|i| {
                    i.attribute(attribute)
                        .flatten()
                        .unwrap_or_default()
                        .to_string()
                }),
            }
        };
        let key = |view: &View| -> Vec<i64> {
            let class = if !matches!(view.last.as_str(), "RUNNING") {
                0
            } else if !view.healthy {
                1
            } else {
                2
            };
            let mut key = vec![class];
            // CP-DISTRIBUTION scale-in: the provider most above its share first.
            let live_arns: Vec<&str> = live.iter().map(|v| v.arn.as_str()).collect();
            key.push(self.provider_scale_in_key(cluster_key, name, &view.arn, &live_arns));
            for rule in &strategy {
                match rule {
                    StrategyRule::Spread(field) => {
                        let mine = bucket(view.instance, field);
                        let n = live
                            .iter()
                            .filter(|v| mine.is_some() && bucket(v.instance, field) == mine)
                            .count() as i64;
                        key.push(-n);
                    }
                    StrategyRule::Binpack(field) => {
                        let free = view
                            .instance
                            .and_then(|idx| {
                                let column = match field {
                                    BinpackField::Cpu => cluster.state.remaining_cpu(),
                                    BinpackField::Memory => cluster.state.remaining_memory(),
                                };
                                column.get(idx.0 as usize).copied()
                            })
                            .unwrap_or(0);
                        key.push(-i64::from(free));
                    }
                    StrategyRule::Random => break,
                }
            }
            key
        };
        pool.iter()
            .enumerate()
            .min_by_key(|(position, view)| (key(view), *position))
            .map(|(position, _)| position)
    }

    /// DEP-ALGORITHM for a REPLICA service: start PRIMARY tasks up to the desired count within
    /// MAX, then stop old-deployment, draining-instance (SVC-DRAIN-REPLACE) and excess tasks
    /// while the healthy count stays ≥ MIN.
    fn step_replica(&mut self, cluster_key: &str, name: &str) -> bool {
        let record = &self.clusters[cluster_key].services[name];
        let desired = i64::from(record.service.desired_count.unwrap_or(0));
        let (min_pct, max_pct) = record.percents();
        let (min, max) = deployment_bounds(desired, min_pct, max_pct);
        let desired = desired + self.rebalance_surge(cluster_key, name);
        let primary = record.primary_id();
        let failed = record.deployments.first().map(|d| d.rollout_state.clone())
            == Some(Some(DeploymentRolloutState::Failed));
        let views = self.views(cluster_key, name);
        let mut changed = false;
        // SVC-DRAIN-REPLACE: tasks not yet RUNNING on a draining instance stop at once.
        let pending_draining: Vec<String> = views
            .iter()
            .filter(|v| v.desired_running && v.draining && v.last != "RUNNING")
            .map(|v| v.arn.clone())
            .collect();
        if !pending_draining.is_empty() {
            self.stop_for_deployment(cluster_key, name, &pending_draining);
            return true;
        }
        let live = views.iter().filter(|v| v.last != "STOPPED").count() as i64;
        let good = views
            .iter()
            .filter(|v| v.desired_running && v.deployment == primary && !v.draining)
            .count() as i64;
        let need = desired - good;
        let mut start_blocked = false;
        if !failed && need > 0 {
            let n = need.min(max - live);
            if n > 0 {
                changed |= self.start_replicas(cluster_key, name, n as usize) > 0;
            } else {
                start_blocked = true;
            }
        }
        // Stops.
        let views = self.views(cluster_key, name);
        let mut healthy = views.iter().filter(|v| v.healthy).count() as i64;
        let mut excess = (views
            .iter()
            .filter(|v| v.desired_running && v.deployment == primary && !v.draining)
            .count() as i64
            - desired)
            .max(0);
        let candidates: Vec<&View> = views
            .iter()
            .filter(|v| v.desired_running)
            .filter(|v| v.draining || v.deployment == primary || !failed)
            .collect();
        let mut chosen: Vec<String> = Vec::new();
        let mut stop_blocked = false;
        loop {
            let live_now: Vec<&View> = views
                .iter()
                .filter(|v| v.desired_running && !chosen.contains(&v.arn))
                .collect();
            let pool: Vec<&View> = candidates
                .iter()
                .copied()
                .filter(|v| !chosen.contains(&v.arn))
                .filter(|v| v.draining || v.deployment != primary || excess > 0)
                .collect();
            if pool.is_empty() {
                break;
            }
            let allowed: Vec<&View> = pool
                .iter()
                .copied()
                .filter(|v| !v.healthy || healthy > min)
                .collect();
            if allowed.is_empty() {
                stop_blocked = true;
                break;
            }
            let Some(position) = self.pick_victim(cluster_key, name, &allowed, &live_now) else {
                break;
            };
            let victim = allowed[position];
            if victim.healthy {
                healthy -= 1;
            }
            if victim.deployment == primary && !victim.draining {
                excess -= 1;
            }
            chosen.push(victim.arn.clone());
        }
        if !chosen.is_empty() {
            self.stop_for_deployment(cluster_key, name, &chosen);
            changed = true;
        }
        if !changed && start_blocked && stop_blocked {
            let message = format!(
                "(service {name}) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
            );
            self.event(cluster_key, name, message);
        }
        changed
    }

    /// SVC-DAEMON, SVC-DAEMON-DRAIN: one PRIMARY task on every eligible ACTIVE instance; an old
    /// task is replaced (stop first: maximumPercent is 100) while the healthy count stays ≥ MIN;
    /// tasks on instances that stopped qualifying stop, on a DRAINING instance only once no
    /// other task is left there.
    fn step_daemon(&mut self, cluster_key: &str, name: &str) -> bool {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let primary = record.primary_id();
        let failed = record.deployments.first().map(|d| d.rollout_state.clone())
            == Some(Some(DeploymentRolloutState::Failed));
        let Some(probe) = cluster.daemon_probe(record) else {
            return false;
        };
        let eligible = cluster.daemon_instances(&probe);
        let desired = eligible.len() as i64;
        let (min_pct, _) = record.percents();
        let (min, _) = deployment_bounds(desired, min_pct, 100);
        let daemon_tasks: Vec<String> = cluster
            .services
            .values()
            .filter(|s| s.is_daemon())
            .flat_map(|s| s.task_arns.iter().cloned())
            .collect();
        let views = self.views(cluster_key, name);
        let mut healthy = views.iter().filter(|v| v.healthy).count() as i64;
        let mut stops: Vec<String> = Vec::new();
        let mut starts: Vec<InstanceIdx> = Vec::new();
        let mut by_instance: BTreeMap<InstanceIdx, Vec<&View>> = BTreeMap::new();
        for view in views.iter().filter(|v| v.last != "STOPPED") {
            if let Some(idx) = view.instance {
                by_instance.entry(idx).or_default().push(view);
            }
        }
        // Tasks on instances that no longer qualify.
        for (idx, tasks) in &by_instance {
            if eligible.contains(idx) {
                continue;
            }
            let draining = cluster.instance_status(*idx) == InstanceStatus::Draining;
            if draining {
                let others = cluster.tasks.values().any(|t| {
                    t.instance == Some(*idx)
                        && t.last_status() != "STOPPED"
                        && !daemon_tasks.contains(&t.arn)
                });
                if others {
                    continue;
                }
            }
            stops.extend(
                tasks
                    .iter()
                    .filter(|v| v.desired_running)
                    .map(|v| v.arn.clone()),
            );
        }
        for idx in &eligible {
            let tasks = by_instance.get(idx).cloned().unwrap_or_default();
            if tasks
                .iter()
                .any(|v| v.desired_running && v.deployment == primary)
            {
                continue;
            }
            let old: Vec<&&View> = tasks.iter().filter(|v| v.desired_running).collect();
            if !old.is_empty() {
                if failed {
                    continue;
                }
                for view in old {
                    if !view.healthy || healthy > min {
                        if view.healthy {
                            healthy -= 1;
                        }
                        stops.push(view.arn.clone());
                    }
                }
                continue;
            }
            if tasks.is_empty() && !failed {
                starts.push(*idx);
            }
        }
        let mut changed = false;
        if !stops.is_empty() {
            self.stop_for_deployment(cluster_key, name, &stops);
            changed = true;
        }
        if starts.is_empty() {
            return changed;
        }
        let Ok(launch) = self.service_launch(cluster_key, name) else {
            return changed;
        };
        let demand = demand_for(&launch.definition, None);
        let mut request = PlacementRequest::new(demand.clone(), launch.group.clone());
        for constraint in &launch.constraints {
            request = request.with_constraint(constraint.clone());
        }
        let mut records = Vec::new();
        let mut failure = None;
        let base = self.clusters[cluster_key].services[name].task_arns.len();
        for (index, idx) in starts.into_iter().enumerate() {
            let cluster = &self.clusters[cluster_key];
            let Ok(explanation) = placement::explain(&cluster.state, &request) else {
                break;
            };
            let verdict = explanation
                .tasks
                .first()
                .and_then(|t| t.verdicts.iter().find(|(i, _)| *i == idx))
                .map(|(_, v)| v.clone());
            match verdict {
                Some(Verdict::Ranked { .. }) => {
                    let reservation = demand_reservation(&cluster.state, idx, &demand);
                    let cluster = self.clusters.get_mut(cluster_key).expect("listed");
                    let Ok(task) = cluster.state.add_task(idx, &launch.group, reservation) else {
                        continue;
                    };
                    records.push(self.new_service_task(
                        cluster_key,
                        &launch,
                        Some((idx, task)),
                        base + index,
                        &primary,
                    ));
                }
                Some(Verdict::Rejected(rejection)) => {
                    failure.get_or_insert(placement::Failure {
                        reason: rejection.reason(),
                        instance: Some(idx),
                    });
                }
                _ => {}
            }
        }
        let _ = now;
        if !records.is_empty() {
            changed = true;
            self.started(cluster_key, name, records);
        }
        if let Some(failure) = failure {
            self.unable_to_place(cluster_key, name, &failure);
        }
        changed
    }

    /// DEP-ALGORITHM step 5 and the steady-state event (SVC-EVENTS).
    fn settle(&mut self, cluster_key: &str, name: &str) {
        let now = self.now;
        let cluster = &self.clusters[cluster_key];
        let record = &cluster.services[name];
        let desired = if record.is_daemon() {
            i64::from(cluster.daemon_desired(record))
        } else {
            i64::from(record.service.desired_count.unwrap_or(0))
        };
        let primary = record.primary_id();
        let views = self.views(cluster_key, name);
        let others_live = views
            .iter()
            .any(|v| v.deployment != primary && v.last != "STOPPED");
        let primary_live = views
            .iter()
            .filter(|v| v.deployment == primary && v.last != "STOPPED")
            .count() as i64;
        let primary_healthy = views
            .iter()
            .filter(|v| v.deployment == primary && v.healthy && !v.draining)
            .count() as i64;
        let done = !others_live && primary_live == desired && primary_healthy == desired;
        let state = record
            .deployments
            .first()
            .and_then(|d| d.rollout_state.clone());
        let mut messages = Vec::new();
        let cluster = self.clusters.get_mut(cluster_key).expect("listed");
        let record = cluster.services.get_mut(name).expect("listed");
        if done && state == Some(DeploymentRolloutState::InProgress) {
            let stamp = Timestamp::from_secs(now);
            let first = &mut record.deployments[0];
            first.rollout_state = Some(DeploymentRolloutState::Completed);
            first.rollout_state_reason = Some(format!("ECS deployment {primary} completed."));
            first.updated_at = Some(stamp);
            record.deployments.truncate(1);
            messages.push(format!(
                "(service {name}) (deployment {primary}) deployment completed."
            ));
        }
        let steady = done
            && record.deployments.len() == 1
            && record.deployments[0].rollout_state == Some(DeploymentRolloutState::Completed);
        if steady && !record.steady {
            messages.push(format!("(service {name}) has reached a steady state."));
        }
        record.steady = steady;
        for message in messages {
            self.event(cluster_key, name, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_rounding_worked_examples() {
        // DEP-ROUNDING (DG-ROLL): desired 4, min 50 % → may stop 2 first.
        assert_eq!(deployment_bounds(4, 50, 200).0, 2);
        // desired 2, min 75 % → bound 2, can stop nothing.
        assert_eq!(deployment_bounds(2, 75, 100), (2, 2));
        // desired 4, max 200 % → may start 4 before stopping.
        assert_eq!(deployment_bounds(4, 100, 200).1, 8);
        // desired 3, max 125 % → bound 3, can start nothing.
        assert_eq!(deployment_bounds(3, 50, 125), (2, 3));
        assert_eq!(deployment_bounds(0, 100, 200), (0, 0));
    }

    #[test]
    fn dep_circuit_breaker_threshold_examples() {
        // DEP-CIRCUIT-BREAKER (DG-CB): desired 1 → 3; 25 → 13; 400 → 200; 800 → 200.
        assert_eq!(circuit_breaker_threshold(1), 3);
        assert_eq!(circuit_breaker_threshold(25), 13);
        assert_eq!(circuit_breaker_threshold(400), 200);
        assert_eq!(circuit_breaker_threshold(800), 200);
        assert_eq!(circuit_breaker_threshold(8), 4);
    }

    #[test]
    fn dep_config_defaults_and_daemon_limit() {
        // DEP-CONFIG-DEFAULTS: REPLICA 100/200, DAEMON 0/100; SVC-DAEMON: max > 100 refused.
        let replica = resolve_configuration(None, None, false).unwrap();
        assert_eq!(
            (replica.minimum_healthy_percent, replica.maximum_percent),
            (Some(100), Some(200))
        );
        let daemon = resolve_configuration(None, None, true).unwrap();
        assert_eq!(
            (daemon.minimum_healthy_percent, daemon.maximum_percent),
            (Some(0), Some(100))
        );
        let too_high = model::DeploymentConfiguration {
            maximum_percent: Some(200),
            ..Default::default()
        };
        assert!(resolve_configuration(Some(&too_high), None, true).is_err());
        // UpdateService keeps members it does not name.
        let half = model::DeploymentConfiguration {
            minimum_healthy_percent: Some(50),
            ..Default::default()
        };
        let merged = resolve_configuration(Some(&half), Some(&replica), false).unwrap();
        assert_eq!(
            (merged.minimum_healthy_percent, merged.maximum_percent),
            (Some(50), Some(200))
        );
    }

    #[test]
    fn svc_events_are_bounded_newest_first_and_deduplicated() {
        // SVC-EVENTS: 100 kept, newest first, identical consecutive messages suppressed.
        let mut record = ServiceRecord {
            service: model::Service::default(),
            deployments: Vec::new(),
            events: Vec::new(),
            task_arns: Vec::new(),
            accounted: Vec::new(),
            steady: false,
            launch_failures: 0,
            rebalance: Rebalance::default(),
        };
        for i in 0..150 {
            record.push_event(format!("{i}"), i, format!("message {i}"));
            record.push_event(format!("{i}b"), i, format!("message {i}"));
        }
        assert_eq!(record.events.len(), MAX_SERVICE_EVENTS);
        assert_eq!(record.events[0].message.as_deref(), Some("message 149"));
        assert_eq!(record.events[99].message.as_deref(), Some("message 50"));
    }

    #[test]
    fn fault_modes_parse() {
        assert_eq!(
            FaultMode::parse("failToStart"),
            Some(FaultMode::FailToStart)
        );
        assert_eq!(FaultMode::parse("exitAfter"), Some(FaultMode::ExitAfter));
        assert_eq!(FaultMode::parse("unhealthy"), Some(FaultMode::Unhealthy));
        assert_eq!(FaultMode::parse("other"), None);
    }
}
