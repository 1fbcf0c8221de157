//! Cluster state as data: container instances, their registered and remaining resources, ports,
//! GPUs, ENIs, attributes, and the tasks that hold reservations on them.
//!
//! [`ClusterState`] is the single owner. Instances live in registration order and are named by
//! [`InstanceIdx`]; tasks by [`TaskId`]. Every mutation validates its input first and returns a
//! typed [`StateError`] without changing anything when it refuses; nothing here panics on bad
//! input.
//!
//! # Invariants
//!
//! - **Accounting (CI-REMAINING, RES-RELEASE):** for every instance, remaining CPU / memory equal
//!   registered minus the sum over the tasks it holds; remaining never underflows.
//! - **Ports:** each (port, protocol) is held at most once per instance, either as a registered
//!   reserved port or by one task, and at most [`MAX_RESERVED_PORTS`] per protocol.
//! - **GPUs and ENIs:** a GPU is assigned to at most one task; ENI use never exceeds a known
//!   capacity.
//! - **Order:** instances keep registration order; deregistered instances stay as `INACTIVE`
//!   holding no task, so indexes are never reused.
//! - **Snapshots:** serialising and deserialising gives an equal state; the serialised form lists
//!   instances in registration order and tasks by id, so equal states give equal bytes.
//!
//! The hot per-instance numbers placement reads on every candidate (remaining CPU, remaining
//! memory, candidate flag, attribute value ids) are kept in flat arrays, updated incrementally.

mod error;
mod ids;
mod snapshot;
mod types;

use std::collections::{BTreeMap, BTreeSet};

pub use error::StateError;
pub use ids::{InstanceIdx, TaskId};
pub use snapshot::{InstanceSnapshot, StateSnapshot, TaskSnapshot};
pub use types::{
    GpuSet, InstanceSpec, InstanceStatus, MAX_ATTRIBUTE_LEN, MAX_GPUS_PER_INSTANCE, MAX_GROUP_LEN,
    MAX_RESERVED_PORTS, Protocol, Reservation, Task, is_valid_attribute_name,
    is_valid_attribute_value,
};

/// One container instance: what it registered, what it holds, and how it is reached.
///
/// Read it through [`ClusterState::instance`]; change it through the `ClusterState` operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    spec: InstanceSpec,
    status: InstanceStatus,
    agent_connected: bool,
    /// Registered reserved ports plus static ports of tasks, sorted, per protocol.
    ports_tcp_in_use: Vec<u16>,
    ports_udp_in_use: Vec<u16>,
    registered_gpus: GpuSet,
    gpus_assigned: GpuSet,
    eni_used: u32,
    tasks: BTreeSet<TaskId>,
    groups: BTreeMap<String, u32>,
}

impl Instance {
    /// Returns the container instance id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Returns the container instance ARN (empty when none was registered).
    #[must_use]
    pub fn arn(&self) -> &str {
        &self.spec.arn
    }

    /// Returns the EC2 instance id, if known.
    #[must_use]
    pub fn ec2_instance_id(&self) -> Option<&str> {
        self.spec.ec2_instance_id.as_deref()
    }

    /// Returns what the instance registered, with its attributes as they are now.
    #[must_use]
    pub fn spec(&self) -> &InstanceSpec {
        &self.spec
    }

    /// Returns the status.
    #[must_use]
    pub fn status(&self) -> InstanceStatus {
        self.status
    }

    /// Returns whether the agent is connected (CI-AGENT-CONNECTED).
    #[must_use]
    pub fn agent_connected(&self) -> bool {
        self.agent_connected
    }

    /// Returns the agent version, if known.
    #[must_use]
    pub fn agent_version(&self) -> Option<&str> {
        self.spec.agent_version.as_deref()
    }

    /// Returns the registration time in epoch seconds.
    #[must_use]
    pub fn registered_at(&self) -> i64 {
        self.spec.registered_at
    }

    /// Returns the attributes, name → optional value, sorted by name.
    #[must_use]
    pub fn attributes(&self) -> &BTreeMap<String, Option<String>> {
        &self.spec.attributes
    }

    /// Returns the attribute `name`: `None` when absent, `Some(None)` when present without value.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.spec.attributes.get(name).map(Option::as_deref)
    }

    /// Returns the ports in use for `protocol`, sorted: reserved at registration plus the static
    /// ports of the tasks on the instance (CI-REMAINING lists ports in use, not free ports).
    #[must_use]
    pub fn ports_in_use(&self, protocol: Protocol) -> &[u16] {
        match protocol {
            Protocol::Tcp => &self.ports_tcp_in_use,
            Protocol::Udp => &self.ports_udp_in_use,
        }
    }

    /// Returns the set of all registered GPUs.
    #[must_use]
    pub fn registered_gpus(&self) -> GpuSet {
        self.registered_gpus
    }

    /// Returns the GPUs assigned to tasks.
    #[must_use]
    pub fn gpus_assigned(&self) -> GpuSet {
        self.gpus_assigned
    }

    /// Returns the GPUs not assigned to any task.
    #[must_use]
    pub fn gpus_free(&self) -> GpuSet {
        GpuSet(self.registered_gpus.0 & !self.gpus_assigned.0)
    }

    /// Returns the GPU ids of `set`, in registration order.
    pub fn gpu_ids(&self, set: GpuSet) -> impl Iterator<Item = &str> {
        set.positions()
            .filter_map(|k| self.spec.gpu_ids.get(k).map(String::as_str))
    }

    /// Returns the ENI capacity (`None` = unknown, treated as unlimited).
    #[must_use]
    pub fn eni_capacity(&self) -> Option<u32> {
        self.spec.eni_capacity
    }

    /// Returns how many ENI attachments tasks hold.
    #[must_use]
    pub fn eni_used(&self) -> u32 {
        self.eni_used
    }

    /// Returns the ids of the tasks on the instance, in id order.
    #[must_use]
    pub fn task_ids(&self) -> &BTreeSet<TaskId> {
        &self.tasks
    }

    /// Returns the number of tasks holding a reservation on the instance (`runningTasksCount`).
    #[must_use]
    pub fn running_tasks_count(&self) -> u64 {
        self.tasks.len() as u64
    }

    /// Returns the task groups present on the instance with their task counts, sorted by name.
    #[must_use]
    pub fn groups(&self) -> &BTreeMap<String, u32> {
        &self.groups
    }
}

