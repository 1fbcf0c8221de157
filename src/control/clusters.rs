//! Clusters: create, delete, describe, list (CL-*).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{Ecs, Error, InstanceRecord, ServiceRecord, TaskRecord};
use crate::model::{self, KeyValuePair, Tag};
use crate::state::{ClusterState, InstanceStatus};

/// One cluster: its ECS record, the placement state of its instances, and its tasks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// The cluster name.
    pub name: String,
    /// `arn:aws:ecs:<region>:<account>:cluster/<name>`.
    pub arn: String,
    /// `ACTIVE` or `INACTIVE` (deleted).
    pub status: String,
    /// Tags given at creation or by TagResource.
    pub tags: Vec<Tag>,
    /// `settings` as given (containerInsights ...).
    pub settings: Vec<model::ClusterSetting>,
    /// The placement state: resources, ports, attributes, task reservations.
    pub state: ClusterState,
    /// Container instances by ARN, in registration order.
    pub instances: IndexMap<String, InstanceRecord>,
    /// Tasks by ARN, in launch order (stopped ones until they expire).
    pub tasks: IndexMap<String, TaskRecord>,
    /// Services by name, in creation order (DRAINING and INACTIVE ones included).
    #[serde(default)]
    pub services: IndexMap<String, ServiceRecord>,
    /// Capacity providers associated with the cluster, in the order given (CP-ASSOCIATE).
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    /// The cluster's default capacity provider strategy (CP-DEFAULT-STRATEGY).
    #[serde(default)]
    pub default_strategy: Vec<model::CapacityProviderStrategyItem>,
}

impl Cluster {
    fn new(name: &str, arn: String) -> Self {
        Cluster {
            name: name.to_string(),
            arn,
            status: "ACTIVE".to_string(),
            tags: Vec::new(),
            settings: Vec::new(),
            state: ClusterState::new(),
            instances: IndexMap::new(),
            tasks: IndexMap::new(),
            services: IndexMap::new(),
            capacity_providers: Vec::new(),
            default_strategy: Vec::new(),
        }
    }

    /// Whether the cluster was deleted.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }

    /// The cluster as DescribeClusters shows it, counters recomputed from the tables
    /// (CL-STATUS-COUNTERS).
    pub fn describe(&self, statistics: bool, with_tags: bool) -> model::Cluster {
        let registered = self
            .instances
            .values()
            .filter(|record| {
                matches!(
                    self.state.instance(record.idx).map(|i| i.status()),
                    Ok(InstanceStatus::Active) | Ok(InstanceStatus::Draining)
                )
            })
            .count();
        let count_tasks = |status: &str, fargate: Option<bool>| {
            self.tasks
                .values()
                .filter(|task| task.last_status() == status)
                .filter(|task| fargate.is_none_or(|f| task.is_fargate() == f))
                .count()
        };
        let mut cluster = model::Cluster {
            cluster_arn: Some(self.arn.clone()),
            cluster_name: Some(self.name.clone()),
            status: Some(self.status.clone()),
            registered_container_instances_count: Some(registered as i32),
            running_tasks_count: Some(count_tasks("RUNNING", None) as i32),
            pending_tasks_count: Some(count_tasks("PENDING", None) as i32),
            active_services_count: Some(
                self.services.values().filter(|s| s.is_active()).count() as i32
            ),
            statistics: Some(Vec::new()),
            tags: Some(Vec::new()),
            settings: Some(self.settings.clone()),
            capacity_providers: Some(self.capacity_providers.clone()),
            default_capacity_provider_strategy: Some(self.default_strategy.clone()),
            ..model::Cluster::default()
        };
        if statistics {
            let pair = |name: &str, value: usize| KeyValuePair {
                name: Some(name.to_string()),
                value: Some(value.to_string()),
                ..KeyValuePair::default()
            };
            cluster.statistics = Some(vec![
                pair("runningEC2TasksCount", count_tasks("RUNNING", Some(false))),
                pair(
                    "runningFargateTasksCount",
                    count_tasks("RUNNING", Some(true)),
                ),
                pair("pendingEC2TasksCount", count_tasks("PENDING", Some(false))),
                pair(
                    "pendingFargateTasksCount",
                    count_tasks("PENDING", Some(true)),
                ),
                pair("activeEC2ServiceCount", self.service_count("ACTIVE", false)),
                pair(
                    "activeFargateServiceCount",
                    self.service_count("ACTIVE", true),
                ),
                pair(
                    "drainingEC2ServiceCount",
                    self.service_count("DRAINING", false),
                ),
                pair(
                    "drainingFargateServiceCount",
                    self.service_count("DRAINING", true),
                ),
            ]);
        }
        if with_tags {
            cluster.tags = Some(self.tags.clone());
        }
        cluster
    }
}

/// The cluster name a `cluster` parameter names: a short name or a cluster ARN; absent means
/// `default` (ARN-IDENTIFIERS).
pub(crate) fn cluster_name(parameter: Option<&str>) -> &str {
    match parameter {
        None => "default",
        Some(text) => match text.split_once(":cluster/") {
            Some((_, name)) if text.starts_with("arn:") => name,
            _ => text,
        },
    }
}

