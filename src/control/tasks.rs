//! Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, and their lifecycle on the
//! clock (TASK-*, PL-*).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::invalid;
use super::instances::missing;
use super::task_record::{ContainerRecord, SharedDefinition, TaskStatus};
use super::{Cluster, Ecs, Error, TaskRecord};
use crate::model::{
    self, Attachment, ContainerDefinition, KeyValuePair, LaunchType, NetworkBinding, NetworkMode,
    TaskDefinition, TaskDefinitionStatus, TaskStopCode, Timestamp, TransportProtocol,
};
use crate::placement::{self, Constraint, Demand, PlacementRequest, StrategyRule};
use crate::state::{InstanceIdx, InstanceStatus, TaskId};

/// At most this many tasks per RunTask (PL-RUNTASK-COUNT).
pub const MAX_RUNTASK_COUNT: i32 = 10;
/// At most this many instances per StartTask (PL-STARTTASK).
pub const MAX_STARTTASK_INSTANCES: usize = 10;
/// At most this many tasks per DescribeTasks (TASK-DESCRIBE).
pub const MAX_DESCRIBE_TASKS: usize = 100;
/// Stopped tasks stay visible this long, in seconds (TASK-STOPPED-VISIBILITY).
pub const STOPPED_TASK_RETENTION_SECS: i64 = 3_600;
/// The ephemeral range dynamic host ports come from (RES-PORTS-DYNAMIC, Linux default).
pub const DYNAMIC_PORT_RANGE: (u16, u16) = (49153, 65535);
/// The Fargate platform versions that exist (and `LATEST`, which is 1.4.0).
pub const FARGATE_PLATFORM_VERSIONS: &[&str] = &["LATEST", "1.4.0", "1.3.0"];

/// What the agent needs to start one container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerPlan {
    /// Whether the task stops when this container exits.
    pub essential: bool,
    /// `(containerPort, hostPort, udp)`; host port 0 = dynamic.
    pub ports: Vec<(u16, u16, bool)>,
}

/// What a task of `definition` reserves on an instance (RES-CPU, RES-MEMORY,
/// RES-PORTS-BY-MODE, RES-PORTS-PROTOCOL, RES-GPU, RES-ENI, RES-ATTRIBUTES), with overrides.
pub fn demand_for(definition: &TaskDefinition, overrides: Option<&model::TaskOverride>) -> Demand {
    let containers = definition
        .container_definitions
        .as_deref()
        .unwrap_or_default();
    let container_override = |name: Option<&String>| {
        overrides
            .and_then(|o| o.container_overrides.as_deref())
            .and_then(|list| list.iter().find(|c| c.name.as_ref() == name))
    };
    let task_cpu = overrides
        .and_then(|o| o.cpu.as_deref())
        .or(definition.cpu.as_deref())
        .and_then(|text| model::parse_task_cpu(text).ok());
    let cpu = task_cpu.unwrap_or_else(|| {
        containers
            .iter()
            .map(|c| {
                let value = container_override(c.name.as_ref())
                    .and_then(|o| o.cpu)
                    .or(c.cpu);
                value.unwrap_or(0).max(0) as u32
            })
            .fold(0u32, u32::saturating_add)
    });
    let task_memory = overrides
        .and_then(|o| o.memory.as_deref())
        .or(definition.memory.as_deref())
        .and_then(|text| model::parse_task_memory(text).ok());
    let memory = task_memory.unwrap_or_else(|| {
        containers
            .iter()
            .map(|c| {
                let o = container_override(c.name.as_ref());
                let reservation = o
                    .and_then(|o| o.memory_reservation)
                    .or(c.memory_reservation);
                let hard = o.and_then(|o| o.memory).or(c.memory);
                reservation.or(hard).unwrap_or(0).max(0) as u32
            })
            .fold(0u32, u32::saturating_add)
    });
    let mode = definition.network_mode.as_ref();
    let mut demand = Demand::new(cpu, memory);
    let (mut tcp, mut udp) = (Vec::new(), Vec::new());
    for plan in container_plans(containers, mode) {
        for (_, host, is_udp) in plan.ports {
            if host > 0 {
                if is_udp {
                    udp.push(host)
                } else {
                    tcp.push(host)
                }
            }
        }
    }
    demand = demand.with_ports_tcp(tcp).with_ports_udp(udp);
    let gpus: u32 = containers
        .iter()
        .flat_map(|c| c.resource_requirements.as_deref().unwrap_or_default())
        .filter(|r| r.r#type.as_ref().is_some_and(|t| t.as_str() == "GPU"))
        .filter_map(|r| {
            r.value
                .as_deref()
                .and_then(|v| v.trim().parse::<u32>().ok())
        })
        .sum();
    demand = demand
        .with_gpus(gpus)
        .with_eni(mode == Some(&NetworkMode::Awsvpc));
    for attribute in definition
        .requires_attributes
        .as_deref()
        .unwrap_or_default()
    {
        if let Some(name) = &attribute.name {
            demand = demand.with_required_attribute(name.clone(), attribute.value.as_deref());
        }
    }
    demand
}

/// The ports each container binds: static host ports as the network mode says
/// (RES-PORTS-BY-MODE), 0 for a dynamic one; awsvpc and none bind nothing on the host.
fn container_plans(
    containers: &[ContainerDefinition],
    mode: Option<&NetworkMode>,
) -> Vec<ContainerPlan> {
    containers
        .iter()
        .map(|container| {
            let mut ports = Vec::new();
            for mapping in container.port_mappings.as_deref().unwrap_or_default() {
                let Some(container_port) =
                    mapping.container_port.and_then(|p| u16::try_from(p).ok())
                else {
                    continue;
                };
                let udp = matches!(mapping.protocol, Some(TransportProtocol::Udp));
                let host = mapping
                    .host_port
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0);
                match mode {
                    Some(NetworkMode::Awsvpc) | Some(NetworkMode::None) => {}
                    Some(NetworkMode::Host) => ports.push((
                        container_port,
                        if host == 0 { container_port } else { host },
                        udp,
                    )),
                    _ => ports.push((container_port, host, udp)),
                }
            }
            ContainerPlan {
                essential: container.essential.unwrap_or(true),
                ports,
            }
        })
        .collect()
}

