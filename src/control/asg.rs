//! Simulated EC2 Auto Scaling groups (harness: `Sim.CreateAutoScalingGroup`,
//! `Sim.SetDesiredCapacity`, `Sim.DescribeAutoScalingGroups`), the capacity behind Auto Scaling
//! group capacity providers (CP-ASG-SETTINGS, CP-MANAGED-TERMINATION, CP-MANAGED-DRAINING).
//!
//! On every `Sim.Advance` (`Ecs::tick_auto_scaling_groups`, before waiting tasks are placed
//! and before managed scaling looks at the metric):
//! 1. instances whose container instance is gone (terminated by the harness, an Availability
//!    Zone failure, deregistered) leave the group;
//! 2. instances the group is draining (managed draining) terminate once no non-daemon task is
//!    left on them;
//! 3. while fewer instances are in service than the desired capacity, instances launch and
//!    register at once as container instances of the group's cluster, each in the group's
//!    Availability Zone with the fewest in-service instances (ties: list order), sized from
//!    the EC2 instance type table (CPU = vCPUs × 1,024 units, memory = the type's MiB);
//! 4. while more are in service than desired, the group scales in: with managed termination
//!    protection only instances without non-daemon tasks may go; the victim is in the zone
//!    with the most in-service instances, the oldest there (the default termination policy's
//!    AZ balance, then age); with managed draining it is set DRAINING first and terminated on a
//!    later tick, otherwise it terminates at once (its tasks stop with ECS's reason).
//!
//! A desired capacity set during one tick (by managed scaling or `Sim.SetDesiredCapacity`)
//! therefore shows as registered instances on the next `Sim.Advance`.

use serde::{Deserialize, Serialize};

use super::error::invalid;
use super::{Ecs, Error};
use crate::model;
use crate::state::InstanceStatus;

/// One instance of a simulated Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupInstance {
    /// The EC2 instance id (`i-` + 17 hex).
    pub instance_id: String,
    /// Its Availability Zone.
    pub availability_zone: String,
    /// The cluster it registered in.
    pub cluster: String,
    /// Its container instance ARN.
    pub container_instance_arn: String,
    /// `InService` or `Terminating` (draining before termination).
    pub lifecycle: String,
    /// When it launched (logical clock).
    pub launched_at: i64,
}

/// A simulated EC2 Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoScalingGroup {
    /// `AutoScalingGroupName`.
    pub name: String,
    /// `arn:aws:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>`.
    pub arn: String,
    /// The EC2 instance type every instance has.
    pub instance_type: String,
    /// `MinSize`.
    pub min: i64,
    /// `MaxSize`.
    pub max: i64,
    /// `DesiredCapacity`.
    pub desired: i64,
    /// `AvailabilityZones`.
    pub availability_zones: Vec<String>,
    /// The cluster its instances register in.
    pub cluster: String,
    /// Its instances, in launch order.
    pub instances: Vec<GroupInstance>,
    /// When it was created.
    pub created_at: i64,
}

impl AutoScalingGroup {
    fn in_service(&self) -> impl Iterator<Item = &GroupInstance> {
        self.instances.iter().filter(|i| i.lifecycle == "InService")
    }

    /// The group as the Auto Scaling API's DescribeAutoScalingGroups shows it (the members
    /// stowplan models).
    pub fn describe(&self, protected: impl Fn(&GroupInstance) -> bool) -> serde_json::Value {
        serde_json::json!({
            "AutoScalingGroupName": self.name,
            "AutoScalingGroupARN": self.arn,
            "MinSize": self.min,
            "MaxSize": self.max,
            "DesiredCapacity": self.desired,
            "AvailabilityZones": self.availability_zones,
            "CreatedTime": model::Timestamp::from_secs(self.created_at),
            "Instances": self.instances.iter().map(|i| serde_json::json!({
                "InstanceId": i.instance_id,
                "InstanceType": self.instance_type,
                "AvailabilityZone": i.availability_zone,
                "LifecycleState": i.lifecycle,
                "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": protected(i),
            })).collect::<Vec<_>>(),
        })
    }
}

/// What `Sim.CreateAutoScalingGroup` takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSpec {
    /// `AutoScalingGroupName`.
    pub name: String,
    /// `InstanceType` (must be in the EC2 table).
    pub instance_type: String,
    /// `MinSize`.
    pub min: i64,
    /// `MaxSize`.
    pub max: i64,
    /// `DesiredCapacity` (default `MinSize`).
    pub desired: Option<i64>,
    /// `AvailabilityZones` (default `<region>a`).
    pub availability_zones: Vec<String>,
    /// The cluster its instances register in (default `default`).
    pub cluster: Option<String>,
}

impl Ecs {
    /// The group a name or ARN names.
    pub fn auto_scaling_group(&self, reference: &str) -> Option<&AutoScalingGroup> {
        self.auto_scaling_groups
            .values()
            .find(|g| g.name == reference || g.arn == reference)
    }

    fn group_key(&self, reference: &str) -> Option<String> {
        self.auto_scaling_group(reference).map(|g| g.name.clone())
    }