/// ARN-NAMES: 1–255 letters, digits, `_` and `-`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Ecs {
    /// The ACTIVE cluster a `cluster` parameter names.
    pub fn cluster(&self, parameter: Option<&str>) -> Result<&Cluster, Error> {
        self.clusters
            .get(cluster_name(parameter))
            .filter(|cluster| cluster.is_active())
            .ok_or(Error::ClusterNotFound)
    }

    pub(crate) fn cluster_mut(&mut self, parameter: Option<&str>) -> Result<&mut Cluster, Error> {
        self.clusters
            .get_mut(cluster_name(parameter))
            .filter(|cluster| cluster.is_active())
            .ok_or(Error::ClusterNotFound)
    }

    /// CreateCluster: a new ACTIVE cluster, or the existing ACTIVE one of that name (CL-CREATE).
    pub fn create_cluster(
        &mut self,
        request: &model::CreateClusterRequest,
    ) -> Result<model::CreateClusterResponse, Error> {
        let name = request.cluster_name.as_deref().unwrap_or("default");
        if !valid_name(name) {
            return Err(Error::InvalidParameter(
                "Cluster name can have at most 255 characters: letters (upper and lower case), numbers, underscores and hyphens.".to_string(),
            ));
        }
        let tags = request.tags.clone().unwrap_or_default();
        super::tags::check_tags(&tags)?;
        let existing_active = self.clusters.get(name).is_some_and(Cluster::is_active);
        let providers = request.capacity_providers.clone().unwrap_or_default();
        let strategy = request
            .default_capacity_provider_strategy
            .clone()
            .unwrap_or_default();
        if !existing_active {
            self.check_association(name, &providers, &strategy)?;
        }
        if !existing_active {
            let mut cluster = Cluster::new(name, self.arn(&format!("cluster/{name}")));
            cluster.tags = tags;
            cluster.settings = request.settings.clone().unwrap_or_default();
            cluster.capacity_providers = providers;
            cluster.default_strategy = strategy;
            self.clusters.insert(name.to_string(), cluster);
        }
        let cluster = &self.clusters[name];
        Ok(model::CreateClusterResponse {
            cluster: Some(cluster.describe(false, true)),
            ..Default::default()
        })
    }

    /// DeleteCluster: refused while instances are registered or tasks are active (CL-DELETE);
    /// otherwise the cluster becomes INACTIVE and stays describable.
    pub fn delete_cluster(
        &mut self,
        request: &model::DeleteClusterRequest,
    ) -> Result<model::DeleteClusterResponse, Error> {
        let cluster = self.cluster(request.cluster.as_deref())?;
        if cluster
            .describe(false, false)
            .registered_container_instances_count
            != Some(0)
        {
            return Err(Error::ClusterContainsContainerInstances);
        }
        if cluster
            .tasks
            .values()
            .any(|task| task.last_status() != "STOPPED")
        {
            return Err(Error::ClusterContainsTasks);
        }
        if cluster.services.values().any(|s| !s.is_inactive()) {
            return Err(Error::ClusterContainsServices);
        }
        let cluster = self.cluster_mut(request.cluster.as_deref())?;
        cluster.status = "INACTIVE".to_string();
        Ok(model::DeleteClusterResponse {
            cluster: Some(cluster.describe(false, false)),
            ..Default::default()
        })
    }

    /// DescribeClusters: unknown names come back as `MISSING` failures (CL-STATUS-COUNTERS).
    pub fn describe_clusters(
        &self,
        request: &model::DescribeClustersRequest,
    ) -> Result<model::DescribeClustersResponse, Error> {
        let names: Vec<String> = request
            .clusters
            .clone()
            .unwrap_or_else(|| vec!["default".to_string()]);
        if names.len() > 100 {
            return Err(Error::InvalidParameter(
                "clusters can have at most 100 items.".to_string(),
            ));
        }
        let include = request.include.as_deref().unwrap_or_default();
        let statistics = include.iter().any(|f| f.as_str() == "STATISTICS");
        let with_tags = include.iter().any(|f| f.as_str() == "TAGS");
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for parameter in &names {
            match self.clusters.get(cluster_name(Some(parameter))) {
                Some(cluster) => clusters.push(cluster.describe(statistics, with_tags)),
                None => failures.push(model::Failure {
                    arn: Some(if parameter.starts_with("arn:") {
                        parameter.clone()
                    } else {
                        self.arn(&format!("cluster/{parameter}"))
                    }),
                    reason: Some("MISSING".to_string()),
                    ..Default::default()
                }),
            }
        }
        Ok(model::DescribeClustersResponse {
            clusters: Some(clusters),
            failures: Some(failures),
            ..Default::default()
        })
    }

    /// The ARNs of the ACTIVE clusters, in creation order (ListClusters, before paging).
    pub fn cluster_arns(&self) -> Vec<String> {
        self.clusters
            .values()
            .filter(|cluster| cluster.is_active())
            .map(|cluster| cluster.arn.clone())
            .collect()
    }
}