/// The values one attribute name takes across the instances, interned to small integers so that
/// spreading on `attribute:<name>` (PL-SPREAD) reads one array cell per candidate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributeColumn {
    cells: Vec<u32>,
    values: Vec<Option<String>>,
    lookup: BTreeMap<Option<String>, u32>,
}

impl AttributeColumn {
    /// The cell value of an instance that lacks the attribute.
    pub const MISSING: u32 = u32::MAX;

    /// Returns the value id of the instance's attribute, or [`AttributeColumn::MISSING`].
    #[must_use]
    pub fn value_id(&self, instance_idx: InstanceIdx) -> u32 {
        self.cells
            .get(instance_idx.as_usize())
            .copied()
            .unwrap_or(Self::MISSING)
    }

    /// Returns the per-instance value ids, indexed by [`InstanceIdx`].
    #[must_use]
    pub fn cells(&self) -> &[u32] {
        &self.cells
    }

    /// Returns how many distinct values were ever interned; every value id is below this.
    #[must_use]
    pub fn n_values(&self) -> usize {
        self.values.len()
    }

    /// Returns the value of a value id.
    #[must_use]
    pub fn value(&self, value_id: u32) -> Option<Option<&str>> {
        self.values.get(value_id as usize).map(Option::as_deref)
    }

    fn set(
        &mut self,
        instance_idx: InstanceIdx,
        n_instances: usize,
        value: Option<&Option<String>>,
    ) {
        if self.cells.len() < n_instances {
            self.cells.resize(n_instances, Self::MISSING);
        }
        let cell = match value {
            None => Self::MISSING,
            Some(value) => match self.lookup.get(value) {
                Some(&value_id) => value_id,
                None => {
                    // Value ids stay below u32::MAX because there are fewer instances than that
                    // and each instance introduces at most one new value per call.
                    let value_id = u32::try_from(self.values.len()).unwrap_or(Self::MISSING - 1);
                    self.values.push(value.clone());
                    self.lookup.insert(value.clone(), value_id);
                    value_id
                }
            },
        };
        self.cells[instance_idx.as_usize()] = cell;
    }
}

/// The container instances of one cluster and the tasks holding reservations on them.
///
/// `Clone` copies everything (a few hundred bytes per instance plus the tasks); use it for
/// what-if snapshots. Equality compares the serialised form, so a restored state equals the
/// original even though interning tables may differ inside.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    instances: Vec<Instance>,
    by_id: BTreeMap<String, InstanceIdx>,
    by_arn: BTreeMap<String, InstanceIdx>,
    remaining_cpu: Vec<u32>,
    remaining_memory: Vec<u32>,
    candidate: Vec<bool>,
    tasks: BTreeMap<TaskId, Task>,
    group_members: BTreeMap<String, BTreeMap<InstanceIdx, u32>>,
    columns: BTreeMap<String, AttributeColumn>,
    next_task_id: u64,
    version: u64,
    placement_rng: u64,
    /// Derived data, not part of the value: the placement engine's persistent index, told about
    /// every change to an instance (`touch`). A clone starts with an empty one.
    placement_index: crate::placement::PlacementIndex,
}

impl PartialEq for ClusterState {
    fn eq(&self, other: &ClusterState) -> bool {
        self.to_snapshot() == other.to_snapshot()
    }
}

impl Eq for ClusterState {}

impl ClusterState {
    /// Returns an empty state.
    #[must_use]
    pub fn new() -> ClusterState {
        ClusterState::default()
    }

    /// Returns the number of instances ever registered (`INACTIVE` ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Returns true when no instance was ever registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Returns the instance at `instance_idx`.
    ///
    /// # Errors
    ///
    /// [`StateError::UnknownInstance`] when no instance has that index.
    pub fn instance(&self, instance_idx: InstanceIdx) -> Result<&Instance, StateError> {
        self.instances
            .get(instance_idx.as_usize())
            .ok_or(StateError::UnknownInstance(instance_idx))
    }

