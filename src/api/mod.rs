//! The ECS-API-shaped facade: operation name + request JSON → response JSON, or an error with
//! ECS's exception name.
//!
//! [`call`] is the one entry point test harnesses (the scenario runner, the wire server) use.
//! Requests and responses follow the AWS shapes of `ecs-service-2.json`; errors carry the
//! exception shape name (`ClientException`, `InvalidParameterException`,
//! `ClusterNotFoundException`, ...) and a message, ECS's own where it is known. Harness actions
//! (`Sim.*`) go through the same door.
//!
//! A call that returns an error changes nothing (ERR-ATOMIC).
//!
//! ```
//! use stowplan::api;
//! use stowplan::control::{Caller, Ecs, EcsConfig};
//! let mut ecs = Ecs::new(EcsConfig::default());
//! let root = Caller::root("123456789012");
//! let created = api::call(&mut ecs, "CreateCluster", &serde_json::json!({"clusterName": "prod"}), &root)?;
//! assert_eq!(created["cluster"]["status"], "ACTIVE");
//! let err = api::call(&mut ecs, "RunTask", &serde_json::json!({"cluster": "nope", "taskDefinition": "x"}), &root)
//!     .unwrap_err();
//! assert_eq!(err.error_type, "ClusterNotFoundException");
//! # Ok::<(), stowplan::api::ApiError>(())
//! ```

pub mod authz;
mod iam_sim;
pub mod names;
mod paging;
mod sim;

use serde::Serialize;
use serde_json::Value;

use crate::control::{Caller, Ecs, Error};
use crate::model::{self, FromJson};

pub use paging::{MAX_PAGE_SIZE, paginate};

/// A failed call: the exception's shape name and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct ApiError {
    /// The exception shape name, e.g. `ClusterNotFoundException`; or `UnsupportedOperation`
    /// for an ECS operation stowplan does not implement, `UnknownOperationException` for a
    /// name ECS does not have, `ScenarioError` for a malformed harness action.
    #[serde(rename = "type")]
    pub error_type: String,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error of `error_type` with `message`.
    pub fn new(error_type: &str, message: impl Into<String>) -> Self {
        ApiError {
            error_type: error_type.to_string(),
            message: message.into(),
        }
    }

    /// The HTTP status ECS's JSON protocol sends with this error: 500 for `ServerException`,
    /// 400 for everything else.
    pub fn http_status(&self) -> u16 {
        if self.error_type == "ServerException" {
            500
        } else {
            400
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let exception = match &err {
            Error::ClusterNotFound => "ClusterNotFoundException",
            Error::InvalidParameter(_) => "InvalidParameterException",
            Error::Client(_) => "ClientException",
            Error::ServiceNotFound => "ServiceNotFoundException",
            Error::ServiceNotActive => "ServiceNotActiveException",
            Error::ClusterContainsServices => "ClusterContainsServicesException",
            Error::TargetNotFound(_) => "TargetNotFoundException",
            Error::AttributeLimitExceeded(_) => "AttributeLimitExceededException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::ClusterContainsContainerInstances => {
                "ClusterContainsContainerInstancesException"
            }
            Error::ClusterContainsTasks => "ClusterContainsTasksException",
            Error::PlatformUnknown(_) => "PlatformUnknownException",
            Error::LimitExceeded(_) => "LimitExceededException",
            Error::ResourceInUse(_) => "ResourceInUseException",
        };
        ApiError::new(exception, err.to_string())
    }
}

/// Reads a request of shape `T`; a member of the wrong JSON type is an
/// `InvalidParameterException` naming it.
fn read<T: FromJson>(request: &Value) -> Result<T, ApiError> {
    if !request.is_object() {
        return Err(ApiError::new(
            "InvalidParameterException",
            "The request body must be a JSON object.",
        ));
    }
    T::from_value(request)
        .map_err(|err| ApiError::new("InvalidParameterException", err.to_string()))
}

