//! Why a control-plane call failed, in the domain's words; `api` maps each to an ECS exception.

/// A failed control-plane call. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The named cluster does not exist (or is INACTIVE).
    #[error("Cluster not found.")]
    ClusterNotFound,
    /// A parameter is invalid or out of range; the message says which.
    #[error("{0}")]
    InvalidParameter(String),
    /// A problem with a referenced resource or definition; the message says which.
    #[error("{0}")]
    Client(String),
    /// The named service does not exist.
    #[error("Service not found.")]
    ServiceNotFound,
    /// The named service is DRAINING or INACTIVE (SVC-DELETE).
    #[error("Service was not ACTIVE.")]
    ServiceNotActive,
    /// DeleteCluster while services are ACTIVE or DRAINING.
    #[error("The Cluster cannot be deleted while Services are active.")]
    ClusterContainsServices,
    /// A Put/DeleteAttributes target is not in the cluster.
    #[error("Could not find {0}")]
    TargetNotFound(String),
    /// PutAttributes would leave more than 10 custom attributes on a resource.
    #[error("{0}")]
    AttributeLimitExceeded(String),
    /// A tagging call names a resource that does not exist.
    #[error("The specified resource could not be found.")]
    ResourceNotFound(String),
    /// DeleteCluster while container instances are registered.
    #[error("The Cluster cannot be deleted while Container Instances are active or draining.")]
    ClusterContainsContainerInstances,
    /// DeleteCluster while tasks are active.
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    /// A Fargate platform version that does not exist.
    #[error("The specified platform version does not exist.")]
    PlatformUnknown(String),
    /// A quota is exceeded.
    #[error("{0}")]
    LimitExceeded(String),
    /// PutClusterCapacityProviders would remove a capacity provider in use (CP-ASSOCIATE).
    #[error("{0}")]
    ResourceInUse(String),
}

/// An `InvalidParameter` error with `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameter(message.into())
}
