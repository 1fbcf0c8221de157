//! The engine's view of one instance during a batch, as a CQL subject (PL-MEMBEROF).

use crate::state::Instance;

use super::cql::Subject;

/// An instance as the state has it plus the `placed` tasks of `group` the batch put there so
/// far, which count for `task:group` and `runningTasksCount` (CQL-TASK-GROUP).
#[derive(Debug)]
pub(super) struct BatchView<'a> {
    pub(super) instance: &'a Instance,
    pub(super) group: &'a str,
    pub(super) placed: u32,
}

impl Subject for BatchView<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.instance.attribute(name)
    }

    fn agent_connected(&self) -> bool {
        self.instance.agent_connected()
    }

    fn agent_version(&self) -> Option<&str> {
        self.instance.agent_version()
    }

    fn ec2_instance_id(&self) -> Option<&str> {
        self.instance.ec2_instance_id()
    }

    fn registered_at(&self) -> Option<i64> {
        Some(self.instance.registered_at())
    }

    fn running_tasks_count(&self) -> u64 {
        self.instance.running_tasks_count() + u64::from(self.placed)
    }

    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        (self.placed > 0 && pred(self.group))
            || self.instance.groups().keys().any(|group| pred(group))
    }
}