/// What a call's response is written into: a `serde_json::Value` ([`call`]) or JSON text
/// ([`call_json`], which never builds the `Value`).
trait Response: Sized {
    /// Writes a typed response.
    fn write<T: Serialize>(response: T) -> Result<Self, ApiError>;
    /// Takes a response that is already a `Value` (the harness actions).
    fn from_value(value: Value) -> Result<Self, ApiError>;
    /// Takes a response already written as JSON text (RunTask).
    fn from_text(text: String) -> Result<Self, ApiError>;
}

fn unserialisable(err: serde_json::Error) -> ApiError {
    ApiError::new(
        "ServerException",
        format!("response not serialisable: {err}"),
    )
}

impl Response for Value {
    fn write<T: Serialize>(response: T) -> Result<Self, ApiError> {
        serde_json::to_value(response).map_err(unserialisable)
    }

    fn from_value(value: Value) -> Result<Self, ApiError> {
        Ok(value)
    }

    fn from_text(text: String) -> Result<Self, ApiError> {
        crate::json::parse(&text)
            .map_err(|err| ApiError::new("ServerException", format!("response not JSON: {err}")))
    }
}

impl Response for String {
    fn write<T: Serialize>(response: T) -> Result<Self, ApiError> {
        // Most responses are small; RunTask's (about 1.4 KB per task) and Describe*'s are
        // not. One 8 KiB buffer to start with spares the doubling reallocations (and the
        // allocator's consolidation runs each large request triggers).
        let mut out = Vec::with_capacity(8 * 1024);
        serde_json::to_writer(&mut out, &response).map_err(unserialisable)?;
        String::from_utf8(out)
            .map_err(|err| ApiError::new("ServerException", format!("response not UTF-8: {err}")))
    }

    fn from_value(value: Value) -> Result<Self, ApiError> {
        serde_json::to_string(&value).map_err(unserialisable)
    }

    fn from_text(text: String) -> Result<Self, ApiError> {
        Ok(text)
    }
}

/// Runs one ECS operation (or `Sim.*` harness action) by name.
pub fn call(
    ecs: &mut Ecs,
    operation: &str,
    request: &Value,
    caller: &Caller,
) -> Result<Value, ApiError> {
    dispatch(ecs, operation, request, caller)
}

/// [`call`] with JSON text in and out, as the wire server and benchmarks use it: the request
/// body is parsed (at most [`crate::json::MAX_JSON_DEPTH`] levels deep) and the response is written
/// straight to text, without an intermediate `serde_json::Value`. Same checks, same errors,
/// same bytes as `serde_json::to_string(&call(..)?)`.
///
/// ```
/// use stowplan::api;
/// use stowplan::control::{Caller, Ecs, EcsConfig};
/// let mut ecs = Ecs::new(EcsConfig::default());
/// let root = Caller::root("123456789012");
/// let body = api::call_json(&mut ecs, "CreateCluster", r#"{"clusterName": "prod"}"#, &root)?;
/// assert!(body.starts_with(r#"{"cluster":{"#));
/// # Ok::<(), stowplan::api::ApiError>(())
/// ```
pub fn call_json(
    ecs: &mut Ecs,
    operation: &str,
    request: &str,
    caller: &Caller,
) -> Result<String, ApiError> {
    let request = crate::json::parse(request)
        .map_err(|err| ApiError::new("SerializationException", err.to_string()))?;
    dispatch(ecs, operation, &request, caller)
}

fn respond<R: Response, T: Serialize>(response: T) -> Result<R, ApiError> {
    R::write(response)
}

