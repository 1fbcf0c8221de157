//! Container instances: registration, status, attributes, describe and list (CI-*).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::agent::{default_capability_attributes, is_capability};
use super::clusters::cluster_name;
use super::{Cluster, Ecs, Error};
use crate::model::{self, Attribute, Resource, Tag, Timestamp};
use crate::state::{Instance, InstanceIdx, InstanceSpec, InstanceStatus, StateError};

/// At most this many container instances per cluster (CI-QUOTA-PER-CLUSTER).
pub const MAX_INSTANCES_PER_CLUSTER: usize = 5_000;
/// At most this many custom attributes per resource (CI-ATTR-PUT).
pub const MAX_CUSTOM_ATTRIBUTES: usize = 10;
/// At most this many attributes per PutAttributes/DeleteAttributes call (CI-ATTR-PUT).
pub const MAX_ATTRIBUTES_PER_CALL: usize = 10;

/// The ECS record of one container instance; resources and attributes live in the cluster's
/// placement state at `idx`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// `arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<id>`.
    pub arn: String,
    /// Where the instance sits in the cluster's placement state.
    pub idx: InstanceIdx,
    /// `versionInfo` as registered.
    pub version_info: Option<model::VersionInfo>,
    /// Registered resources other than CPU/MEMORY/PORTS/PORTS_UDP, kept and shown, never placed on.
    pub other_resources: Vec<Resource>,
    /// Bumped on every change of the instance (CI-COUNTERS).
    pub version: i64,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A CQL subject over one instance of the state.
struct InstanceSubject<'a>(&'a Instance);

impl crate::cql::Subject for InstanceSubject<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.0.attribute(name)
    }
    fn agent_connected(&self) -> bool {
        self.0.agent_connected()
    }
    fn agent_version(&self) -> Option<&str> {
        self.0.agent_version()
    }
    fn ec2_instance_id(&self) -> Option<&str> {
        self.0.ec2_instance_id()
    }
    fn registered_at(&self) -> Option<i64> {
        Some(self.0.registered_at())
    }
    fn running_tasks_count(&self) -> u64 {
        self.0.running_tasks_count()
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.0.groups().keys().any(|group| pred(group))
    }
}

fn integer_resource(name: &str, value: u32) -> Resource {
    Resource {
        name: Some(name.to_string()),
        r#type: Some("INTEGER".to_string()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(value as i32),
        ..Resource::default()
    }
}

fn port_resource(name: &str, ports: &[u16]) -> Resource {
    Resource {
        name: Some(name.to_string()),
        r#type: Some("STRINGSET".to_string()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(0),
        string_set_value: Some(ports.iter().map(u16::to_string).collect()),
        ..Resource::default()
    }
}

fn state_error(err: StateError) -> Error {
    Error::InvalidParameter(err.to_string())
}

/// Reads an integer resource value whatever member it was given in.
fn resource_number(resource: &Resource) -> Option<i64> {
    resource
        .integer_value
        .map(i64::from)
        .or(resource.long_value)
        .or(resource.double_value.map(|d| d as i64))
}

fn parse_ports(resource: &Resource) -> Result<Vec<u16>, Error> {
    resource
        .string_set_value
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|port| {
            port.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    Error::InvalidParameter(format!(
                        "'{port}' is not a valid port in {}.",
                        resource.name.as_deref().unwrap_or("PORTS")
                    ))
                })
        })
        .collect()
}

impl Cluster {
    /// The record of the instance at `idx` in the placement state. Records are kept in
    /// registration order, which is `InstanceIdx` order, so this is a direct lookup.
    pub fn record_at(&self, idx: InstanceIdx) -> Option<&InstanceRecord> {
        self.instances
            .get_index(idx.as_usize())
            .map(|(_, record)| record)
            .filter(|record| record.idx == idx)
    }

    /// The record of the instance a `containerInstance` parameter names (id or ARN).
    pub fn instance_record(&self, parameter: &str) -> Option<&InstanceRecord> {
        if parameter.starts_with("arn:") {
            return self.instances.get(parameter);
        }
        // An id: its ARN is the cluster's with `container-instance/<cluster>/<id>`.
        let arn = format!(
            "{}/{parameter}",
            self.arn.replacen(":cluster/", ":container-instance/", 1)
        );
        self.instances.get(&arn)
    }