/// The tasks one RunTask started, by ARN, and what it could not place.
#[derive(Debug)]
pub(crate) struct StartedTasks {
    pub(crate) cluster: String,
    pub(crate) arns: Vec<String>,
    pub(crate) failures: Vec<model::Failure>,
}

/// A RunTask response written as JSON from the task records ([`Ecs::run_task_json`]): the
/// same members, order and values as `model::RunTaskResponse`.
#[derive(Debug)]
pub struct RunTaskJson<'a> {
    cluster: &'a Cluster,
    started: StartedTasks,
}

impl RunTaskJson<'_> {
    /// The response's JSON text. Written whole: one buffer for the ten tasks.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(256 + 1536 * self.started.arns.len());
        out.extend_from_slice(b"{\"tasks\":[");
        for (position, arn) in self.started.arns.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            self.cluster.tasks[arn].json(true).write_to(&mut out);
        }
        out.extend_from_slice(b"],\"failures\":");
        // Failures are plain strings and numbers: writing them to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &self.started.failures);
        out.push(b'}');
        super::task_json::into_string(out)
    }
}

impl Serialize for RunTaskJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        super::task_json::raw(self.to_json_string(), serializer)
    }
}

/// Everything RunTask/StartTask check before placing, resolved.
pub(crate) struct Launch {
    pub(crate) definition: Arc<TaskDefinition>,
    pub(crate) launch_type: LaunchType,
    pub(crate) group: String,
    pub(crate) subnets: Vec<String>,
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) strategy: Vec<StrategyRule>,
    pub(crate) platform_version: Option<String>,
}