fn dispatch<R: Response>(
    ecs: &mut Ecs,
    operation: &str,
    request: &Value,
    caller: &Caller,
) -> Result<R, ApiError> {
    if let Some(action) = operation.strip_prefix("Sim.") {
        return R::from_value(sim::call(ecs, action, request)?);
    }
    // Permissions (issue 10): every ECS operation is authorized before it runs; the root
    // caller passes without evaluation.
    if names::OPERATIONS.contains(&operation) {
        authz::authorize(ecs, operation, request, caller)?;
    }
    match operation {
        "CreateCluster" => respond(ecs.create_cluster(&read(request)?)?),
        "DeleteCluster" => respond(ecs.delete_cluster(&read(request)?)?),
        "DescribeClusters" => respond(ecs.describe_clusters(&read(request)?)?),
        "ListClusters" => {
            let request: model::ListClustersRequest = read(request)?;
            let (arns, next_token) = paginate(
                ecs.cluster_arns(),
                request.max_results,
                request.next_token.as_deref(),
            )?;
            respond(model::ListClustersResponse {
                cluster_arns: Some(arns),
                next_token,
                ..Default::default()
            })
        }
        "RegisterTaskDefinition" => {
            if !request.is_object() {
                return Err(ApiError::new(
                    "ClientException",
                    "The request body must be a JSON object.",
                ));
            }
            // Shape errors are reported by validation (TD-SHAPE) as ClientException.
            let (parsed, _) = model::RegisterTaskDefinitionRequest::read(request);
            respond(ecs.register_task_definition(&parsed.unwrap_or_default(), caller)?)
        }
        "DeregisterTaskDefinition" => respond(ecs.deregister_task_definition(&read(request)?)?),
        "DeleteTaskDefinitions" => respond(ecs.delete_task_definitions(&read(request)?)?),
        "DescribeTaskDefinition" => respond(ecs.describe_task_definition(&read(request)?)?),
        "ListTaskDefinitions" => {
            let request: model::ListTaskDefinitionsRequest = read(request)?;
            let all = ecs.task_definition_arns(&request)?;
            let (arns, next_token) =
                paginate(all, request.max_results, request.next_token.as_deref())?;
            respond(model::ListTaskDefinitionsResponse {
                task_definition_arns: Some(arns),
                next_token,
                ..Default::default()
            })
        }
        "ListTaskDefinitionFamilies" => {
            let request: model::ListTaskDefinitionFamiliesRequest = read(request)?;
            let all = ecs.task_definition_families(&request)?;
            let (families, next_token) =
                paginate(all, request.max_results, request.next_token.as_deref())?;
            respond(model::ListTaskDefinitionFamiliesResponse {
                families: Some(families),
                next_token,
                ..Default::default()
            })
        }
        "RegisterContainerInstance" => respond(ecs.register_container_instance(&read(request)?)?),
        "DeregisterContainerInstance" => {
            respond(ecs.deregister_container_instance(&read(request)?)?)
        }
        "DescribeContainerInstances" => respond(ecs.describe_container_instances(&read(request)?)?),
        "ListContainerInstances" => {
            let request: model::ListContainerInstancesRequest = read(request)?;
            let all = ecs.container_instance_arns(&request)?;
            let (arns, next_token) =
                paginate(all, request.max_results, request.next_token.as_deref())?;
            respond(model::ListContainerInstancesResponse {
                container_instance_arns: Some(arns),
                next_token,
                ..Default::default()
            })
        }
        "UpdateContainerInstancesState" => {
            respond(ecs.update_container_instances_state(&read(request)?)?)
        }
        "PutAttributes" => respond(ecs.put_attributes(&read(request)?)?),
        "DeleteAttributes" => respond(ecs.delete_attributes(&read(request)?)?),
        "ListAttributes" => {
            let request: model::ListAttributesRequest = read(request)?;
            let all = ecs.list_attributes(&request)?;
            let (attributes, next_token) =
                paginate(all, request.max_results, request.next_token.as_deref())?;
            respond(model::ListAttributesResponse {
                attributes: Some(attributes),
                next_token,
                ..Default::default()
            })
        }
        "RunTask" => R::from_text(ecs.run_task_json(&read(request)?)?.to_json_string()),
        "StartTask" => respond(ecs.start_task(&read(request)?)?),
        "StopTask" => respond(ecs.stop_task(&read(request)?)?),
        "DescribeTasks" => respond(ecs.describe_tasks(&read(request)?)?),
        "ListTasks" => {
            let request: model::ListTasksRequest = read(request)?;
            let all = ecs.task_arns(&request)?;
            let (arns, next_token) =
                paginate(all, request.max_results, request.next_token.as_deref())?;
            respond(model::ListTasksResponse {
                task_arns: Some(arns),
                next_token,
                ..Default::default()
            })
        }
        "CreateService" => respond(ecs.create_service(&read(request)?, caller)?),
        "UpdateService" => respond(ecs.update_service(&read(request)?)?),
        "DeleteService" => respond(ecs.delete_service(&read(request)?)?),
        "DescribeServices" => respond(ecs.describe_services(&read(request)?)?),
        "ListServices" => {
            let request: model::ListServicesRequest = read(request)?;
            let all = ecs.service_arns(&request)?;
            // SVC-LIST-DESCRIBE: ListServices pages hold 10 by default.
            let (arns, next_token) = paginate(
                all,
                Some(request.max_results.unwrap_or(10)),
                request.next_token.as_deref(),
            )?;
            respond(model::ListServicesResponse {
                service_arns: Some(arns),
                next_token,
                ..Default::default()
            })
        }
        "CreateCapacityProvider" => respond(ecs.create_capacity_provider(&read(request)?)?),
        "UpdateCapacityProvider" => respond(ecs.update_capacity_provider(&read(request)?)?),
        "DeleteCapacityProvider" => respond(ecs.delete_capacity_provider(&read(request)?)?),
        "DescribeCapacityProviders" => {
            let request: model::DescribeCapacityProvidersRequest = read(request)?;
            let (all, failures) = ecs.describe_capacity_providers(&request)?;
            // DescribeCapacityProviders pages hold 1 to 10 (10 by default).
            if request.max_results.is_some_and(|n| !(1..=10).contains(&n)) {
                return Err(ApiError::new(
                    "InvalidParameterException",
                    "maxResults must be between 1 and 10.",
                ));
            }
            let (providers, next_token) = paginate(
                all,
                Some(request.max_results.unwrap_or(10)),
                request.next_token.as_deref(),
            )?;
            respond(model::DescribeCapacityProvidersResponse {
                capacity_providers: Some(providers),
                failures: Some(failures),
                next_token,
                ..Default::default()
            })
        }
        "PutClusterCapacityProviders" => {
            respond(ecs.put_cluster_capacity_providers(&read(request)?)?)
        }
        "TagResource" => {
            let request: model::TagResourceRequest = read(request)?;
            let arn = resource_arn(request.resource_arn.as_deref())?;
            ecs.tag_resource(arn, request.tags.as_deref().unwrap_or_default())?;
            respond(model::TagResourceResponse::default())
        }
        "UntagResource" => {
            let request: model::UntagResourceRequest = read(request)?;
            let arn = resource_arn(request.resource_arn.as_deref())?;
            ecs.untag_resource(arn, request.tag_keys.as_deref().unwrap_or_default())?;
            respond(model::UntagResourceResponse::default())
        }
        "ListTagsForResource" => {
            let request: model::ListTagsForResourceRequest = read(request)?;
            let arn = resource_arn(request.resource_arn.as_deref())?;
            respond(model::ListTagsForResourceResponse {
                tags: Some(ecs.list_tags_for_resource(arn)?),
                ..Default::default()
            })
        }
        other if names::OPERATIONS.contains(&other) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("{other} is an ECS operation this version of stowplan does not implement."),
        )),
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("{other} is not an ECS operation."),
        )),
    }
}

fn resource_arn(arn: Option<&str>) -> Result<&str, ApiError> {
    match arn {
        Some(arn) if arn.starts_with("arn:") => Ok(arn),
        _ => Err(ApiError::new(
            "InvalidParameterException",
            "resourceArn must be an ARN.",
        )),
    }
}