    /// Returns every instance with its index, in registration order.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = (InstanceIdx, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .map(|(position, instance)| {
                // Positions are below u32::MAX: `register` refuses more instances.
                (InstanceIdx(position as u32), instance)
            })
    }

    /// Returns the index of the instance with this container instance id.
    #[must_use]
    pub fn find_by_id(&self, id: &str) -> Option<InstanceIdx> {
        self.by_id.get(id).copied()
    }

    /// Returns the index of the instance with this ARN.
    #[must_use]
    pub fn find_by_arn(&self, arn: &str) -> Option<InstanceIdx> {
        self.by_arn.get(arn).copied()
    }

    /// Returns the remaining CPU units of every instance, indexed by [`InstanceIdx`].
    #[must_use]
    pub fn remaining_cpu(&self) -> &[u32] {
        &self.remaining_cpu
    }

    /// Returns the remaining MiB of every instance, indexed by [`InstanceIdx`].
    #[must_use]
    pub fn remaining_memory(&self) -> &[u32] {
        &self.remaining_memory
    }

    /// Returns, per instance, whether it is a placement candidate: `ACTIVE` with its agent
    /// connected (PL-CANDIDATES).
    #[must_use]
    pub fn candidates(&self) -> &[bool] {
        &self.candidate
    }

    /// Returns the attribute column for `name`, if any instance ever carried it.
    #[must_use]
    pub fn attribute_column(&self, name: &str) -> Option<&AttributeColumn> {
        self.columns.get(name)
    }

    /// Returns the instances holding tasks of `group`, with how many each holds, in index order.
    pub fn group_members(&self, group: &str) -> impl Iterator<Item = (InstanceIdx, u32)> + '_ {
        self.group_members
            .get(group)
            .into_iter()
            .flat_map(|members| members.iter().map(|(&idx, &count)| (idx, count)))
    }

    /// Returns the task with this id, if it holds a reservation.
    #[must_use]
    pub fn task(&self, task_id: TaskId) -> Option<&Task> {
        self.tasks.get(&task_id)
    }

    /// Returns every task holding a reservation, in id order.
    pub fn tasks(&self) -> impl ExactSizeIterator<Item = (TaskId, &Task)> {
        self.tasks.iter().map(|(&task_id, task)| (task_id, task))
    }

    /// Returns the mutation counter: it increases by one on every successful change.
    ///
    /// A [`Plan`](crate::placement::Plan) records it and refuses to apply to a state that has
    /// changed since.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The placement engine's persistent index (derived data, see `placement::persistent`).
    pub(crate) fn placement_index(&self) -> &crate::placement::PlacementIndex {
        &self.placement_index
    }

    /// Returns the state of the placement random generator, used by requests that bring no seed.
    #[must_use]
    pub fn placement_rng(&self) -> u64 {
        self.placement_rng
    }

    /// Sets the state of the placement random generator (done by `Plan::apply`).
    pub fn set_placement_rng(&mut self, placement_rng: u64) {
        self.placement_rng = placement_rng;
        self.version += 1;
    }

    /// Registers an instance as `ACTIVE` with its agent connected (CI-REGISTER-*); its remaining
    /// resources start equal to the registered ones (CI-REMAINING).
    ///
    /// # Errors
    ///
    /// Duplicate or empty id, duplicate ARN, port 0, a port listed twice, more than
    /// [`MAX_RESERVED_PORTS`] reserved ports of a protocol, more than [`MAX_GPUS_PER_INSTANCE`]
    /// GPUs, an empty or repeated GPU id, or an attribute breaking CI-ATTR-NAME-VALUE.
    pub fn register(&mut self, spec: InstanceSpec) -> Result<InstanceIdx, StateError> {
        if spec.id.is_empty() {
            return Err(StateError::EmptyInstanceId);
        }
        if self.by_id.contains_key(&spec.id) {
            return Err(StateError::DuplicateInstanceId(spec.id));
        }
        if !spec.arn.is_empty() && self.by_arn.contains_key(&spec.arn) {
            return Err(StateError::DuplicateInstanceArn(spec.arn));
        }
        let instance_idx = InstanceIdx::from_usize(self.instances.len())
            .filter(|idx| idx.0 < u32::MAX)
            .ok_or(StateError::TooManyInstances {
                max: u64::from(u32::MAX),
            })?;
        let ports_tcp_in_use = sorted_ports(&spec.ports_tcp, Protocol::Tcp)?;
        let ports_udp_in_use = sorted_ports(&spec.ports_udp, Protocol::Udp)?;
        if spec.gpu_ids.len() > MAX_GPUS_PER_INSTANCE {
            return Err(StateError::TooManyGpus {
                requested: spec.gpu_ids.len(),
                max: MAX_GPUS_PER_INSTANCE,
            });
        }
        let mut seen = BTreeSet::new();
        for gpu_id in &spec.gpu_ids {
            if gpu_id.is_empty() || !seen.insert(gpu_id.as_str()) {
                return Err(StateError::InvalidGpuId(gpu_id.clone()));
            }
        }
        for (name, value) in &spec.attributes {
            check_attribute(name, value.as_deref())?;
        }

        let registered_gpus = GpuSet::first(spec.gpu_ids.len());
        self.by_id.insert(spec.id.clone(), instance_idx);
        if !spec.arn.is_empty() {
            self.by_arn.insert(spec.arn.clone(), instance_idx);
        }
        self.remaining_cpu.push(spec.cpu);
        self.remaining_memory.push(spec.memory);
        self.candidate.push(true);
        let n_instances = self.instances.len() + 1;
        for (name, value) in &spec.attributes {
            self.columns.entry(name.clone()).or_default().set(
                instance_idx,
                n_instances,
                Some(value),
            );
        }
        self.instances.push(Instance {
            spec,
            status: InstanceStatus::Active,
            agent_connected: true,
            ports_tcp_in_use,
            ports_udp_in_use,
            registered_gpus,
            gpus_assigned: GpuSet::EMPTY,
            eni_used: 0,
            tasks: BTreeSet::new(),
            groups: BTreeMap::new(),
        });
        self.placement_index.touch(instance_idx.as_usize());
        self.version += 1;
        Ok(instance_idx)
    }

    /// Sets the status of an instance (CI-STATUS-TRANSITIONS). Setting the current status again
    /// is a no-op that still counts as a change.
    ///
    /// # Errors
    ///
    /// Unknown instance; `INACTIVE` as the target (use [`ClusterState::deregister`]); an
    /// instance that is already `INACTIVE`.
    pub fn set_status(
        &mut self,
        instance_idx: InstanceIdx,
        status: InstanceStatus,
    ) -> Result<(), StateError> {
        if status == InstanceStatus::Inactive {
            return Err(StateError::StatusNotSettable(status));
        }
        let instance = self.live_instance_mut(instance_idx)?;
        instance.status = status;
        self.refresh_candidate(instance_idx);
        self.placement_index.touch(instance_idx.as_usize());
        self.version += 1;
        Ok(())
    }

    /// Sets whether the instance's agent is connected (CI-AGENT-CONNECTED).
    ///
    /// # Errors
    ///
    /// Unknown instance.
    pub fn set_agent_connected(
        &mut self,
        instance_idx: InstanceIdx,
        agent_connected: bool,
    ) -> Result<(), StateError> {
        let instance = self
            .instances
            .get_mut(instance_idx.as_usize())
            .ok_or(StateError::UnknownInstance(instance_idx))?;
        instance.agent_connected = agent_connected;
        self.refresh_candidate(instance_idx);
        self.placement_index.touch(instance_idx.as_usize());
        self.version += 1;
        Ok(())
    }

    /// Puts (adds or replaces) an attribute on an instance (CI-ATTR-PUT). The per-resource limit
    /// of 10 custom attributes is the API layer's to enforce.
    ///
    /// # Errors
    ///
    /// Unknown instance; a name or value breaking CI-ATTR-NAME-VALUE.
    pub fn put_attribute(
        &mut self,
        instance_idx: InstanceIdx,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), StateError> {
        check_attribute(name, value)?;
        let n_instances = self.instances.len();
        let instance = self
            .instances
            .get_mut(instance_idx.as_usize())
            .ok_or(StateError::UnknownInstance(instance_idx))?;
        let value = value.map(str::to_owned);
        self.columns.entry(name.to_owned()).or_default().set(
            instance_idx,
            n_instances,
            Some(&value),
        );
        instance.spec.attributes.insert(name.to_owned(), value);
        self.placement_index.touch(instance_idx.as_usize());
        self.version += 1;
        Ok(())
    }

    /// Deletes an attribute from an instance (CI-ATTR-DELETE); returns whether it was present.
    /// Deleting an absent attribute is not an error (inferred). Refusing built-in `ecs.*` names
    /// is the API layer's decision.
    ///
    /// # Errors
    ///
    /// Unknown instance.
    pub fn delete_attribute(
        &mut self,
        instance_idx: InstanceIdx,
        name: &str,
    ) -> Result<bool, StateError> {
        let n_instances = self.instances.len();
        let instance = self
            .instances
            .get_mut(instance_idx.as_usize())
            .ok_or(StateError::UnknownInstance(instance_idx))?;
        let was_present = instance.spec.attributes.remove(name).is_some();
        if was_present {
            if let Some(column) = self.columns.get_mut(name) {
                column.set(instance_idx, n_instances, None);
            }
            self.placement_index.touch(instance_idx.as_usize());
            self.version += 1;
        }
        Ok(was_present)
    }

    /// Adds a task holding `reservation` on an instance and returns its id (RES-*). The state
    /// checks only what keeps it consistent: the instance is not `INACTIVE`, the resources are
    /// there, no port is booked twice, the GPUs are free, an ENI slot is left. Whether the
    /// instance is a placement candidate is the placement engine's business.
    ///
    /// # Errors
    ///
    /// Unknown or `INACTIVE` instance; invalid group; port 0 or listed twice; insufficient CPU,
    /// memory, ports (in use or over the cap), GPUs or ENIs.
    pub fn add_task(
        &mut self,
        instance_idx: InstanceIdx,
        group: &str,
        reservation: Reservation,
    ) -> Result<TaskId, StateError> {
        self.check_task(instance_idx, group, &reservation)?;
        let task_id = TaskId(self.next_task_id);
        self.next_task_id += 1;
        self.hold(
            task_id,
            Task {
                instance: instance_idx,
                group: group.to_owned(),
                reservation,
            },
        );
        self.version += 1;
        Ok(task_id)
    }

    /// Releases a task's reservation (RES-RELEASE: the task reached `STOPPED`) and returns it.
    ///
    /// # Errors
    ///
    /// [`StateError::UnknownTask`] for an id never issued; [`StateError::TaskAlreadyReleased`]
    /// for one released (or orphaned) before.
    pub fn release_task(&mut self, task_id: TaskId) -> Result<Task, StateError> {
        if task_id.0 >= self.next_task_id {
            return Err(StateError::UnknownTask(task_id));
        }
        let task = self
            .unhold(task_id)
            .ok_or(StateError::TaskAlreadyReleased(task_id))?;
        self.version += 1;
        Ok(task)
    }

    /// Deregisters an instance (CI-DEREGISTER): its status becomes `INACTIVE`, it stops being a
    /// candidate, and with `force` its tasks are orphaned (no longer tracked or counted). Returns
    /// the ids of the orphaned tasks.
    ///
    /// # Errors
    ///
    /// Unknown or already `INACTIVE` instance; [`StateError::TasksStillRunning`] when tasks run
    /// and `force` is false.
    pub fn deregister(
        &mut self,
        instance_idx: InstanceIdx,
        force: bool,
    ) -> Result<Vec<TaskId>, StateError> {
        let instance = self.live_instance(instance_idx)?;
        if !force && !instance.tasks.is_empty() {
            return Err(StateError::TasksStillRunning {
                instance: instance_idx,
                tasks: instance.tasks.len(),
            });
        }
        let orphaned: Vec<TaskId> = instance.tasks.iter().copied().collect();
        for &task_id in &orphaned {
            self.unhold(task_id);
        }
        self.instances[instance_idx.as_usize()].status = InstanceStatus::Inactive;
        self.refresh_candidate(instance_idx);
        self.placement_index.touch(instance_idx.as_usize());
        self.version += 1;
        Ok(orphaned)
    }

    /// Returns the canonical serialisable form: instances in registration order, each with its
    /// tasks in id order.
    #[must_use]
    pub fn to_snapshot(&self) -> StateSnapshot {
        snapshot::to_snapshot(self)
    }

    /// Rebuilds a state from its serialisable form, re-validating everything.
    ///
    /// # Errors
    ///
    /// Any error registration or task addition would give, or
    /// [`StateError::InconsistentSnapshot`].
    pub fn from_snapshot(snapshot: StateSnapshot) -> Result<ClusterState, StateError> {
        snapshot::from_snapshot(snapshot)
    }

    /// Undoes the last `add_task` calls of a failed multi-task commit: releases `task_ids` and
    /// restores the counters, so the state compares equal to what it was.
    pub(crate) fn roll_back(&mut self, task_ids: &[TaskId], version: u64, next_task_id: u64) {
        for &task_id in task_ids.iter().rev() {
            self.unhold(task_id);
        }
        self.version = version;
        self.next_task_id = next_task_id;
    }

    /// Returns the next task id to be issued.
    #[must_use]
    pub fn next_task_id(&self) -> TaskId {
        TaskId(self.next_task_id)
    }

    /// Checks everything `add_task` checks, changing nothing.
    fn check_task(
        &self,
        instance_idx: InstanceIdx,
        group: &str,
        reservation: &Reservation,
    ) -> Result<(), StateError> {
        if group.is_empty() || group.len() > MAX_GROUP_LEN {
            return Err(StateError::InvalidGroup(group.to_owned()));
        }
        let instance = self.live_instance(instance_idx)?;
        let position = instance_idx.as_usize();
        let remaining_cpu = self.remaining_cpu[position];
        if reservation.cpu > remaining_cpu {
            return Err(StateError::InsufficientCpu {
                instance: instance_idx,
                requested: reservation.cpu,
                remaining: remaining_cpu,
            });
        }
        let remaining_memory = self.remaining_memory[position];
        if reservation.memory > remaining_memory {
            return Err(StateError::InsufficientMemory {
                instance: instance_idx,
                requested: reservation.memory,
                remaining: remaining_memory,
            });
        }
        check_new_ports(
            instance_idx,
            &instance.ports_tcp_in_use,
            &reservation.ports_tcp,
            Protocol::Tcp,
        )?;
        check_new_ports(
            instance_idx,
            &instance.ports_udp_in_use,
            &reservation.ports_udp,
            Protocol::Udp,
        )?;
        if !reservation.gpus.is_subset(instance.gpus_free()) {
            return Err(StateError::GpuUnavailable {
                instance: instance_idx,
                requested: reservation.gpus.0,
            });
        }
        if reservation.eni
            && let Some(capacity) = instance.spec.eni_capacity
            && instance.eni_used >= capacity
        {
            return Err(StateError::EniExhausted {
                instance: instance_idx,
                capacity,
            });
        }

        Ok(())
    }

    fn live_instance(&self, instance_idx: InstanceIdx) -> Result<&Instance, StateError> {
        let instance = self.instance(instance_idx)?;
        if instance.status == InstanceStatus::Inactive {
            return Err(StateError::InstanceInactive(instance_idx));
        }
        Ok(instance)
    }

    fn live_instance_mut(
        &mut self,
        instance_idx: InstanceIdx,
    ) -> Result<&mut Instance, StateError> {
        let instance = self
            .instances
            .get_mut(instance_idx.as_usize())
            .ok_or(StateError::UnknownInstance(instance_idx))?;
        if instance.status == InstanceStatus::Inactive {
            return Err(StateError::InstanceInactive(instance_idx));
        }
        Ok(instance)
    }

    fn refresh_candidate(&mut self, instance_idx: InstanceIdx) {
        let instance = &self.instances[instance_idx.as_usize()];
        self.candidate[instance_idx.as_usize()] =
            instance.status == InstanceStatus::Active && instance.agent_connected;
    }

    /// Books a validated task: every check has passed.
    fn hold(&mut self, task_id: TaskId, task: Task) {
        let position = task.instance.as_usize();
        let instance = &mut self.instances[position];
        let reservation = &task.reservation;
        self.remaining_cpu[position] -= reservation.cpu;
        self.remaining_memory[position] -= reservation.memory;
        for &port in &reservation.ports_tcp {
            insert_sorted(&mut instance.ports_tcp_in_use, port);
        }
        for &port in &reservation.ports_udp {
            insert_sorted(&mut instance.ports_udp_in_use, port);
        }
        instance.gpus_assigned.0 |= reservation.gpus.0;
        if reservation.eni {
            instance.eni_used += 1;
        }
        instance.tasks.insert(task_id);
        // Look the group up before inserting: the key is copied only for a group new here.
        match instance.groups.get_mut(&task.group) {
            Some(count) => *count += 1,
            None => {
                instance.groups.insert(task.group.clone(), 1);
            }
        }
        let members = match self.group_members.get_mut(&task.group) {
            Some(members) => members,
            None => self.group_members.entry(task.group.clone()).or_default(),
        };
        *members.entry(task.instance).or_insert(0) += 1;
        self.tasks.insert(task_id, task);
        self.placement_index.touch(position);
    }

    /// Removes a task and gives its reservation back; `None` when it is not held.
    fn unhold(&mut self, task_id: TaskId) -> Option<Task> {
        let task = self.tasks.remove(&task_id)?;
        let position = task.instance.as_usize();
        self.placement_index.touch(position);
        let instance = &mut self.instances[position];
        let reservation = &task.reservation;
        self.remaining_cpu[position] += reservation.cpu;
        self.remaining_memory[position] += reservation.memory;
        for port in &reservation.ports_tcp {
            remove_sorted(&mut instance.ports_tcp_in_use, *port);
        }
        for port in &reservation.ports_udp {
            remove_sorted(&mut instance.ports_udp_in_use, *port);
        }
        instance.gpus_assigned.0 &= !reservation.gpus.0;
        if reservation.eni {
            instance.eni_used -= 1;
        }
        instance.tasks.remove(&task_id);
        decrement(&mut instance.groups, &task.group);
        if let Some(members) = self.group_members.get_mut(&task.group) {
            decrement(members, &task.instance);
            if members.is_empty() {
                self.group_members.remove(&task.group);
            }
        }
        Some(task)
    }
}

