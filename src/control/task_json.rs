//! Tasks written as JSON straight from their records, for RunTask responses.
//!
//! Serialising a task through `model::Task` builds some thirty strings per task and frees them
//! again; serde's generic path then escapes every key and value byte by byte. This writer
//! produces the same bytes (members in `model::Task`'s order, absent ones left out) from the
//! record and its shared task definition: constant keys are copied as they are, values are
//! scanned once and only escaped when they need it, and everything non-trivial (attachments,
//! overrides, tags, bindings) still goes through serde. `tests/scenarios.rs` compares it
//! with `serde_json::to_string(&record.to_model())` on every task after every step of every
//! conformance scenario.

use std::io::Write as _;

use serde::Serialize;

use super::task_record::{ContainerRecord, TaskRecord, split_task_arn};
use crate::model::{ContainerDefinition, ContainerOverride};

/// A task as JSON (see the module documentation); `serde` writes it as the raw JSON text.
#[derive(Clone, Copy, Debug)]
pub struct TaskJson<'a> {
    record: &'a TaskRecord,
    tags: bool,
}

impl TaskRecord {
    /// This task as JSON, the same bytes as serialising [`TaskRecord::to_model`] (with
    /// `tags` = false, without `tags`, as DescribeTasks leaves them out unless asked).
    pub fn json(&self, tags: bool) -> TaskJson<'_> {
        TaskJson { record: self, tags }
    }
}

impl TaskJson<'_> {
    /// Appends the task's JSON to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_task(out, self.record, self.tags);
    }

    /// The task's JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(1536);
        self.write_to(&mut out);
        into_string(out)
    }
}

impl Serialize for TaskJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw(self.to_json_string(), serializer)
    }
}

/// Writes `text` (valid JSON) as it is: copied by serde_json's writers, parsed by its `Value`
/// serializer.
pub(crate) fn raw<S: serde::Serializer>(text: String, serializer: S) -> Result<S::Ok, S::Error> {
    serde_json::value::RawValue::from_string(text)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// The writer only ever appends UTF-8 (keys are ASCII, values come from `&str` or serde_json).
pub(crate) fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Appends members of one JSON object, the separating commas included.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, empty: true }
    }

    /// `"key":` (keys are ASCII identifiers: nothing to escape).
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        string(out, value);
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        let out = self.key(key);
        // Writing to a Vec fails only for values serde cannot write (never for these).
        let _ = serde_json::to_writer(out, value);
    }

    /// A string value made of pieces (an ARN): each piece escaped as needed.
    fn pieces(&mut self, key: &str, pieces: &[&str]) {
        let out = self.key(key);
        out.push(b'"');
        for piece in pieces {
            string_contents(out, piece);
        }
        out.push(b'"');
    }

    /// A number written as a JSON string (`"cpu": "256"`).
    fn number_string(&mut self, key: &str, value: i64) {
        let out = self.key(key);
        let _ = write!(out, "\"{value}\"");
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// A JSON string.
fn string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    string_contents(out, value);
    out.push(b'"');
}

/// The inside of a JSON string: copied when nothing needs escaping (ARNs, ids, statuses,
/// most names), else escaped by serde_json.
fn string_contents(out: &mut Vec<u8>, value: &str) {
    if !needs_escape(value.as_bytes()) {
        out.extend_from_slice(value.as_bytes());
    } else {
        let mut escaped = Vec::with_capacity(value.len() + 8);
        let _ = serde_json::to_writer(&mut escaped, value);
        out.extend_from_slice(&escaped[1..escaped.len() - 1]);
    }
}

