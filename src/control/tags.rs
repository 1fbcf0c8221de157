//! Tags on clusters, container instances, tasks and task definitions.

use super::{Ecs, Error};
use crate::model::Tag;

/// At most this many tags per resource (MODEL `Tags`).
pub const MAX_TAGS: usize = 50;

/// Checks a tag list: ≤ 50, keys 1–128 and values ≤ 256 characters, no `aws:` prefix.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidParameter(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    for tag in tags {
        let key = tag.key.as_deref().unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(Error::InvalidParameter(
                "Tag keys must be 1-128 characters.".to_string(),
            ));
        }
        if tag.value.as_deref().unwrap_or_default().chars().count() > 256 {
            return Err(Error::InvalidParameter(
                "Tag values can have at most 256 characters.".to_string(),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::InvalidParameter(
                "Tag keys beginning with 'aws:' are reserved.".to_string(),
            ));
        }
    }
    Ok(())
}

fn merge(existing: &mut Vec<Tag>, new: &[Tag]) {
    for tag in new {
        match existing.iter_mut().find(|t| t.key == tag.key) {
            Some(old) => old.value = tag.value.clone(),
            None => existing.push(tag.clone()),
        }
    }
}

impl Ecs {
    fn tags_of(&self, arn: &str) -> Option<&Vec<Tag>> {
        if arn.contains(":task-definition/") {
            let described = self.registry.describe(arn).ok()?;
            let canonical = described.task_definition_arn.as_deref()?;
            return Some(self.task_definition_tags.get(canonical).unwrap_or(&EMPTY));
        }
        for cluster in self.clusters.values().filter(|c| c.is_active()) {
            if cluster.arn == arn {
                return Some(&cluster.tags);
            }
            if let Some(record) = cluster.instances.get(arn) {
                return Some(&record.tags);
            }
            if let Some(task) = cluster.tasks.get(arn) {
                return Some(&task.tags);
            }
        }
        None
    }

    fn tags_of_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        if arn.contains(":task-definition/") {
            let canonical = self
                .registry
                .describe(arn)
                .ok()?
                .task_definition_arn
                .clone()?;
            return Some(self.task_definition_tags.entry(canonical).or_default());
        }
        for cluster in self.clusters.values_mut().filter(|c| c.is_active()) {
            if cluster.arn == arn {
                return Some(&mut cluster.tags);
            }
            if let Some(record) = cluster.instances.get_mut(arn) {
                return Some(&mut record.tags);
            }
            if let Some(task) = cluster.tasks.get_mut(arn) {
                return Some(&mut task.tags);
            }
        }
        None
    }

    /// Records the tags given to a task definition at registration.
    pub(crate) fn set_task_definition_tags(&mut self, arn: &str, tags: Vec<Tag>) {
        self.task_definition_tags.insert(arn.to_string(), tags);
    }

    /// The tags of a task definition by its ARN.
    pub fn task_definition_tags(&self, arn: &str) -> Vec<Tag> {
        self.task_definition_tags
            .get(arn)
            .cloned()
            .unwrap_or_default()
    }

    /// ListTagsForResource.
    pub fn list_tags_for_resource(&self, arn: &str) -> Result<Vec<Tag>, Error> {
        self.tags_of(arn)
            .cloned()
            .ok_or_else(|| Error::ResourceNotFound(arn.to_string()))
    }

    /// TagResource: adds or replaces tags; the total stays within `MAX_TAGS` (50).
    pub fn tag_resource(&mut self, arn: &str, tags: &[Tag]) -> Result<(), Error> {
        check_tags(tags)?;
        let mut merged = self
            .tags_of(arn)
            .cloned()
            .ok_or_else(|| Error::ResourceNotFound(arn.to_string()))?;
        merge(&mut merged, tags);
        check_tags(&merged)?;
        if let Some(existing) = self.tags_of_mut(arn) {
            *existing = merged;
        }
        Ok(())
    }

    /// UntagResource: removes the named keys (absent keys are ignored).
    pub fn untag_resource(&mut self, arn: &str, keys: &[String]) -> Result<(), Error> {
        let existing = self
            .tags_of_mut(arn)
            .ok_or_else(|| Error::ResourceNotFound(arn.to_string()))?;
        existing.retain(|tag| !keys.iter().any(|k| Some(k) == tag.key.as_ref()));
        Ok(())
    }
}

static EMPTY: Vec<Tag> = Vec::new();