fn decrement<K: Ord>(counts: &mut BTreeMap<K, u32>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

fn insert_sorted(ports: &mut Vec<u16>, port: u16) {
    if let Err(position) = ports.binary_search(&port) {
        ports.insert(position, port);
    }
}

fn remove_sorted(ports: &mut Vec<u16>, port: u16) {
    if let Ok(position) = ports.binary_search(&port) {
        ports.remove(position);
    }
}

fn check_attribute(name: &str, value: Option<&str>) -> Result<(), StateError> {
    if !is_valid_attribute_name(name) {
        return Err(StateError::InvalidAttributeName(name.to_owned()));
    }
    if let Some(value) = value
        && !is_valid_attribute_value(value)
    {
        return Err(StateError::InvalidAttributeValue {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Validates registered reserved ports and returns them sorted.
fn sorted_ports(ports: &[u16], protocol: Protocol) -> Result<Vec<u16>, StateError> {
    if ports.len() > MAX_RESERVED_PORTS {
        return Err(StateError::TooManyReservedPorts {
            protocol,
            requested: ports.len(),
            max: MAX_RESERVED_PORTS,
        });
    }
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            return Err(StateError::DuplicatePort {
                port: pair[0],
                protocol,
            });
        }
    }
    if sorted.first() == Some(&0) {
        return Err(StateError::PortZero { protocol });
    }
    Ok(sorted)
}

/// Checks that a task's static ports can be added to `in_use` (RES-PORTS-BY-MODE, RES-PORTS-CAP).
fn check_new_ports(
    instance_idx: InstanceIdx,
    in_use: &[u16],
    ports: &[u16],
    protocol: Protocol,
) -> Result<(), StateError> {
    for (position, &port) in ports.iter().enumerate() {
        if port == 0 {
            return Err(StateError::PortZero { protocol });
        }
        if ports[..position].contains(&port) {
            return Err(StateError::DuplicatePort { port, protocol });
        }
        if in_use.binary_search(&port).is_ok() {
            return Err(StateError::PortInUse {
                instance: instance_idx,
                port,
                protocol,
            });
        }
    }
    if in_use.len() + ports.len() > MAX_RESERVED_PORTS {
        return Err(StateError::TooManyReservedPorts {
            protocol,
            requested: in_use.len() + ports.len(),
            max: MAX_RESERVED_PORTS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(id: &str) -> InstanceSpec {
        InstanceSpec::new(id, 2048, 4096)
            .with_ports_tcp(vec![22, 2375, 2376, 51678, 51679])
            .with_attribute("ecs.availability-zone", Some("us-east-1a"))
            .with_attribute("ecs.os-type", Some("linux"))
    }

    fn web(cpu: u32, memory: u32, ports: Vec<u16>) -> Reservation {
        Reservation {
            cpu,
            memory,
            ports_tcp: ports,
            ..Reservation::default()
        }
    }

    #[test]
    fn ci_register_starts_active_connected_with_remaining_equal_registered() {
        let mut state = ClusterState::new();
        let idx = state.register(linux("a")).unwrap();
        assert_eq!(idx, InstanceIdx(0));
        let instance = state.instance(idx).unwrap();
        assert_eq!(instance.status(), InstanceStatus::Active);
        assert!(instance.agent_connected());
        assert_eq!(state.remaining_cpu(), &[2048]);
        assert_eq!(state.remaining_memory(), &[4096]);
        assert_eq!(
            instance.ports_in_use(Protocol::Tcp),
            &[22, 2375, 2376, 51678, 51679]
        );
        assert_eq!(state.candidates(), &[true]);
    }

    #[test]
    fn ci_register_rejects_duplicates_and_bad_input() {
        let mut state = ClusterState::new();
        state.register(linux("a").with_arn("arn:a")).unwrap();
        assert_eq!(
            state.register(linux("a")),
            Err(StateError::DuplicateInstanceId("a".into()))
        );
        assert_eq!(
            state.register(linux("b").with_arn("arn:a")),
            Err(StateError::DuplicateInstanceArn("arn:a".into()))
        );
        assert_eq!(
            state.register(InstanceSpec::new("", 1, 1)),
            Err(StateError::EmptyInstanceId)
        );
        assert!(matches!(
            state.register(InstanceSpec::new("c", 1, 1).with_ports_tcp(vec![80, 80])),
            Err(StateError::DuplicatePort { port: 80, .. })
        ));
        assert!(matches!(
            state.register(InstanceSpec::new("c", 1, 1).with_ports_udp(vec![0])),
            Err(StateError::PortZero {
                protocol: Protocol::Udp
            })
        ));
        assert!(matches!(
            state.register(InstanceSpec::new("c", 1, 1).with_attribute("bad name", None)),
            Err(StateError::InvalidAttributeName(_))
        ));
        assert!(matches!(
            state.register(InstanceSpec::new("c", 1, 1).with_attribute("stack", Some(" prod"))),
            Err(StateError::InvalidAttributeValue { .. })
        ));
        // Nothing was registered by the failed calls.
        assert_eq!(state.len(), 1);
    }

    #[test]
    fn res_ports_cap_at_registration_and_at_task_addition() {
        let mut state = ClusterState::new();
        let ports: Vec<u16> = (1..=101).collect();
        assert!(matches!(
            state.register(InstanceSpec::new("a", 1, 1).with_ports_tcp(ports)),
            Err(StateError::TooManyReservedPorts {
                requested: 101,
                max: 100,
                ..
            })
        ));
        let idx = state
            .register(InstanceSpec::new("a", 1024, 1024).with_ports_tcp((1..=99).collect()))
            .unwrap();
        // The 100th port fits, a 101st does not (RES-PORTS-CAP).
        state.add_task(idx, "g", web(0, 0, vec![1000])).unwrap();
        assert!(matches!(
            state.add_task(idx, "g", web(0, 0, vec![1001])),
            Err(StateError::TooManyReservedPorts { requested: 101, .. })
        ));
    }

    #[test]
    fn res_remaining_tracks_tasks_and_release() {
        let mut state = ClusterState::new();
        let idx = state.register(linux("a")).unwrap();
        let t1 = state
            .add_task(idx, "family:web", web(512, 1024, vec![80]))
            .unwrap();
        let t2 = state
            .add_task(idx, "family:web", web(512, 1024, vec![443]))
            .unwrap();
        assert_eq!(state.remaining_cpu()[0], 1024);
        assert_eq!(state.remaining_memory()[0], 2048);
        assert_eq!(state.instance(idx).unwrap().groups()["family:web"], 2);
        assert_eq!(
            state.group_members("family:web").collect::<Vec<_>>(),
            vec![(idx, 2)]
        );
        // RES-PORTS-BY-MODE: the same static port twice on one instance is refused.
        assert!(matches!(
            state.add_task(idx, "family:web", web(1, 1, vec![80])),
            Err(StateError::PortInUse { port: 80, .. })
        ));
        // CPU and memory never overcommit.
        assert!(matches!(
            state.add_task(idx, "x", web(1025, 1, vec![])),
            Err(StateError::InsufficientCpu {
                requested: 1025,
                remaining: 1024,
                ..
            })
        ));
        assert!(matches!(
            state.add_task(idx, "x", web(1, 2049, vec![])),
            Err(StateError::InsufficientMemory {
                requested: 2049,
                remaining: 2048,
                ..
            })
        ));
        // RES-RELEASE gives everything back.
        state.release_task(t1).unwrap();
        assert_eq!(state.remaining_cpu()[0], 1536);
        assert!(
            !state
                .instance(idx)
                .unwrap()
                .ports_in_use(Protocol::Tcp)
                .contains(&80)
        );
        state
            .add_task(idx, "family:web", web(1, 1, vec![80]))
            .unwrap();
        assert_eq!(
            state.release_task(t1),
            Err(StateError::TaskAlreadyReleased(t1))
        );
        assert_eq!(
            state.release_task(TaskId(99)),
            Err(StateError::UnknownTask(TaskId(99)))
        );
        state.release_task(t2).unwrap();
    }

    #[test]
    fn res_gpu_and_eni_are_exclusive() {
        let mut state = ClusterState::new();
        let idx = state
            .register(
                InstanceSpec::new("g", 4096, 4096)
                    .with_gpu_ids(vec!["gpu-0".into(), "gpu-1".into()])
                    .with_eni_capacity(Some(1)),
            )
            .unwrap();
        let gpus = Reservation {
            gpus: GpuSet(0b01),
            eni: true,
            ..Reservation::default()
        };
        state.add_task(idx, "g", gpus.clone()).unwrap();
        assert!(matches!(
            state.add_task(
                idx,
                "g",
                Reservation {
                    eni: false,
                    ..gpus.clone()
                }
            ),
            Err(StateError::GpuUnavailable { .. })
        ));
        assert!(matches!(
            state.add_task(
                idx,
                "g",
                Reservation {
                    gpus: GpuSet(0b10),
                    ..gpus.clone()
                }
            ),
            Err(StateError::EniExhausted { capacity: 1, .. })
        ));
        assert!(matches!(
            state.add_task(
                idx,
                "g",
                Reservation {
                    gpus: GpuSet(0b100),
                    eni: false,
                    ..gpus
                }
            ),
            Err(StateError::GpuUnavailable { .. })
        ));
        let instance = state.instance(idx).unwrap();
        assert_eq!(
            instance.gpu_ids(instance.gpus_free()).collect::<Vec<_>>(),
            vec!["gpu-1"]
        );
    }

    #[test]
    fn ci_status_agent_and_deregister() {
        let mut state = ClusterState::new();
        let idx = state.register(linux("a")).unwrap();
        state.set_status(idx, InstanceStatus::Draining).unwrap();
        assert_eq!(state.candidates(), &[false]);
        state.set_status(idx, InstanceStatus::Active).unwrap();
        state.set_agent_connected(idx, false).unwrap();
        assert_eq!(state.candidates(), &[false]);
        state.set_agent_connected(idx, true).unwrap();
        assert_eq!(
            state.set_status(idx, InstanceStatus::Inactive),
            Err(StateError::StatusNotSettable(InstanceStatus::Inactive))
        );
        let task = state.add_task(idx, "g", web(1, 1, vec![])).unwrap();
        assert!(matches!(
            state.deregister(idx, false),
            Err(StateError::TasksStillRunning { tasks: 1, .. })
        ));
        // CI-DEREGISTER: force orphans the tasks; they no longer count anywhere.
        assert_eq!(state.deregister(idx, true), Ok(vec![task]));
        assert_eq!(
            state.instance(idx).unwrap().status(),
            InstanceStatus::Inactive
        );
        assert_eq!(state.remaining_cpu()[0], 2048);
        assert_eq!(state.group_members("g").count(), 0);
        assert_eq!(
            state.release_task(task),
            Err(StateError::TaskAlreadyReleased(task))
        );
        assert_eq!(
            state.deregister(idx, true),
            Err(StateError::InstanceInactive(idx))
        );
        assert_eq!(
            state.add_task(idx, "g", web(1, 1, vec![])),
            Err(StateError::InstanceInactive(idx))
        );
    }

    #[test]
    fn ci_attr_put_and_delete_update_the_spread_column() {
        let mut state = ClusterState::new();
        let a = state.register(linux("a")).unwrap();
        let b = state.register(InstanceSpec::new("b", 1, 1)).unwrap();
        let column = state.attribute_column("ecs.availability-zone").unwrap();
        assert_ne!(column.value_id(a), AttributeColumn::MISSING);
        assert_eq!(column.value_id(b), AttributeColumn::MISSING);
        state
            .put_attribute(b, "ecs.availability-zone", Some("us-east-1a"))
            .unwrap();
        let column = state.attribute_column("ecs.availability-zone").unwrap();
        assert_eq!(column.value_id(a), column.value_id(b));
        assert_eq!(state.delete_attribute(b, "ecs.availability-zone"), Ok(true));
        assert_eq!(
            state.delete_attribute(b, "ecs.availability-zone"),
            Ok(false)
        );
        let column = state.attribute_column("ecs.availability-zone").unwrap();
        assert_eq!(column.value_id(b), AttributeColumn::MISSING);
        assert_eq!(
            state
                .instance(b)
                .unwrap()
                .attribute("ecs.availability-zone"),
            None
        );
    }

    #[test]
    fn state_serialise_restore_is_equal_and_byte_identical() {
        let mut state = ClusterState::new();
        let a = state
            .register(linux("a").with_arn("arn:a").with_agent_version("1.80.0"))
            .unwrap();
        let b = state
            .register(linux("b").with_gpu_ids(vec!["g0".into()]))
            .unwrap();
        state
            .add_task(a, "family:web", web(256, 512, vec![80]))
            .unwrap();
        let t = state.add_task(
            b,
            "service:api",
            Reservation {
                gpus: GpuSet(1),
                ..web(1, 1, vec![])
            },
        );
        state.release_task(t.unwrap()).unwrap();
        state
            .add_task(b, "service:api", web(1, 1, vec![8080]))
            .unwrap();
        state.set_status(b, InstanceStatus::Draining).unwrap();
        let c = state.register(linux("c")).unwrap();
        state.deregister(c, false).unwrap();
        let json = serde_json::to_string(&state).unwrap();
        let restored: ClusterState = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, state);
        assert_eq!(serde_json::to_string(&restored).unwrap(), json);
        assert_eq!(restored.remaining_cpu(), state.remaining_cpu());
        assert_eq!(restored.candidates(), state.candidates());
        // A restored state keeps issuing fresh task ids.
        assert_eq!(restored.next_task_id(), state.next_task_id());
    }

    #[test]
    fn state_restore_rejects_inconsistent_snapshots() {
        let mut state = ClusterState::new();
        let a = state.register(linux("a")).unwrap();
        state.add_task(a, "g", web(2048, 1, vec![])).unwrap();
        let mut snapshot = state.to_snapshot();
        let task = snapshot.instances[0].tasks[0].clone();
        snapshot.instances[0].tasks.push(task);
        assert!(ClusterState::from_snapshot(snapshot).is_err());
        let mut snapshot = state.to_snapshot();
        snapshot.next_task_id = 0;
        assert!(matches!(
            ClusterState::from_snapshot(snapshot),
            Err(StateError::InconsistentSnapshot(_))
        ));
    }
}