/// Whether JSON needs any of these bytes escaped: a control character, `"` or `\\`. Eight
/// bytes at a time (the classic "has a byte less than n" word tricks, exact as a yes/no
/// answer); bytes of multi-byte UTF-8 characters are never escaped.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGH != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
        if control
            || has_zero(word ^ (ONES * u64::from(b'"')))
            || has_zero(word ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn write_task(out: &mut Vec<u8>, r: &TaskRecord, tags: bool) {
    let definition = r.definition();
    let arn_parts = split_task_arn(&r.arn);
    let (prefix, cluster_name, _) = arn_parts;
    let overrides = r.overrides.as_deref();
    let mut task = Object::open(out);
    task.value("attachments", &r.attachments);
    if let Some(zone) = &r.availability_zone {
        task.str("availabilityZone", zone);
    }
    if let Some(name) = &r.capacity_provider_name {
        task.str("capacityProviderName", name);
    }
    task.pieces("clusterArn", &[prefix, ":cluster/", cluster_name]);
    if let Some(connectivity) = &r.connectivity {
        task.str("connectivity", connectivity.as_str());
    }
    if let Some(at) = &r.connectivity_at {
        task.value("connectivityAt", at);
    }
    if let Some(arn) = &r.container_instance_arn {
        task.str("containerInstanceArn", arn);
    }
    write_containers(task.key("containers"), r, arn_parts);
    if let Some(cpu) = overrides
        .and_then(|o| o.cpu.as_ref())
        .or(definition.cpu.as_ref())
    {
        task.str("cpu", cpu);
    }
    task.value("createdAt", &r.created_at);
    task.str("desiredStatus", r.desired.as_str());
    task.value("enableExecuteCommand", &false);
    if let Some(at) = &r.execution_stopped_at {
        task.value("executionStoppedAt", at);
    }
    task.str("group", &r.group);
    if let Some(health) = &r.health_status {
        task.str("healthStatus", health.as_str());
    }
    task.str("lastStatus", r.last.as_str());
    task.str("launchType", r.launch_type.as_str());
    if let Some(memory) = overrides
        .and_then(|o| o.memory.as_ref())
        .or(definition.memory.as_ref())
    {
        task.str("memory", memory);
    }
    match overrides {
        Some(overrides) => task.value("overrides", overrides),
        None => task
            .key("overrides")
            .extend_from_slice(br#"{"containerOverrides":[],"inferenceAcceleratorOverrides":[]}"#),
    }
    if let Some(version) = &r.platform_version {
        task.str("platformVersion", version);
    }
    if r.is_fargate() {
        task.str("platformFamily", "Linux");
    }
    if let Some(at) = &r.pulled_at {
        task.value("pullStartedAt", at);
        task.value("pullStoppedAt", at);
    }
    if let Some(at) = &r.started_at {
        task.value("startedAt", at);
    }
    if let Some(by) = &r.started_by {
        task.str("startedBy", by);
    }
    if let Some(code) = &r.stop_code {
        task.str("stopCode", code.as_str());
    }
    if let Some(at) = &r.stopped_at {
        task.value("stoppedAt", at);
    }
    if let Some(reason) = &r.stopped_reason {
        task.str("stoppedReason", reason);
    }
    if let Some(at) = &r.stopping_at {
        task.value("stoppingAt", at);
    }
    if tags {
        task.value("tags", &r.tags);
    }
    task.str("taskArn", &r.arn);
    if let Some(arn) = &definition.task_definition_arn {
        task.str("taskDefinitionArn", arn);
    }
    task.value("version", &r.version);
    if let Some(storage) = &definition.ephemeral_storage {
        task.value("ephemeralStorage", storage);
    }
    task.close();
}

fn write_containers(out: &mut Vec<u8>, r: &TaskRecord, arn_parts: (&str, &str, &str)) {
    let (prefix, cluster_name, task_id) = arn_parts;
    // awsvpc: every container shows the task's ENI.
    let interface = r.eni();
    let container_overrides = r.container_overrides();
    out.push(b'[');
    for (position, (container, state)) in r
        .container_definitions()
        .iter()
        .zip(&r.containers)
        .enumerate()
    {
        if position > 0 {
            out.push(b',');
        }
        let names = ContainerNames {
            prefix,
            cluster_name,
            task_id,
            task_arn: &r.arn,
        };
        let o = container_overrides
            .iter()
            .find(|c| c.name == container.name);
        let gpu_ids = (position == 0 && !r.gpu_ids.is_empty()).then_some(&r.gpu_ids);
        write_container(out, &names, container, state, o, interface, gpu_ids);
    }
    out.push(b']');
}

/// The ARN pieces a container's members are made of.
struct ContainerNames<'a> {
    prefix: &'a str,
    cluster_name: &'a str,
    task_id: &'a str,
    task_arn: &'a str,
}

fn write_container(
    out: &mut Vec<u8>,
    names: &ContainerNames<'_>,
    container: &ContainerDefinition,
    state: &ContainerRecord,
    o: Option<&ContainerOverride>,
    interface: Option<(Option<&str>, &str)>,
    gpu_ids: Option<&Vec<String>>,
) {
    let mut object = Object::open(out);
    object.pieces(
        "containerArn",
        &[
            names.prefix,
            ":container/",
            names.cluster_name,
            "/",
            names.task_id,
            "/",
            &state.uuid,
        ],
    );
    object.str("taskArn", names.task_arn);
    if let Some(name) = &container.name {
        object.str("name", name);
    }
    if let Some(image) = &container.image {
        object.str("image", image);
    }
    if state.started {
        let name = container.name.as_deref().unwrap_or_default();
        object.pieces("runtimeId", &[names.task_id, "-", name]);
    }
    object.str("lastStatus", state.last.as_str());
    if let Some(code) = &state.exit_code {
        object.value("exitCode", code);
    }
    if let Some(reason) = &state.reason {
        object.str("reason", reason);
    }
    object.value("networkBindings", &state.network_bindings);
    match interface {
        Some((attachment_id, ip)) => {
            let out = object.key("networkInterfaces");
            out.push(b'[');
            let mut interface = Object::open(out);
            if let Some(id) = attachment_id {
                interface.str("attachmentId", id);
            }
            interface.str("privateIpv4Address", ip);
            interface.close();
            object.out.push(b']');
        }
        None => object.key("networkInterfaces").extend_from_slice(b"[]"),
    }
    let cpu = o.and_then(|o| o.cpu).or(container.cpu).unwrap_or(0);
    object.number_string("cpu", i64::from(cpu));
    if let Some(memory) = o.and_then(|o| o.memory).or(container.memory) {
        object.number_string("memory", i64::from(memory));
    }
    if let Some(reservation) = o
        .and_then(|o| o.memory_reservation)
        .or(container.memory_reservation)
    {
        object.number_string("memoryReservation", i64::from(reservation));
    }
    if let Some(gpu_ids) = gpu_ids {
        object.value("gpuIds", gpu_ids);
    }
    object.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_escape_agrees_with_the_byte_by_byte_rule() {
        let slow = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        let mut samples: Vec<Vec<u8>> = vec![
            b"arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef".to_vec(),
            "caf\u{e9} \u{1f600} na\u{ef}ve".as_bytes().to_vec(),
            Vec::new(),
        ];
        // Every byte value at every position of a 17-byte string (two words and a tail).
        for byte in 0..=255u8 {
            for position in 0..17 {
                let mut sample = b"abcdefghijklmnopq".to_vec();
                sample[position] = byte;
                samples.push(sample);
            }
        }
        for sample in samples {
            assert_eq!(needs_escape(&sample), slow(&sample), "{sample:?}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "plain",
            "quote \" here",
            "back\\slash",
            "tab\tnew\nline",
            "\u{1}\u{1f}",
            "caf\u{e9}",
        ] {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(into_string(out), serde_json::to_string(text).unwrap());
        }
    }
}