    /// The simulated Auto Scaling groups, in creation order.
    pub fn auto_scaling_groups(&self) -> impl Iterator<Item = &AutoScalingGroup> {
        self.auto_scaling_groups.values()
    }

    /// `Sim.CreateAutoScalingGroup`: declares a group; its instances launch on the next ticks.
    pub fn create_auto_scaling_group(&mut self, spec: &GroupSpec) -> Result<String, Error> {
        if spec.name.is_empty() || spec.name.len() > 255 {
            return Err(invalid("AutoScalingGroupName must be 1-255 characters."));
        }
        if self.auto_scaling_groups.contains_key(&spec.name) {
            return Err(invalid(format!(
                "AutoScalingGroup by this name already exists: {}",
                spec.name
            )));
        }
        if super::instance_types::instance_type(&spec.instance_type).is_none() {
            return Err(invalid(format!(
                "Unknown instance type: {}",
                spec.instance_type
            )));
        }
        let desired = spec.desired.unwrap_or(spec.min);
        if spec.min < 0 || spec.max < spec.min || !(spec.min..=spec.max).contains(&desired) {
            return Err(invalid(
                "MinSize <= DesiredCapacity <= MaxSize must hold, with MinSize >= 0.",
            ));
        }
        if spec.max > 1_000 {
            return Err(invalid("MaxSize can be at most 1000 in stowplan."));
        }
        let cluster = self.cluster(spec.cluster.as_deref())?.name.clone();
        let zones = if spec.availability_zones.is_empty() {
            vec![format!("{}a", self.config.region)]
        } else {
            spec.availability_zones.clone()
        };
        let uuid = self.ids.uuid();
        let arn = format!(
            "arn:aws:autoscaling:{}:{}:autoScalingGroup:{uuid}:autoScalingGroupName/{}",
            self.config.region, self.config.account, spec.name
        );
        self.auto_scaling_groups.insert(
            spec.name.clone(),
            AutoScalingGroup {
                name: spec.name.clone(),
                arn: arn.clone(),
                instance_type: spec.instance_type.clone(),
                min: spec.min,
                max: spec.max,
                desired,
                availability_zones: zones,
                cluster,
                instances: Vec::new(),
                created_at: self.now,
            },
        );
        Ok(arn)
    }

    /// `Sim.SetDesiredCapacity` (and managed scaling): within `[MinSize, MaxSize]`.
    pub fn set_desired_capacity(&mut self, reference: &str, desired: i64) -> Result<(), Error> {
        let key = self
            .group_key(reference)
            .ok_or_else(|| invalid(format!("AutoScalingGroup name not found - {reference}")))?;
        let group = self.auto_scaling_groups.get_mut(&key).expect("found above");
        if !(group.min..=group.max).contains(&desired) {
            return Err(invalid(format!(
                "New SetDesiredCapacity value {desired} is outside the group's bounds [{}, {}].",
                group.min, group.max
            )));
        }
        group.desired = desired;
        Ok(())
    }

    /// `Sim.DescribeAutoScalingGroups`: every group, or the named ones.
    pub fn describe_auto_scaling_groups(&self, names: &[String]) -> Vec<serde_json::Value> {
        self.auto_scaling_groups
            .values()
            .filter(|g| names.is_empty() || names.contains(&g.name) || names.contains(&g.arn))
            .map(|g| g.describe(|i| self.instance_protected(g, i)))
            .collect()
    }

    /// The provider (ACTIVE) whose group this is.
    fn group_provider(&self, group: &AutoScalingGroup) -> Option<&super::capacity::ProviderRecord> {
        self.capacity_providers().find(|p| {
            p.provider.status == Some(model::CapacityProviderStatus::Active)
                && self
                    .auto_scaling_group(&p.group_reference())
                    .map(|g| &g.arn)
                    == Some(&group.arn)
        })
    }

    /// CP-MANAGED-TERMINATION: scale-in protection is on while the instance runs non-daemon
    /// tasks and the group's provider has managed termination protection.
    fn instance_protected(&self, group: &AutoScalingGroup, instance: &GroupInstance) -> bool {
        let Some(provider) = self.group_provider(group) else {
            return false;
        };
        if !provider.termination_protection() {
            return false;
        }
        self.clusters
            .get(&instance.cluster)
            .is_some_and(|c| self.runs_non_daemon_task(c, &instance.container_instance_arn))
    }

    /// One tick of every group (see the module documentation for the order).
    pub(crate) fn tick_auto_scaling_groups(&mut self) {
        let names: Vec<String> = self.auto_scaling_groups.keys().cloned().collect();
        for name in names {
            self.forget_gone_instances(&name);
            self.finish_draining(&name);
            self.launch_instances(&name);
            self.scale_in_group(&name);
        }
    }

    fn instance_status(&self, instance: &GroupInstance) -> Option<InstanceStatus> {
        let cluster = self.clusters.get(&instance.cluster)?;
        let record = cluster.instances.get(&instance.container_instance_arn)?;
        cluster.state.instance(record.idx).ok().map(|i| i.status())
    }