    /// The instance as DescribeContainerInstances shows it.
    pub fn describe_instance(
        &self,
        record: &InstanceRecord,
        with_tags: bool,
    ) -> model::ContainerInstance {
        let Ok(instance) = self.state.instance(record.idx) else {
            return model::ContainerInstance::default();
        };
        let spec = instance.spec();
        let mut registered = vec![
            integer_resource("CPU", spec.cpu),
            integer_resource("MEMORY", spec.memory),
            port_resource("PORTS", &spec.ports_tcp),
            port_resource("PORTS_UDP", &spec.ports_udp),
        ];
        let remaining_cpu = self
            .state
            .remaining_cpu()
            .get(record.idx.as_usize())
            .copied()
            .unwrap_or(0);
        let remaining_memory = self
            .state
            .remaining_memory()
            .get(record.idx.as_usize())
            .copied()
            .unwrap_or(0);
        let mut remaining = vec![
            integer_resource("CPU", remaining_cpu),
            integer_resource("MEMORY", remaining_memory),
            port_resource("PORTS", instance.ports_in_use(crate::state::Protocol::Tcp)),
            port_resource(
                "PORTS_UDP",
                instance.ports_in_use(crate::state::Protocol::Udp),
            ),
        ];
        if !spec.gpu_ids.is_empty() {
            let set = |ids: Vec<&str>| Resource {
                name: Some("GPU".to_string()),
                r#type: Some("STRINGSET".to_string()),
                string_set_value: Some(ids.into_iter().map(str::to_string).collect()),
                ..Resource::default()
            };
            registered.push(set(instance.gpu_ids(instance.registered_gpus()).collect()));
            remaining.push(set(instance.gpu_ids(instance.gpus_free()).collect()));
        }
        registered.extend(record.other_resources.iter().cloned());
        remaining.extend(record.other_resources.iter().cloned());
        let tasks_here = self
            .tasks
            .values()
            .filter(|task| task.container_instance_arn() == Some(record.arn.as_str()));
        let (mut running, mut pending) = (0, 0);
        for task in tasks_here {
            running += i32::from(task.desired_status() == "RUNNING");
            pending += i32::from(task.last_status() == "PENDING");
        }
        model::ContainerInstance {
            container_instance_arn: Some(record.arn.clone()),
            ec2_instance_id: instance.ec2_instance_id().map(str::to_string),
            version: Some(record.version),
            version_info: record.version_info.clone(),
            remaining_resources: Some(remaining),
            registered_resources: Some(registered),
            status: Some(instance.status().as_str().to_string()),
            agent_connected: Some(instance.agent_connected()),
            running_tasks_count: Some(running),
            pending_tasks_count: Some(pending),
            attributes: Some(
                instance
                    .attributes()
                    .iter()
                    .map(|(name, value)| Attribute {
                        name: Some(name.clone()),
                        value: value.clone(),
                        ..Attribute::default()
                    })
                    .collect(),
            ),
            registered_at: Some(Timestamp::from_secs(instance.registered_at())),
            attachments: Some(Vec::new()),
            tags: Some(if with_tags {
                record.tags.clone()
            } else {
                Vec::new()
            }),
            ..model::ContainerInstance::default()
        }
    }
}

