//! Task-definition operations over the registry (TD-REG-*, TD-LIFE-*, TD-LOOKUP-*, TD-LIST).

use super::{Caller, Ecs, Error};
use crate::model::{self, TaskDefinitionStatus};
use crate::registry::{Registration, RegistryError};
use crate::validate::Severity;

fn registry_error(err: RegistryError) -> Error {
    match err {
        RegistryError::Invalid(diagnostics) => Error::Client(
            diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "Invalid task definition.".to_string()),
        ),
        RegistryError::TooManyRevisions(_) => Error::LimitExceeded(err.to_string()),
        RegistryError::TooManyReferences => Error::InvalidParameter(err.to_string()),
        other => Error::Client(other.to_string()),
    }
}

impl Ecs {
    /// RegisterTaskDefinition: validates, stores the next revision, records the caller.
    pub fn register_task_definition(
        &mut self,
        request: &model::RegisterTaskDefinitionRequest,
        caller: &Caller,
    ) -> Result<model::RegisterTaskDefinitionResponse, Error> {
        let tags = request.tags.clone().unwrap_or_default();
        super::tags::check_tags(&tags)?;
        let registration = Registration {
            registered_by: caller.principal_arn.clone(),
            at: self.timestamp(),
        };
        let definition = self
            .registry
            .register(request, &registration)
            .map_err(registry_error)?;
        let arn = definition.task_definition_arn.clone().unwrap_or_default();
        self.set_task_definition_tags(&arn, tags.clone());
        Ok(model::RegisterTaskDefinitionResponse {
            task_definition: Some(definition),
            tags: Some(tags),
            ..Default::default()
        })
    }

    /// DescribeTaskDefinition (TD-LOOKUP-*): any status when addressed by revision.
    pub fn describe_task_definition(
        &self,
        request: &model::DescribeTaskDefinitionRequest,
    ) -> Result<model::DescribeTaskDefinitionResponse, Error> {
        let reference = request.task_definition.as_deref().unwrap_or_default();
        let definition = self
            .registry
            .describe(reference)
            .map_err(|_| Error::Client("Unable to describe task definition.".to_string()))?
            .clone();
        let with_tags = super::includes_tags(request.include.iter().flatten().map(|f| f.as_str()));
        let tags = with_tags.then(|| {
            self.task_definition_tags(
                definition
                    .task_definition_arn
                    .as_deref()
                    .unwrap_or_default(),
            )
        });
        Ok(model::DescribeTaskDefinitionResponse {
            task_definition: Some(definition),
            tags,
            ..Default::default()
        })
    }

    /// DeregisterTaskDefinition (TD-LIFE-DEREGISTER).
    pub fn deregister_task_definition(
        &mut self,
        request: &model::DeregisterTaskDefinitionRequest,
    ) -> Result<model::DeregisterTaskDefinitionResponse, Error> {
        let reference = request.task_definition.as_deref().unwrap_or_default();
        let at = self.timestamp();
        let definition = self
            .registry
            .deregister(reference, at)
            .map_err(registry_error)?;
        Ok(model::DeregisterTaskDefinitionResponse {
            task_definition: Some(definition),
            ..Default::default()
        })
    }

    /// DeleteTaskDefinitions (TD-LIFE-DELETE): per-item failures; revisions no task uses any
    /// more are removed at once.
    pub fn delete_task_definitions(
        &mut self,
        request: &model::DeleteTaskDefinitionsRequest,
    ) -> Result<model::DeleteTaskDefinitionsResponse, Error> {
        let references = request.task_definitions.clone().unwrap_or_default();
        if references.is_empty() {
            return Err(Error::InvalidParameter(
                "taskDefinitions can not be empty.".to_string(),
            ));
        }
        let at = self.timestamp();
        let deletion = self
            .registry
            .delete(&references, at)
            .map_err(registry_error)?;
        let in_use: Vec<String> = self
            .clusters
            .values()
            .flat_map(|c| c.tasks.values())
            .filter(|t| t.last_status() != "STOPPED")
            .map(|t| t.task_definition_arn().to_string())
            .collect();
        self.registry.purge(|arn| in_use.iter().any(|a| a == arn));
        Ok(model::DeleteTaskDefinitionsResponse {
            task_definitions: Some(deletion.deleted),
            failures: Some(
                deletion
                    .failures
                    .into_iter()
                    .map(|(reference, reason)| model::Failure {
                        arn: Some(if reference.starts_with("arn:") {
                            reference
                        } else {
                            self.arn(&format!("task-definition/{reference}"))
                        }),
                        reason: Some(reason),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }

    /// The ARNs ListTaskDefinitions returns before paging (TD-LIST).
    pub fn task_definition_arns(
        &self,
        request: &model::ListTaskDefinitionsRequest,
    ) -> Result<Vec<String>, Error> {
        let status = request
            .status
            .as_ref()
            .map(|s| TaskDefinitionStatus::from(s.as_str()))
            .unwrap_or(TaskDefinitionStatus::Active);
        let descending = request.sort.as_ref().is_some_and(|s| s.as_str() == "DESC");
        Ok(self
            .registry
            .list(request.family_prefix.as_deref(), Some(&status), descending))
    }

    /// The families ListTaskDefinitionFamilies returns before paging (TD-LIST).
    pub fn task_definition_families(
        &self,
        request: &model::ListTaskDefinitionFamiliesRequest,
    ) -> Result<Vec<String>, Error> {
        let status = match request.status.as_ref().map(|s| s.as_str()) {
            None | Some("ALL") => None,
            Some(other) => Some(TaskDefinitionStatus::from(other)),
        };
        Ok(self.registry.families(
            request.family_prefix.as_deref().unwrap_or_default(),
            status.as_ref(),
        ))
    }
}