impl Ecs {
    /// Resolves the task definition for a launch (TD-LOOKUP-FORMS, TD-LOOKUP-INACTIVE).
    pub(crate) fn launchable_definition(
        &self,
        reference: Option<&str>,
    ) -> Result<Arc<TaskDefinition>, Error> {
        let reference = reference
            .filter(|r| !r.is_empty())
            .ok_or_else(|| invalid("taskDefinition can not be blank."))?;
        let definition = self
            .registry
            .describe_shared(reference)
            .map_err(|_| Error::Client("TaskDefinition not found.".to_string()))?;
        if definition.status != Some(TaskDefinitionStatus::Active) {
            return Err(invalid("TaskDefinition is inactive"));
        }
        Ok(Arc::clone(definition))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_launch(
        &self,
        task_definition: Option<&str>,
        launch_type: Option<&LaunchType>,
        network: Option<&model::NetworkConfiguration>,
        group: Option<&str>,
        request_constraints: &[model::PlacementConstraint],
        request_strategy: Option<&[model::PlacementStrategy]>,
        platform_version: Option<&str>,
    ) -> Result<Launch, Error> {
        let definition = self.launchable_definition(task_definition)?;
        self.check_launch_with(
            definition,
            launch_type,
            network,
            group,
            request_constraints,
            request_strategy,
            platform_version,
        )
    }

    /// [`Ecs::check_launch`] for a definition already resolved (a service keeps launching
    /// the revision it was given even after it is deregistered).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_launch_with(
        &self,
        definition: Arc<TaskDefinition>,
        launch_type: Option<&LaunchType>,
        network: Option<&model::NetworkConfiguration>,
        group: Option<&str>,
        request_constraints: &[model::PlacementConstraint],
        request_strategy: Option<&[model::PlacementStrategy]>,
        platform_version: Option<&str>,
    ) -> Result<Launch, Error> {
        let launch_type = launch_type.cloned().unwrap_or(LaunchType::Ec2);
        let compatibility = model::Compatibility::from(launch_type.as_str());
        let supported = definition
            .compatibilities
            .as_deref()
            .unwrap_or_default()
            .contains(&compatibility);
        if !supported && launch_type.is_known() {
            return Err(invalid(format!(
                "Task definition does not support launch_type {}.",
                launch_type.as_str()
            )));
        }
        if !launch_type.is_known() || matches!(launch_type, LaunchType::ManagedInstances) {
            return Err(invalid(format!(
                "launchType {} is not supported.",
                launch_type.as_str()
            )));
        }
        let awsvpc = definition.network_mode == Some(NetworkMode::Awsvpc);
        let vpc = network.and_then(|n| n.awsvpc_configuration.as_ref());
        if awsvpc && vpc.is_none() {
            return Err(invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        }
        if !awsvpc && vpc.is_some() {
            return Err(invalid(
                "Network Configuration is not valid for the given networkMode of this task definition.",
            ));
        }
        let subnets = vpc.and_then(|v| v.subnets.clone()).unwrap_or_default();
        if awsvpc && subnets.is_empty() {
            return Err(invalid("subnets can not be empty."));
        }
        if subnets.len() > 16
            || vpc
                .and_then(|v| v.security_groups.as_ref())
                .is_some_and(|g| g.len() > 5)
        {
            return Err(invalid(
                "At most 16 subnets and 5 security groups are allowed.",
            ));
        }
        let fargate = matches!(launch_type, LaunchType::Fargate);
        if fargate {
            if !request_constraints.is_empty() || request_strategy.is_some_and(|s| !s.is_empty()) {
                return Err(invalid(
                    "Task placement constraints and strategies are not supported for the FARGATE launch type.",
                ));
            }
            if let Some(version) = platform_version
                && !FARGATE_PLATFORM_VERSIONS.contains(&version)
            {
                return Err(Error::PlatformUnknown(version.to_string()));
            }
        } else if platform_version.is_some() {
            return Err(invalid(
                "The platformVersion parameter is only supported for the FARGATE launch type.",
            ));
        }
        let family = definition.family.clone().unwrap_or_default();
        let group = match group {
            Some(group) if group.is_empty() || group.len() > 255 => {
                return Err(invalid("group must be 1-255 characters."));
            }
            Some(group) => group.to_string(),
            None => format!("family:{family}"),
        };
        let mut constraints = Vec::new();
        let definition_constraints = definition
            .placement_constraints
            .as_deref()
            .unwrap_or_default();
        if definition_constraints.len() + request_constraints.len() > placement::MAX_CONSTRAINTS {
            return Err(invalid(format!(
                "A task can have at most {} placement constraints.",
                placement::MAX_CONSTRAINTS
            )));
        }
        if !fargate {
            for constraint in definition_constraints {
                if let Some(expression) = &constraint.expression {
                    constraints.push(
                        Constraint::member_of(expression).map_err(|e| invalid(e.to_string()))?,
                    );
                }
            }
            for constraint in request_constraints {
                match (
                    constraint.r#type.as_ref().map(|t| t.as_str()),
                    constraint.expression.as_deref(),
                ) {
                    (Some("distinctInstance"), None) => {
                        constraints.push(Constraint::DistinctInstance)
                    }
                    (Some("distinctInstance"), Some(_)) => {
                        return Err(invalid("distinctInstance constraints take no expression."));
                    }
                    (Some("memberOf"), Some(expression)) => constraints.push(
                        Constraint::member_of(expression).map_err(|e| invalid(e.to_string()))?,
                    ),
                    (Some("memberOf"), None) => {
                        return Err(invalid("memberOf constraints need an expression."));
                    }
                    (other, _) => {
                        return Err(invalid(format!(
                            "Invalid placement constraint type: {}",
                            other.unwrap_or_default()
                        )));
                    }
                }
            }
        }
        let strategy = match request_strategy {
            Some(rules) if !rules.is_empty() => {
                if rules.len() > placement::MAX_STRATEGY_RULES {
                    return Err(invalid(format!(
                        "A task can have at most {} placement strategy rules.",
                        placement::MAX_STRATEGY_RULES
                    )));
                }
                rules
                    .iter()
                    .map(|rule| {
                        let kind = rule.r#type.as_ref().map(|t| t.as_str()).unwrap_or_default();
                        let text = match rule.field.as_deref() {
                            Some(field) if kind != "random" => format!("{kind}:{field}"),
                            _ => kind.to_string(),
                        };
                        text.parse::<StrategyRule>()
                            .map_err(|_| invalid(format!("Invalid placement strategy: {text}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => placement::default_runtask_strategy(),
        };
        Ok(Launch {
            definition,
            launch_type,
            group,
            subnets,
            constraints,
            strategy,
            platform_version: platform_version.map(str::to_string),
        })
    }

    /// RunTask: validate, place `count` tasks (PL-BATCH), start what could be placed and report
    /// the rest as `failures` (TASK-RUNTASK-RESPONSE).
    pub fn run_task(
        &mut self,
        request: &model::RunTaskRequest,
    ) -> Result<model::RunTaskResponse, Error> {
        let started = self.start_tasks(request)?;
        let cluster = &self.clusters[&started.cluster];
        Ok(model::RunTaskResponse {
            tasks: Some(
                started
                    .arns
                    .iter()
                    .map(|arn| cluster.tasks[arn].to_model())
                    .collect(),
            ),
            failures: Some(started.failures),
            ..Default::default()
        })
    }

    /// RunTask with its response written as JSON straight from the task records (the same
    /// bytes as serialising [`Ecs::run_task`]'s response; the `api` layer uses it).
    pub fn run_task_json(
        &mut self,
        request: &model::RunTaskRequest,
    ) -> Result<RunTaskJson<'_>, Error> {
        let started = self.start_tasks(request)?;
        Ok(RunTaskJson {
            cluster: &self.clusters[&started.cluster],
            started,
        })
    }

    /// What RunTask does, returning the ARNs of the tasks it started.
    fn start_tasks(&mut self, request: &model::RunTaskRequest) -> Result<StartedTasks, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let count = request.count.unwrap_or(1);
        if count > MAX_RUNTASK_COUNT {
            return Err(invalid("Task count can not be greater than 10"));
        }
        if count < 1 {
            return Err(invalid("Task count must be at least 1"));
        }
        if request.started_by.as_ref().is_some_and(|s| s.len() > 128) {
            return Err(invalid("startedBy can have at most 128 characters."));
        }
        // CP-STRATEGY-RULES, CP-DEFAULT-STRATEGY: a strategy (given or the cluster default)
        // launches through the capacity providers (capacity.rs).
        if let Some(strategy) = self.launch_strategy(
            cluster,
            request.launch_type.as_ref(),
            request.capacity_provider_strategy.as_deref(),
        )? {
            return self.run_task_with_providers(request, strategy);
        }
        let launch = self.check_launch(
            request.task_definition.as_deref(),
            request.launch_type.as_ref(),
            request.network_configuration.as_ref(),
            request.group.as_deref(),
            request.placement_constraints.as_deref().unwrap_or_default(),
            request.placement_strategy.as_deref(),
            request.platform_version.as_deref(),
        )?;
        super::tags::check_tags(request.tags.as_deref().unwrap_or_default())?;
        self.check_task_roles(&launch.definition, request.overrides.as_ref(), &cluster.arn)?;
        let fargate = matches!(launch.launch_type, LaunchType::Fargate);
        let mut outcomes: Vec<Result<InstanceIdx, Box<model::Failure>>> = Vec::new();
        let mut planned = None;
        if fargate {
            outcomes = (0..count).map(|_| Ok(InstanceIdx(u32::MAX))).collect();
        } else {
            let live = cluster.instances.values().any(|r| {
                cluster
                    .state
                    .instance(r.idx)
                    .is_ok_and(|i| i.status() != InstanceStatus::Inactive)
            });
            if !live {
                return Err(invalid(
                    "No Container Instances were found in your cluster.",
                ));
            }
            let mut demand = demand_for(&launch.definition, request.overrides.as_ref());
            if !launch.subnets.is_empty() {
                let zones: Vec<String> =
                    launch.subnets.iter().map(|s| self.subnet_zone(s)).collect();
                demand = demand.with_availability_zones(zones);
            }
            let mut placement_request = PlacementRequest::new(demand, launch.group.clone())
                .with_count(count as u32)
                .with_strategy(launch.strategy.clone());
            for constraint in &launch.constraints {
                placement_request = placement_request.with_constraint(constraint.clone());
            }
            let plan = placement::plan(&cluster.state, &placement_request)
                .map_err(|e| invalid(e.to_string()))?;
            for outcome in plan.outcomes() {
                match (outcome.placement(), outcome.failure()) {
                    (Some(placed), _) => outcomes.push(Ok(placed.instance)),
                    (_, Some(failure)) => {
                        let arn = failure
                            .instance
                            .and_then(|idx| cluster.record_at(idx))
                            .map(|r| r.arn.clone())
                            .unwrap_or_else(|| cluster.arn.clone());
                        outcomes.push(Err(Box::new(model::Failure {
                            arn: Some(arn),
                            reason: Some(failure.reason.as_str().to_string()),
                            ..Default::default()
                        })));
                    }
                    _ => {}
                }
            }
            planned = Some(plan);
        }
        // Everything is checked: from here on the call succeeds.
        let cluster_key = cluster.name.clone();
        let reservations: Vec<TaskId> = match planned {
            Some(plan) => {
                let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
                plan.apply(&mut cluster.state)
                    .map_err(|e| invalid(e.to_string()))?
            }
            None => Vec::new(),
        };
        let mut reservations = reservations.into_iter();
        let mut arns = Vec::with_capacity(outcomes.len());
        let mut failures = Vec::new();
        for (index, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(instance) => {
                    let (instance, reservation) = if fargate {
                        (None, None)
                    } else {
                        (Some(instance), reservations.next())
                    };
                    let record = self.new_task(
                        &cluster_key,
                        &launch,
                        instance,
                        reservation,
                        index,
                        request.overrides.clone(),
                        request.started_by.clone(),
                        request.tags.clone(),
                    );
                    arns.push(record.arn.clone());
                    let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
                    cluster.tasks.insert(record.arn.clone(), record);
                }
                Err(failure) => failures.push(*failure),
            }
        }
        Ok(StartedTasks {
            cluster: cluster_key,
            arns,
            failures,
        })
    }

    /// StartTask: one task on each named instance, no strategy (PL-STARTTASK).
    pub fn start_task(
        &mut self,
        request: &model::StartTaskRequest,
    ) -> Result<model::StartTaskResponse, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let wanted = request.container_instances.clone().unwrap_or_default();
        if wanted.is_empty() {
            return Err(invalid("Container Instances cannot be empty."));
        }
        if wanted.len() > MAX_STARTTASK_INSTANCES {
            return Err(invalid("containerInstances can have at most 10 items."));
        }
        if request.started_by.as_ref().is_some_and(|s| s.len() > 36) {
            return Err(invalid("startedBy can have at most 36 characters."));
        }
        let launch = self.check_launch(
            request.task_definition.as_deref(),
            None,
            request.network_configuration.as_ref(),
            request.group.as_deref(),
            &[],
            None,
            None,
        )?;
        super::tags::check_tags(request.tags.as_deref().unwrap_or_default())?;
        self.check_task_roles(&launch.definition, request.overrides.as_ref(), &cluster.arn)?;
        let mut demand = demand_for(&launch.definition, request.overrides.as_ref());
        if !launch.subnets.is_empty() {
            demand = demand.with_availability_zones(
                launch.subnets.iter().map(|s| self.subnet_zone(s)).collect(),
            );
        }
        let cluster_key = cluster.name.clone();
        // Place one by one on a trial copy, so earlier tasks of the call are seen and a failure
        // to apply leaves the real state untouched.
        let mut trial = cluster.state.clone();
        let mut outcomes = Vec::new();
        for parameter in &wanted {
            let Some(record) = cluster.instance_record(parameter) else {
                outcomes.push(Err(missing(
                    self,
                    &cluster_key,
                    parameter,
                    "container-instance",
                )));
                continue;
            };
            let status = trial
                .instance(record.idx)
                .map(|i| i.status())
                .unwrap_or(InstanceStatus::Inactive);
            if status == InstanceStatus::Inactive {
                outcomes.push(Err(model::Failure {
                    arn: Some(record.arn.clone()),
                    reason: Some("INACTIVE".to_string()),
                    ..Default::default()
                }));
                continue;
            }
            let placement_request = PlacementRequest::new(demand.clone(), launch.group.clone());
            let explanation = placement::explain(&trial, &placement_request)
                .map_err(|e| invalid(e.to_string()))?;
            let verdict = explanation
                .tasks
                .first()
                .and_then(|t| t.verdicts.iter().find(|(idx, _)| *idx == record.idx))
                .map(|(_, verdict)| verdict.clone());
            match verdict {
                Some(placement::Verdict::Rejected(rejection)) => {
                    outcomes.push(Err(model::Failure {
                        arn: Some(record.arn.clone()),
                        reason: Some(rejection.reason().as_str().to_string()),
                        ..Default::default()
                    }))
                }
                Some(placement::Verdict::NotCandidate(_)) | None => {
                    outcomes.push(Err(model::Failure {
                        arn: Some(record.arn.clone()),
                        reason: Some("AGENT".to_string()),
                        ..Default::default()
                    }))
                }
                Some(placement::Verdict::Ranked { .. }) => {
                    let reservation = demand_reservation(&trial, record.idx, &demand);
                    match trial.add_task(record.idx, &launch.group, reservation) {
                        Ok(task_id) => outcomes.push(Ok((record.idx, task_id))),
                        Err(err) => outcomes.push(Err(model::Failure {
                            arn: Some(record.arn.clone()),
                            reason: Some(err.to_string()),
                            ..Default::default()
                        })),
                    }
                }
            }
        }
        let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
        cluster.state = trial;
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for (index, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok((idx, task_id)) => {
                    let record = self.new_task(
                        &cluster_key,
                        &launch,
                        Some(idx),
                        Some(task_id),
                        index,
                        request.overrides.clone(),
                        request.started_by.clone(),
                        request.tags.clone(),
                    );
                    tasks.push(record.to_model());
                    let cluster = self.clusters.get_mut(&cluster_key).expect("checked above");
                    cluster.tasks.insert(record.arn.clone(), record);
                }
                Err(failure) => failures.push(failure),
            }
        }
        Ok(model::StartTaskResponse {
            tasks: Some(tasks),
            failures: Some(failures),
            ..Default::default()
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_task(
        &mut self,
        cluster_key: &str,
        launch: &Launch,
        instance: Option<InstanceIdx>,
        reservation: Option<TaskId>,
        index: usize,
        overrides: Option<model::TaskOverride>,
        started_by: Option<String>,
        tags: Option<Vec<model::Tag>>,
    ) -> TaskRecord {
        let now = self.timestamp();
        let task_id = self.ids.hex32();
        let task_arn = self.arn_of(&["task/", cluster_key, "/", &task_id]);
        let definition = &launch.definition;
        let awsvpc = definition.network_mode == Some(NetworkMode::Awsvpc);
        let fargate = matches!(launch.launch_type, LaunchType::Fargate);
        let cluster = &self.clusters[cluster_key];
        let (instance_arn, instance_zone) = match instance {
            Some(idx) => {
                let arn = cluster.record_at(idx).map(|r| r.arn.clone());
                let zone = cluster.state.instance(idx).ok().and_then(|i| {
                    i.attribute("ecs.availability-zone")
                        .flatten()
                        .map(str::to_string)
                });
                (arn, zone)
            }
            None => (None, None),
        };
        let gpu_ids: Vec<String> = match (instance, reservation) {
            (Some(idx), Some(task_id)) => {
                match (cluster.state.instance(idx), cluster.state.task(task_id)) {
                    (Ok(i), Some(t)) => i.gpu_ids(t.reservation.gpus).map(str::to_string).collect(),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let subnet = (!launch.subnets.is_empty())
            .then(|| launch.subnets[index % launch.subnets.len()].clone());
        let zone = match (&subnet, instance_zone) {
            (_, Some(zone)) => Some(zone),
            (Some(subnet), None) => Some(self.subnet_zone(subnet)),
            (None, None) => None,
        };
        let mut attachments = Vec::new();
        if awsvpc {
            let attachment_id = self.ids.uuid();
            let eni = format!("eni-{}", self.ids.hex17());
            let n = self.ids.hex32();
            let ip = format!(
                "10.0.{}.{}",
                u8::from_str_radix(&n[0..2], 16).unwrap_or(0),
                u8::from_str_radix(&n[2..4], 16).unwrap_or(0) | 1
            );
            let pair = |name: &str, value: String| KeyValuePair {
                name: Some(name.to_string()),
                value: Some(value),
                ..KeyValuePair::default()
            };
            attachments.push(Attachment {
                id: Some(attachment_id),
                r#type: Some("ElasticNetworkInterface".to_string()),
                status: Some("PRECREATED".to_string()),
                details: Some(vec![
                    pair("subnetId", subnet.clone().unwrap_or_default()),
                    pair("networkInterfaceId", eni),
                    pair(
                        "macAddress",
                        format!(
                            "0a:{}:{}:{}:{}:{}",
                            &n[4..6],
                            &n[6..8],
                            &n[8..10],
                            &n[10..12],
                            &n[12..14]
                        ),
                    ),
                    pair(
                        "privateDnsName",
                        format!("ip-{}.ec2.internal", ip.replace('.', "-")),
                    ),
                    pair("privateIPv4Address", ip),
                ]),
                ..Attachment::default()
            });
        }
        let container_count = definition
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .len();
        let mut containers = Vec::with_capacity(container_count);
        for _ in 0..container_count {
            containers.push(ContainerRecord {
                uuid: self.ids.uuid(),
                last: TaskStatus::Pending,
                started: false,
                network_bindings: Vec::new(),
                exit_code: None,
                reason: None,
            });
        }
        let start_failure = self.launch_failure(definition, overrides.as_ref(), &task_id);
        TaskRecord {
            arn: task_arn,
            definition: SharedDefinition(Arc::clone(definition)),
            reservation,
            instance,
            container_instance_arn: instance_arn,
            start_failure,
            last: if awsvpc {
                TaskStatus::Provisioning
            } else {
                TaskStatus::Pending
            },
            desired: TaskStatus::Running,
            version: 1,
            launch_type: launch.launch_type.clone(),
            group: launch.group.clone(),
            created_at: now,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            execution_stopped_at: None,
            pulled_at: None,
            connectivity: None,
            connectivity_at: None,
            stop_code: None,
            stopped_reason: None,
            started_by,
            health_status: None,
            capacity_provider_name: None,
            platform_version: fargate.then(|| match launch.platform_version.as_deref() {
                None | Some("LATEST") => "1.4.0".to_string(),
                Some(version) => version.to_string(),
            }),
            availability_zone: zone,
            overrides: overrides.map(Box::new),
            tags: tags.unwrap_or_default(),
            attachments,
            gpu_ids,
            containers,
        }
    }

    /// A task a service's deployment starts (no overrides, no tags; `startedBy` is the
    /// deployment id).
    pub(crate) fn new_service_task(
        &mut self,
        cluster_key: &str,
        launch: &Launch,
        placed: Option<(InstanceIdx, TaskId)>,
        index: usize,
        deployment: &str,
    ) -> TaskRecord {
        self.new_task(
            cluster_key,
            launch,
            placed.map(|(instance, _)| instance),
            placed.map(|(_, reservation)| reservation),
            index,
            None,
            Some(deployment.to_string()),
            None,
        )
    }

    /// StopTask (TASK-STOPTASK): desired STOPPED at once, `UserInitiated`; the task walks to
    /// STOPPED on the clock.
    pub fn stop_task(
        &mut self,
        request: &model::StopTaskRequest,
    ) -> Result<model::StopTaskResponse, Error> {
        let parameter = request.task.clone().unwrap_or_default();
        if request.reason.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(invalid("reason can have at most 1024 characters."));
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        let arn = cluster
            .task_arn(&parameter)
            .ok_or_else(|| invalid("The referenced task was not found."))?;
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        let record = cluster.tasks.get_mut(&arn).expect("found above");
        if record.desired_status() != "STOPPED" {
            record.mark_stopping(
                TaskStopCode::UserInitiated,
                request
                    .reason
                    .clone()
                    .unwrap_or_else(|| "Task stopped by user".to_string()),
            );
            record.bump();
        }
        Ok(model::StopTaskResponse {
            task: Some(record.to_model()),
            ..Default::default()
        })
    }

    /// DescribeTasks (TASK-DESCRIBE): ≤ 100; unknown ones are `MISSING` failures.
    pub fn describe_tasks(
        &self,
        request: &model::DescribeTasksRequest,
    ) -> Result<model::DescribeTasksResponse, Error> {
        let wanted = super::describe_batch(
            request.tasks.as_deref(),
            MAX_DESCRIBE_TASKS,
            "Tasks cannot be empty.",
            "taskIds can have at most 100 items.",
        )?;
        let cluster = self.cluster(request.cluster.as_deref())?;
        let with_tags = super::includes_tags(request.include.iter().flatten().map(|f| f.as_str()));
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for parameter in wanted {
            match cluster.task_arn(parameter) {
                Some(arn) => {
                    let mut task = cluster.tasks[&arn].to_model();
                    if !with_tags {
                        task.tags = None;
                    }
                    tasks.push(task);
                }
                None => failures.push(missing(self, &cluster.name, parameter, "task")),
            }
        }
        Ok(model::DescribeTasksResponse {
            tasks: Some(tasks),
            failures: Some(failures),
            ..Default::default()
        })
    }

    /// The task ARNs ListTasks returns before paging (TASK-LIST).
    pub fn task_arns(&self, request: &model::ListTasksRequest) -> Result<Vec<String>, Error> {
        if let Some(family) = &request.family
            && (family.is_empty()
                || !family
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(invalid("family must match ^[a-zA-Z0-9\\-_]+$"));
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        let service_tasks = match &request.service_name {
            Some(name) => Some(cluster.service_task_arns(name)?),
            None => None,
        };
        if request.started_by.is_some()
            && (request.family.is_some()
                || request.container_instance.is_some()
                || request.launch_type.is_some())
        {
            return Err(invalid("startedBy may not be combined with other filters."));
        }
        let instance_arn = match &request.container_instance {
            Some(parameter) => Some(
                cluster
                    .instance_record(parameter)
                    .map(|r| r.arn.clone())
                    .ok_or_else(|| invalid("Container instance not found."))?,
            ),
            None => None,
        };
        let desired = request
            .desired_status
            .as_ref()
            .map(|d| d.as_str())
            .unwrap_or("RUNNING");
        Ok(cluster
            .tasks
            .iter()
            .filter(|(_, t)| t.desired_status() == desired)
            .filter(|(_, t)| request.family.as_ref().is_none_or(|f| t.family() == f))
            .filter(|(_, t)| {
                instance_arn
                    .as_deref()
                    .is_none_or(|a| t.container_instance_arn() == Some(a))
            })
            .filter(|(_, t)| request.started_by.is_none() || t.started_by == request.started_by)
            .filter(|(arn, _)| service_tasks.as_ref().is_none_or(|s| s.contains(*arn)))
            .filter(|(_, t)| {
                request
                    .launch_type
                    .as_ref()
                    .is_none_or(|l| &t.launch_type == l)
            })
            .map(|(arn, _)| arn.clone())
            .collect())
    }

    /// One tick (scenario-format.md, "Time"): the clock moves, harness faults act
    /// (`Sim.FailTasks`), every task takes one step along its path (TASK-TRANSITIONS), stopped
    /// tasks expire, then the service scheduler and deployments run until nothing changes.
    pub fn advance(&mut self, seconds: i64) -> Result<(), Error> {
        if !(0..=31_536_000).contains(&seconds) {
            return Err(invalid("seconds must be between 0 and 31536000."));
        }
        self.advance_observed(seconds, |_| {})
    }

    /// [`Ecs::advance`], calling `observe` after every internal step of the service scheduler
    /// (property tests check deployment bounds there, not only once per tick).
    pub fn advance_observed(
        &mut self,
        seconds: i64,
        mut observe: impl FnMut(&Ecs),
    ) -> Result<(), Error> {
        if !(0..=31_536_000).contains(&seconds) {
            return Err(invalid("seconds must be between 0 and 31536000."));
        }
        self.now += seconds;
        let now = self.now;
        self.apply_faults_before_agents();
        for cluster in self.clusters.values_mut() {
            cluster.tick(now);
        }
        self.apply_faults_after_agents();
        self.tick_capacity();
        self.run_service_schedulers(&mut observe);
        Ok(())
    }

    /// `Sim.StopContainer`: a container exits; if it is essential the task stops.
    pub fn stop_container(
        &mut self,
        cluster: Option<&str>,
        task: &str,
        container_name: &str,
        exit_code: Option<i32>,
        reason: Option<&str>,
    ) -> Result<model::Task, Error> {
        let cluster = self.cluster_mut(cluster)?;
        let arn = cluster
            .task_arn(task)
            .ok_or_else(|| invalid("The referenced task was not found."))?;
        let record = cluster.tasks.get_mut(&arn).expect("found above");
        let position = record
            .container_definitions()
            .iter()
            .position(|c| c.name.as_deref() == Some(container_name))
            .filter(|&position| position < record.containers.len())
            .ok_or_else(|| invalid(format!("The task has no container named {container_name}.")))?;
        let container = &mut record.containers[position];
        container.last = TaskStatus::Stopped;
        container.exit_code = exit_code;
        container.reason = reason.map(str::to_string);
        container.network_bindings = Vec::new();
        let essential = record.essential(position);
        if essential && record.desired_status() != "STOPPED" {
            record.mark_stopping(
                TaskStopCode::EssentialContainerExited,
                "Essential container in task exited",
            );
        }
        record.bump();
        Ok(record.to_model())
    }

    /// `Sim.DisconnectAgent` / `Sim.ConnectAgent`.
    pub fn set_agent_connected(
        &mut self,
        cluster: Option<&str>,
        instance: &str,
        connected: bool,
    ) -> Result<(), Error> {
        let cluster = self.cluster_mut(cluster)?;
        let record = cluster
            .instance_record(instance)
            .ok_or_else(|| invalid("Container instance not found."))?;
        let (idx, arn) = (record.idx, record.arn.clone());
        cluster
            .state
            .set_agent_connected(idx, connected)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(record) = cluster.instances.get_mut(&arn) {
            record.version += 1;
        }
        Ok(())
    }

    /// `Sim.TerminateInstance`: the host is gone: its tasks stop at once with ECS's reason, the
    /// instance becomes INACTIVE.
    pub fn terminate_instance(
        &mut self,
        cluster: Option<&str>,
        instance: &str,
    ) -> Result<(), Error> {
        let now = self.now;
        let cluster = self.cluster_mut(cluster)?;
        let record = cluster
            .instance_record(instance)
            .ok_or_else(|| invalid("Container instance not found."))?;
        let (idx, arn) = (record.idx, record.arn.clone());
        let state_instance = cluster
            .state
            .instance(idx)
            .map_err(|e| invalid(e.to_string()))?;
        if state_instance.status() == InstanceStatus::Inactive {
            return Ok(());
        }
        let ec2 = state_instance
            .ec2_instance_id()
            .unwrap_or("unknown")
            .to_string();
        let reason = format!("Host EC2 (instance {ec2}) stopped/terminated");
        let on_host: Vec<String> = cluster
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.container_instance_arn() == Some(arn.as_str()) && t.last_status() != "STOPPED"
            })
            .map(|(a, _)| a.clone())
            .collect();
        for task_arn in on_host {
            cluster.stop_now(
                &task_arn,
                now,
                Some(TaskStopCode::TerminationNotice),
                &reason,
            );
        }
        let _ = cluster.state.set_agent_connected(idx, false);
        cluster
            .state
            .deregister(idx, true)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(record) = cluster.instances.get_mut(&arn) {
            record.version += 1;
        }
        Ok(())
    }

    /// Every instance in `zone` terminates (`Sim.FailAvailabilityZone`).
    pub fn fail_availability_zone(
        &mut self,
        cluster: Option<&str>,
        zone: &str,
    ) -> Result<usize, Error> {
        let targets: Vec<String> = {
            let c = self.cluster(cluster)?;
            c.instances
                .values()
                .filter(|r| {
                    c.state.instance(r.idx).is_ok_and(|i| {
                        i.status() != InstanceStatus::Inactive
                            && i.attribute("ecs.availability-zone") == Some(Some(zone))
                    })
                })
                .map(|r| r.arn.clone())
                .collect()
        };
        for arn in &targets {
            self.terminate_instance(cluster, arn)?;
        }
        Ok(targets.len())
    }
}

/// The reservation a placement of `demand` takes on one instance (lowest free GPUs, RES-GPU).
pub(crate) fn demand_reservation(
    state: &crate::state::ClusterState,
    idx: InstanceIdx,
    demand: &Demand,
) -> crate::state::Reservation {
    let gpus = state
        .instance(idx)
        .ok()
        .and_then(|i| i.gpus_free().lowest(demand.gpus))
        .unwrap_or_default();
    crate::state::Reservation {
        cpu: demand.cpu,
        memory: demand.memory,
        ports_tcp: demand.ports_tcp.clone(),
        ports_udp: demand.ports_udp.clone(),
        gpus,
        eni: demand.eni,
    }
}

impl Cluster {
    /// The ARN of the task a `task` parameter names (id or ARN).
    pub fn task_arn(&self, parameter: &str) -> Option<String> {
        let arn = if parameter.starts_with("arn:") {
            parameter.to_string()
        } else {
            format!(
                "{}/{parameter}",
                self.arn.replacen(":cluster/", ":task/", 1)
            )
        };
        self.tasks.contains_key(&arn).then_some(arn)
    }

    /// Moves a task straight to STOPPED, releasing what it holds.
    pub(crate) fn stop_now(
        &mut self,
        task_arn: &str,
        now: i64,
        code: Option<TaskStopCode>,
        reason: &str,
    ) {
        let Some(record) = self.tasks.get_mut(task_arn) else {
            return;
        };
        if record.desired_status() != "STOPPED" || record.stopped_reason.is_none() {
            record.desired = TaskStatus::Stopped;
            if code.is_some() {
                record.stop_code = code;
            }
            record.stopped_reason = Some(reason.to_string());
        }
        finish_stop(record, Timestamp::from_secs(now));
        if let Some(reservation) = record.reservation.take() {
            let _ = self.state.release_task(reservation);
        }
    }

    fn tick(&mut self, now: i64) {
        let stamp = Timestamp::from_secs(now);
        // TASK-STOPPED-VISIBILITY: stopped tasks expire after an hour.
        self.tasks.retain(|_, record| {
            record.last_status() != "STOPPED"
                || record
                    .stopped_at
                    .is_none_or(|at| now - at.secs() < STOPPED_TASK_RETENTION_SECS)
        });
        let arns: Vec<String> = self.tasks.keys().cloned().collect();
        for arn in arns {
            let agent_up = {
                let record = &self.tasks[&arn];
                record
                    .instance
                    .is_none_or(|idx| self.state.instance(idx).is_ok_and(|i| i.agent_connected()))
            };
            if !agent_up {
                continue;
            }
            let record = &self.tasks[&arn];
            let stopping = record.desired_status() == "STOPPED";
            match (record.last_status(), stopping) {
                ("STOPPED", _) => {}
                // CP-PLACE-PER-PROVIDER: waiting for capacity (capacity.rs places it).
                ("PROVISIONING", false) if super::capacity::is_waiting(record) => {}
                ("PROVISIONING", false) => self.tasks[&arn].set_last(TaskStatus::Pending),
                ("PENDING", false) => match self.tasks[&arn].start_failure.clone() {
                    // Its roles let it down (spec §3.4): STOPPED without starting.
                    Some(reason) => {
                        self.stop_now(&arn, now, Some(TaskStopCode::TaskFailedToStart), &reason)
                    }
                    None => self.start_running(&arn, stamp),
                },
                ("PROVISIONING", true) | ("PENDING", true) | ("ACTIVATING", true) => {
                    let record = self.tasks.get_mut(&arn).expect("listed");
                    if record.stop_code.is_none() {
                        record.stop_code = Some(TaskStopCode::TaskFailedToStart);
                    }
                    self.stop_now(&arn, now, None, "");
                }
                ("RUNNING", true) | ("ACTIVATING", false) | ("DEACTIVATING", true) => {
                    let record = self.tasks.get_mut(&arn).expect("listed");
                    if record.last_status() == "ACTIVATING" {
                        record.set_last(TaskStatus::Running);
                    } else {
                        record.stopping_at = Some(stamp);
                        record.set_last(TaskStatus::Stopping);
                    }
                }
                ("STOPPING", _) => {
                    let record = self.tasks.get_mut(&arn).expect("listed");
                    if record.awsvpc() {
                        record.execution_stopped_at = Some(stamp);
                        record.set_last(TaskStatus::Deprovisioning);
                    } else {
                        let reason = record.stopped_reason.clone().unwrap_or_default();
                        self.stop_now(&arn, now, None, &reason);
                    }
                }
                ("DEPROVISIONING", _) => {
                    let reason = self.tasks[&arn].stopped_reason.clone().unwrap_or_default();
                    self.stop_now(&arn, now, None, &reason);
                }
                _ => {}
            }
        }
    }

    /// PENDING → RUNNING: containers start, dynamic host ports are bound (RES-PORTS-DYNAMIC:
    /// the lowest free port of the ephemeral range), ENIs attach.
    fn start_running(&mut self, arn: &str, now: Timestamp) {
        let (instance, instance_arn) = {
            let record = &self.tasks[arn];
            (
                record.instance,
                record.container_instance_arn().map(str::to_string),
            )
        };
        // Ports in use on the instance: reserved + static + dynamic ones of running tasks.
        let mut used_tcp: Vec<u16> = Vec::new();
        let mut used_udp: Vec<u16> = Vec::new();
        if let Some(idx) = instance
            && let Ok(state_instance) = self.state.instance(idx)
        {
            used_tcp.extend_from_slice(state_instance.ports_in_use(crate::state::Protocol::Tcp));
            used_udp.extend_from_slice(state_instance.ports_in_use(crate::state::Protocol::Udp));
            for other in self.tasks.values() {
                if other.container_instance_arn() != instance_arn.as_deref() {
                    continue;
                }
                for container in &other.containers {
                    for binding in &container.network_bindings {
                        if let Some(port) = binding.host_port.and_then(|p| u16::try_from(p).ok()) {
                            if matches!(binding.protocol, Some(TransportProtocol::Udp)) {
                                used_udp.push(port);
                            } else {
                                used_tcp.push(port);
                            }
                        }
                    }
                }
            }
        }
        let record = self.tasks.get_mut(arn).expect("caller checked");
        let plans = container_plans(record.container_definitions(), record.network_mode());
        let bridge_like = !matches!(
            record.network_mode(),
            Some(NetworkMode::Awsvpc) | Some(NetworkMode::None)
        );
        for (container, plan) in record.containers.iter_mut().zip(&plans) {
            if container.last == TaskStatus::Stopped {
                continue;
            }
            container.last = TaskStatus::Running;
            container.started = true;
            let mut bindings = Vec::new();
            if bridge_like && instance.is_some() {
                for &(container_port, host_port, udp) in &plan.ports {
                    let used = if udp { &mut used_udp } else { &mut used_tcp };
                    let host = if host_port > 0 {
                        host_port
                    } else {
                        match (DYNAMIC_PORT_RANGE.0..=DYNAMIC_PORT_RANGE.1)
                            .find(|p| !used.contains(p))
                        {
                            Some(port) => port,
                            None => continue,
                        }
                    };
                    used.push(host);
                    bindings.push(NetworkBinding {
                        bind_ip: Some("0.0.0.0".to_string()),
                        container_port: Some(i32::from(container_port)),
                        host_port: Some(i32::from(host)),
                        protocol: Some(if udp {
                            TransportProtocol::Udp
                        } else {
                            TransportProtocol::Tcp
                        }),
                        ..NetworkBinding::default()
                    });
                }
            }
            container.network_bindings = bindings;
        }
        for attachment in &mut record.attachments {
            attachment.status = Some("ATTACHED".to_string());
        }
        record.pulled_at = Some(now);
        record.started_at = Some(now);
        if record.is_fargate() {
            record.connectivity = Some(model::Connectivity::Connected);
            record.connectivity_at = Some(now);
        }
        record.set_last(TaskStatus::Running);
    }
}

fn finish_stop(record: &mut TaskRecord, now: Timestamp) {
    if record.last == TaskStatus::Stopped {
        return;
    }
    if record.stopping_at.is_none() && record.started_at.is_some() {
        record.stopping_at = Some(now);
    }
    record.execution_stopped_at.get_or_insert(now);
    record.stopped_at = Some(now);
    for container in &mut record.containers {
        container.last = TaskStatus::Stopped;
        container.network_bindings = Vec::new();
    }
    for attachment in &mut record.attachments {
        attachment.status = Some("DELETED".to_string());
    }
    if record.connectivity.is_some() {
        record.connectivity = Some(model::Connectivity::Disconnected);
    }
    record.set_last(TaskStatus::Stopped);
}