impl Ecs {
    /// RegisterContainerInstance: the simulated agent joins the cluster (CI-REGISTER-*).
    pub fn register_container_instance(
        &mut self,
        request: &model::RegisterContainerInstanceRequest,
    ) -> Result<model::RegisterContainerInstanceResponse, Error> {
        let now = self.now;
        let cluster = self.cluster(request.cluster.as_deref())?;
        if cluster.instances.len() >= MAX_INSTANCES_PER_CLUSTER {
            return Err(Error::Client(format!(
                "A cluster can have at most {MAX_INSTANCES_PER_CLUSTER} container instances."
            )));
        }
        let document: serde_json::Value = match request.instance_identity_document.as_deref() {
            Some(text) if !text.trim().is_empty() => crate::json::parse(text).map_err(|err| {
                Error::InvalidParameter(format!(
                    "instanceIdentityDocument is not valid JSON: {}",
                    err.message
                ))
            })?,
            _ => serde_json::Value::Null,
        };
        let doc = |key: &str| {
            document
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        let mut attributes: BTreeMap<String, Option<String>> = BTreeMap::new();
        for attribute in request.attributes.as_deref().unwrap_or_default() {
            let Some(name) = attribute.name.clone() else {
                return Err(Error::InvalidParameter(
                    "Attribute name must not be empty.".to_string(),
                ));
            };
            attributes.insert(name, attribute.value.clone());
        }
        if let Some(zone) = doc("availabilityZone") {
            attributes
                .entry("ecs.availability-zone".to_string())
                .or_insert(Some(zone));
        }
        if let Some(kind) = doc("instanceType") {
            attributes
                .entry("ecs.instance-type".to_string())
                .or_insert(Some(kind));
        }
        if let Some(ami) = doc("imageId") {
            attributes
                .entry("ecs.ami-id".to_string())
                .or_insert(Some(ami));
        }
        let os_type = attributes
            .entry("ecs.os-type".to_string())
            .or_insert_with(|| Some("linux".to_string()))
            .clone()
            .unwrap_or_else(|| "linux".to_string());
        let architecture = match doc("architecture").as_deref() {
            Some("arm64") | Some("aarch64") => "arm64",
            _ => "x86_64",
        };
        attributes
            .entry("ecs.cpu-architecture".to_string())
            .or_insert_with(|| Some(architecture.to_string()));
        if os_type == "linux" {
            attributes
                .entry("ecs.os-family".to_string())
                .or_insert_with(|| Some("LINUX".to_string()));
        }
        if !attributes.keys().any(|name| is_capability(name)) {
            for name in default_capability_attributes(&os_type) {
                attributes.insert(name, None);
            }
        }
        // RES-ENI: an instance of a known type takes (its ENI limit - 1) awsvpc tasks; the
        // primary interface is its own. Unknown types are unlimited. Trunking is not modelled.
        let eni_capacity = attributes
            .get("ecs.instance-type")
            .and_then(|kind| kind.as_deref())
            .and_then(super::instance_types::instance_type)
            .map(|(_, _, _, max_enis, _)| max_enis.saturating_sub(1));
        let mut spec = InstanceSpec {
            eni_capacity,
            ec2_instance_id: doc("instanceId"),
            attributes,
            agent_version: request
                .version_info
                .as_ref()
                .and_then(|info| info.agent_version.clone()),
            registered_at: now,
            ..InstanceSpec::default()
        };
        let mut other_resources = Vec::new();
        for resource in request.total_resources.as_deref().unwrap_or_default() {
            let number = || -> Result<u32, Error> {
                resource_number(resource)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::InvalidParameter(format!(
                            "Resource {} needs a non-negative integer value.",
                            resource.name.as_deref().unwrap_or_default()
                        ))
                    })
            };
            match resource.name.as_deref() {
                Some("CPU") => spec.cpu = number()?,
                Some("MEMORY") => spec.memory = number()?,
                Some("PORTS") => spec.ports_tcp = parse_ports(resource)?,
                Some("PORTS_UDP") => spec.ports_udp = parse_ports(resource)?,
                Some("GPU") => spec.gpu_ids = resource.string_set_value.clone().unwrap_or_default(),
                _ => other_resources.push(resource.clone()),
            }
        }
        for device in request.platform_devices.as_deref().unwrap_or_default() {
            if device.r#type.as_ref().is_some_and(|t| t.as_str() == "GPU")
                && let Some(id) = &device.id
                && !spec.gpu_ids.contains(id)
            {
                spec.gpu_ids.push(id.clone());
            }
        }
        let tags = request.tags.clone().unwrap_or_default();
        super::tags::check_tags(&tags)?;
        let cluster_label = cluster.name.clone();
        // The id is drawn before the state checks the instance; a refusal puts the generator
        // back, so a failed call changes nothing (ERR-ATOMIC; found by the `scenario` fuzzer).
        let ids_before = self.ids;
        let id = self.ids.hex32();
        let arn = self.arn(&format!("container-instance/{cluster_label}/{id}"));
        spec.id = id;
        spec.arn = arn.clone();
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        let idx = match cluster.state.register(spec) {
            Ok(idx) => idx,
            Err(err) => {
                self.ids = ids_before;
                return Err(state_error(err));
            }
        };
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        let record = InstanceRecord {
            arn: arn.clone(),
            idx,
            version_info: request.version_info.clone(),
            other_resources,
            version: 1,
            tags,
        };
        cluster.instances.insert(arn, record);
        let record = &cluster.instances[cluster.instances.len() - 1];
        Ok(model::RegisterContainerInstanceResponse {
            container_instance: Some(cluster.describe_instance(record, true)),
            ..Default::default()
        })
    }

    /// DeregisterContainerInstance (CI-DEREGISTER): refused while tasks are active unless
    /// `force`; with `force` the tasks are orphaned (stopped with ECS's reason).
    pub fn deregister_container_instance(
        &mut self,
        request: &model::DeregisterContainerInstanceRequest,
    ) -> Result<model::DeregisterContainerInstanceResponse, Error> {
        let parameter = request.container_instance.clone().unwrap_or_default();
        let cluster = self.cluster(request.cluster.as_deref())?;
        let record = cluster
            .instance_record(&parameter)
            .ok_or_else(|| Error::InvalidParameter("Container instance not found.".to_string()))?;
        let arn = record.arn.clone();
        let active_tasks = cluster.tasks.values().any(|task| {
            task.container_instance_arn() == Some(arn.as_str()) && task.last_status() != "STOPPED"
        });
        if active_tasks && request.force != Some(true) {
            return Err(Error::InvalidParameter(
                "Found running tasks on the instance.".to_string(),
            ));
        }
        let now = self.now;
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        let task_arns: Vec<String> = cluster
            .tasks
            .iter()
            .filter(|(_, task)| {
                task.container_instance_arn() == Some(arn.as_str())
                    && task.last_status() != "STOPPED"
            })
            .map(|(task_arn, _)| task_arn.clone())
            .collect();
        for task_arn in task_arns {
            cluster.stop_now(
                &task_arn,
                now,
                None,
                "Container instance deregistration forced by user",
            );
        }
        let idx = cluster.instances[&arn].idx;
        cluster.state.deregister(idx, true).map_err(state_error)?;
        let record = cluster.instances.get_mut(&arn).expect("looked up above");
        record.version += 1;
        let record = &cluster.instances[&arn];
        Ok(model::DeregisterContainerInstanceResponse {
            container_instance: Some(cluster.describe_instance(record, false)),
            ..Default::default()
        })
    }

    /// DescribeContainerInstances (CI-DESCRIBE): unknown ones are `MISSING` failures.
    pub fn describe_container_instances(
        &self,
        request: &model::DescribeContainerInstancesRequest,
    ) -> Result<model::DescribeContainerInstancesResponse, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let wanted = super::describe_batch(
            request.container_instances.as_deref(),
            100,
            "containerInstances can not be empty.",
            "containerInstances can have at most 100 items.",
        )?;
        let with_tags = super::includes_tags(request.include.iter().flatten().map(|f| f.as_str()));
        let mut instances = Vec::new();
        let mut failures = Vec::new();
        for parameter in wanted {
            match cluster.instance_record(parameter) {
                Some(record) => instances.push(cluster.describe_instance(record, with_tags)),
                None => failures.push(missing(
                    self,
                    &cluster.name,
                    parameter,
                    "container-instance",
                )),
            }
        }
        Ok(model::DescribeContainerInstancesResponse {
            container_instances: Some(instances),
            failures: Some(failures),
            ..Default::default()
        })
    }

    /// The ARNs ListContainerInstances returns before paging (CI-LIST): every status but
    /// INACTIVE unless `status` says otherwise, filtered by a CQL expression.
    pub fn container_instance_arns(
        &self,
        request: &model::ListContainerInstancesRequest,
    ) -> Result<Vec<String>, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        let filter = match request.filter.as_deref() {
            Some(text) => Some(
                crate::cql::parse(text).map_err(|err| Error::InvalidParameter(err.to_string()))?,
            ),
            None => None,
        };
        let status = request.status.as_ref().map(|s| s.as_str().to_string());
        let mut arns = Vec::new();
        for record in cluster.instances.values() {
            let instance = cluster.state.instance(record.idx).map_err(state_error)?;
            let shown = instance.status().as_str();
            let keep_status = match &status {
                Some(wanted) => wanted == shown,
                None => shown != "INACTIVE",
            };
            if keep_status
                && filter
                    .as_ref()
                    .is_none_or(|expr| expr.eval(&InstanceSubject(instance)))
            {
                arns.push(record.arn.clone());
            }
        }
        Ok(arns)
    }

    /// UpdateContainerInstancesState (CI-UPDATE-STATE): ACTIVE ↔ DRAINING, ≤ 10 instances,
    /// unknown ones as `MISSING` failures.
    pub fn update_container_instances_state(
        &mut self,
        request: &model::UpdateContainerInstancesStateRequest,
    ) -> Result<model::UpdateContainerInstancesStateResponse, Error> {
        let target = match request.status.as_ref().map(|s| s.as_str()) {
            Some("ACTIVE") => InstanceStatus::Active,
            Some("DRAINING") => InstanceStatus::Draining,
            _ => {
                return Err(Error::InvalidParameter(
                    "Container instance status should be one of [ACTIVE, DRAINING]".to_string(),
                ));
            }
        };
        let wanted = request.container_instances.clone().unwrap_or_default();
        if wanted.is_empty() || wanted.len() > 10 {
            return Err(Error::InvalidParameter(
                "containerInstances must hold between 1 and 10 items.".to_string(),
            ));
        }
        let cluster_label = self.cluster(request.cluster.as_deref())?.name.clone();
        let mut failures = Vec::new();
        let mut updated = Vec::new();
        for parameter in &wanted {
            let cluster = self.cluster(request.cluster.as_deref())?;
            let Some(record) = cluster.instance_record(parameter) else {
                failures.push(missing(
                    self,
                    &cluster_label,
                    parameter,
                    "container-instance",
                ));
                continue;
            };
            let (arn, idx) = (record.arn.clone(), record.idx);
            let current = cluster.state.instance(idx).map_err(state_error)?.status();
            if current == InstanceStatus::Inactive {
                failures.push(model::Failure {
                    arn: Some(arn),
                    reason: Some("INACTIVE".to_string()),
                    ..Default::default()
                });
                continue;
            }
            let cluster = self.cluster_mut(request.cluster.as_deref())?;
            if current != target {
                cluster.state.set_status(idx, target).map_err(state_error)?;
                if let Some(record) = cluster.instances.get_mut(&arn) {
                    record.version += 1;
                }
            }
            updated.push(arn);
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        Ok(model::UpdateContainerInstancesStateResponse {
            container_instances: Some(
                updated
                    .iter()
                    .filter_map(|arn| cluster.instances.get(arn))
                    .map(|record| cluster.describe_instance(record, false))
                    .collect(),
            ),
            failures: Some(failures),
            ..Default::default()
        })
    }

    fn attribute_target(
        &self,
        cluster: &Cluster,
        attribute: &Attribute,
    ) -> Result<InstanceIdx, Error> {
        let target = attribute.target_id.as_deref().unwrap_or_default();
        if !target.starts_with("arn:") && attribute.target_type.is_none() {
            return Err(Error::InvalidParameter(
                "targetType is required when targetId is not an ARN.".to_string(),
            ));
        }
        cluster
            .instance_record(target)
            .filter(|record| {
                cluster
                    .state
                    .instance(record.idx)
                    .is_ok_and(|i| i.status() != InstanceStatus::Inactive)
            })
            .map(|record| record.idx)
            .ok_or_else(|| Error::TargetNotFound(target.to_string()))
    }

    /// PutAttributes (CI-ATTR-PUT): ≤ 10 per call, ≤ 10 custom attributes per resource.
    pub fn put_attributes(
        &mut self,
        request: &model::PutAttributesRequest,
    ) -> Result<model::PutAttributesResponse, Error> {
        let attributes = request.attributes.clone().unwrap_or_default();
        if attributes.is_empty() {
            return Err(Error::InvalidParameter(
                "attributes can not be empty".to_string(),
            ));
        }
        if attributes.len() > MAX_ATTRIBUTES_PER_CALL {
            return Err(Error::InvalidParameter(format!(
                "attributes can have at most {MAX_ATTRIBUTES_PER_CALL} items."
            )));
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        // Check everything on a copy of the state first, so a failure changes nothing.
        let mut trial = cluster.state.clone();
        let mut targets = Vec::new();
        for attribute in &attributes {
            let idx = self.attribute_target(cluster, attribute)?;
            let name = attribute.name.as_deref().unwrap_or_default();
            trial
                .put_attribute(idx, name, attribute.value.as_deref())
                .map_err(state_error)?;
            let custom = trial
                .instance(idx)
                .map_err(state_error)?
                .attributes()
                .keys()
                .filter(|name| !name.starts_with("ecs.") && !name.starts_with("com.amazonaws.ecs."))
                .count();
            if custom > MAX_CUSTOM_ATTRIBUTES {
                return Err(Error::AttributeLimitExceeded(format!(
                    "A resource can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."
                )));
            }
            targets.push(idx);
        }
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        cluster.state = trial;
        for record in cluster.instances.values_mut() {
            if targets.contains(&record.idx) {
                record.version += 1;
            }
        }
        Ok(model::PutAttributesResponse {
            attributes: Some(attributes),
            ..Default::default()
        })
    }

    /// DeleteAttributes (CI-ATTR-DELETE): built-in (`ecs.*`) attributes cannot be deleted.
    pub fn delete_attributes(
        &mut self,
        request: &model::DeleteAttributesRequest,
    ) -> Result<model::DeleteAttributesResponse, Error> {
        let attributes = request.attributes.clone().unwrap_or_default();
        if attributes.is_empty() || attributes.len() > MAX_ATTRIBUTES_PER_CALL {
            return Err(Error::InvalidParameter(format!(
                "attributes must hold between 1 and {MAX_ATTRIBUTES_PER_CALL} items."
            )));
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        let mut trial = cluster.state.clone();
        for attribute in &attributes {
            let idx = self.attribute_target(cluster, attribute)?;
            let name = attribute.name.as_deref().unwrap_or_default();
            if name.starts_with("ecs.") || name.starts_with("com.amazonaws.ecs.") {
                return Err(Error::InvalidParameter(format!(
                    "The built-in attribute {name} cannot be deleted."
                )));
            }
            trial.delete_attribute(idx, name).map_err(state_error)?;
        }
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        cluster.state = trial;
        Ok(model::DeleteAttributesResponse {
            attributes: Some(attributes),
            ..Default::default()
        })
    }

    /// The attributes ListAttributes returns before paging (CI-ATTR-LIST), with their targets.
    pub fn list_attributes(
        &self,
        request: &model::ListAttributesRequest,
    ) -> Result<Vec<Attribute>, Error> {
        if request.target_type.is_none() {
            return Err(Error::InvalidParameter(
                "targetType is required.".to_string(),
            ));
        }
        if request.attribute_value.is_some() && request.attribute_name.is_none() {
            return Err(Error::InvalidParameter(
                "attributeValue may only be used with attributeName.".to_string(),
            ));
        }
        let cluster = self.cluster(request.cluster.as_deref())?;
        let mut out = Vec::new();
        for record in cluster.instances.values() {
            let instance = cluster.state.instance(record.idx).map_err(state_error)?;
            if instance.status() == InstanceStatus::Inactive {
                continue;
            }
            for (name, value) in instance.attributes() {
                if request.attribute_name.as_deref().is_some_and(|n| n != name) {
                    continue;
                }
                if request.attribute_value.is_some() && request.attribute_value != *value {
                    continue;
                }
                out.push(Attribute {
                    name: Some(name.clone()),
                    value: value.clone(),
                    target_type: Some(model::TargetType::ContainerInstance),
                    target_id: Some(record.arn.clone()),
                    ..Attribute::default()
                });
            }
        }
        Ok(out)
    }
}

/// A `MISSING` failure for a resource named by id or ARN.
pub(crate) fn missing(ecs: &Ecs, cluster: &str, parameter: &str, kind: &str) -> model::Failure {
    let arn = if parameter.starts_with("arn:") {
        parameter.to_string()
    } else {
        ecs.arn(&format!(
            "{kind}/{}/{parameter}",
            cluster_name(Some(cluster))
        ))
    };
    model::Failure {
        arn: Some(arn),
        reason: Some("MISSING".to_string()),
        ..Default::default()
    }
}