    fn forget_gone_instances(&mut self, name: &str) {
        let gone: Vec<usize> = self.auto_scaling_groups[name]
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                self.instance_status(i)
                    .is_none_or(|s| s == InstanceStatus::Inactive)
            })
            .map(|(k, _)| k)
            .collect();
        let group = self.auto_scaling_groups.get_mut(name).expect("listed");
        for k in gone.into_iter().rev() {
            group.instances.remove(k);
        }
    }

    fn finish_draining(&mut self, name: &str) {
        let done: Vec<GroupInstance> = self.auto_scaling_groups[name]
            .instances
            .iter()
            .filter(|i| i.lifecycle == "Terminating")
            .filter(|i| {
                self.clusters
                    .get(&i.cluster)
                    .is_none_or(|c| !self.runs_non_daemon_task(c, &i.container_instance_arn))
            })
            .cloned()
            .collect();
        for instance in done {
            let _ =
                self.terminate_instance(Some(&instance.cluster), &instance.container_instance_arn);
            let group = self.auto_scaling_groups.get_mut(name).expect("listed");
            group
                .instances
                .retain(|i| i.instance_id != instance.instance_id);
        }
    }

    fn launch_instances(&mut self, name: &str) {
        loop {
            let group = &self.auto_scaling_groups[name];
            if group.in_service().count() as i64 >= group.desired {
                return;
            }
            let zone = group
                .availability_zones
                .iter()
                .min_by_key(|z| {
                    group
                        .in_service()
                        .filter(|i| &i.availability_zone == *z)
                        .count()
                })
                .cloned()
                .unwrap_or_default();
            let (kind, cluster) = (group.instance_type.clone(), group.cluster.clone());
            let Some((_, vcpus, memory, _, _)) = super::instance_types::instance_type(&kind) else {
                return;
            };
            let instance_id = format!("i-{}", self.ids.hex17());
            let document = serde_json::json!({
                "instanceId": instance_id,
                "instanceType": kind,
                "availabilityZone": zone,
                "region": self.config.region,
                "accountId": self.config.account,
                "architecture": if kind.starts_with("a1.") || kind.contains("g.") { "arm64" } else { "x86_64" },
            });
            let resource = |name: &str, value: u32| model::Resource {
                name: Some(name.to_string()),
                r#type: Some("INTEGER".to_string()),
                integer_value: Some(value as i32),
                ..Default::default()
            };
            let request = model::RegisterContainerInstanceRequest {
                cluster: Some(cluster.clone()),
                instance_identity_document: Some(document.to_string()),
                total_resources: Some(vec![
                    resource("CPU", vcpus * 1024),
                    resource("MEMORY", memory),
                ]),
                ..Default::default()
            };
            let Ok(response) = self.register_container_instance(&request) else {
                return; // the cluster is gone or full: the group stops launching
            };
            let arn = response
                .container_instance
                .and_then(|c| c.container_instance_arn)
                .unwrap_or_default();
            let now = self.now;
            let group = self.auto_scaling_groups.get_mut(name).expect("listed");
            group.instances.push(GroupInstance {
                instance_id,
                availability_zone: zone,
                cluster,
                container_instance_arn: arn,
                lifecycle: "InService".to_string(),
                launched_at: now,
            });
        }
    }

    fn scale_in_group(&mut self, name: &str) {
        loop {
            let group = &self.auto_scaling_groups[name];
            let in_service: Vec<&GroupInstance> = group.in_service().collect();
            if in_service.len() as i64 <= group.desired {
                return;
            }
            let provider = self.group_provider(group);
            let protection = provider.is_some_and(|p| p.termination_protection());
            let draining = provider.is_some_and(|p| p.managed_draining());
            let zone_count = |zone: &str| {
                in_service
                    .iter()
                    .filter(|i| i.availability_zone == zone)
                    .count()
            };
            let victim = in_service
                .iter()
                .filter(|i| {
                    !protection
                        || self.clusters.get(&i.cluster).is_none_or(|c| {
                            !self.runs_non_daemon_task(c, &i.container_instance_arn)
                        })
                })
                .max_by_key(|i| (zone_count(&i.availability_zone), -i.launched_at))
                .map(|i| (*i).clone());
            let Some(victim) = victim else {
                return; // every instance is protected (CP-MANAGED-TERMINATION)
            };
            if draining {
                let request = model::UpdateContainerInstancesStateRequest {
                    cluster: Some(victim.cluster.clone()),
                    container_instances: Some(vec![victim.container_instance_arn.clone()]),
                    status: Some(model::ContainerInstanceStatus::Draining),
                    ..Default::default()
                };
                let _ = self.update_container_instances_state(&request);
                let group = self.auto_scaling_groups.get_mut(name).expect("listed");
                if let Some(i) = group
                    .instances
                    .iter_mut()
                    .find(|i| i.instance_id == victim.instance_id)
                {
                    i.lifecycle = "Terminating".to_string();
                }
            } else {
                let _ =
                    self.terminate_instance(Some(&victim.cluster), &victim.container_instance_arn);
                let group = self.auto_scaling_groups.get_mut(name).expect("listed");
                group
                    .instances
                    .retain(|i| i.instance_id != victim.instance_id);
            }
        }
    }
}
