//! The invariant checks behind every fuzz target, in one place.
//!
//! The fuzz targets (`fuzz/fuzz_targets/*.rs`) call these on libFuzzer's inputs, and the main
//! crate's `tests/fuzz_replay.rs` includes this very file (`#[path]`) to replay every corpus
//! file through the same checks under `cargo test`. So it uses only `std`, `serde_json` and
//! `stowplan`, which both builds have.
//!
//! Each check returns `Err(message)` when an invariant breaks. A panic inside stowplan is not
//! caught: libFuzzer reports it as a crash, and the replay test fails on it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use stowplan::control::{Caller, Ecs, EcsConfig};
use stowplan::cql::{self, Expr, Subject};
use stowplan::iam::{self, Context, Decision, Policy, PolicySource, Request};
use stowplan::json::Pointer;
use stowplan::model::{FromJson, RegisterTaskDefinitionRequest};
use stowplan::placement::{
    self, Constraint, Demand, Engine, Outcome, PlacementRequest, SpreadField, StrategyRule,
};
use stowplan::registry::{Registration, Registry};
use stowplan::state::{
    ClusterState, GpuSet, Instance, InstanceIdx, InstanceSpec, InstanceStatus, MAX_RESERVED_PORTS,
    Reservation,
};
use stowplan::validate;

/// What a check returns: `Err` names the invariant that broke and how.
pub type CheckResult = Result<(), String>;

/// Returns `Err(format!(...))` from the enclosing check unless `$cond` holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

// ---------------------------------------------------------------------------------------------
// taskdef

/// The `taskdef` target: bytes → [`stowplan::json::parse_bytes`] → [`taskdef_value`]; a JSON
/// error must point inside the input.
pub fn taskdef(data: &[u8]) -> CheckResult {
    match stowplan::json::parse_bytes(data) {
        Ok(value) => taskdef_value(&value),
        Err(error) => {
            // Line 0 is reserved for whole-document errors (size); any other line is in the input.
            let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
            ensure!(
                error.line <= lines,
                "JSON error at line {} of a {lines}-line input: {error}",
                error.line
            );
            Ok(())
        }
    }
}

/// Validation, canonicalisation and the model round trip of one JSON document:
///
/// - every diagnostic's path resolves in the input, or its parent does (a missing member);
/// - diagnostics come sorted by (path, rule) without duplicates, and validating twice agrees;
/// - canonicalising twice gives the same bytes as canonicalising once;
/// - `RegisterTaskDefinitionRequest::read` → `serde_json::to_value` → read again is stable;
/// - registering a request that validation read either succeeds (and can be described by its
///   ARN) or fails leaving the registry exactly as it was.
pub fn taskdef_value(value: &Value) -> CheckResult {
    let report = validate::validate_json(value);
    for diagnostic in &report.diagnostics {
        let tokens = diagnostic.path.tokens();
        let mut parent = Pointer::root();
        for token in tokens.iter().take(tokens.len().saturating_sub(1)) {
            parent.push(token);
        }
        ensure!(
            diagnostic.path.resolve(value).is_some() || parent.resolve(value).is_some(),
            "{} points at {:?}, which is not in the input and neither is its parent",
            diagnostic.rule,
            diagnostic.path.to_string()
        );
    }
    let keys: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| (d.path.tokens(), d.rule))
        .collect();
    ensure!(
        keys.windows(2).all(|pair| pair[0] <= pair[1]),
        "diagnostics are not sorted by path, then rule"
    );
    ensure!(
        report.diagnostics.windows(2).all(|pair| pair[0] != pair[1]),
        "a diagnostic is reported twice"
    );
    ensure!(
        validate::validate_json(value) == report,
        "validating the same document twice gives different reports"
    );

    let once = validate::canonical_json(value);
    let twice = validate::canonical_json(&once);
    let (once_text, twice_text) = (to_text(&once)?, to_text(&twice)?);
    ensure!(
        once_text == twice_text,
        "canonicalising is not idempotent:\n once: {once_text}\ntwice: {twice_text}"
    );

    if let Some(first) = RegisterTaskDefinitionRequest::read(value).0 {
        let written = serde_json::to_value(&first).map_err(|e| format!("to_value: {e}"))?;
        let (second, errors) = RegisterTaskDefinitionRequest::read(&written);
        let Some(second) = second else {
            return Err("the model's own output does not read back as an object".to_string());
        };
        let rewritten = serde_json::to_value(&second).map_err(|e| format!("to_value: {e}"))?;
        ensure!(
            written == rewritten,
            "the model round trip is not stable:\n first: {}\nsecond: {}",
            to_text(&written)?,
            to_text(&rewritten)?
        );
        ensure!(
            errors.is_empty() || RegisterTaskDefinitionRequest::read(&rewritten).1 == errors,
            "reading the written request reports different shape errors"
        );
        register_is_atomic(&first)?;
    }
    Ok(())
}

/// Registers `request` into a registry that already holds one revision of its family: an error
/// changes nothing, a success is describable by the ARN it returned.
fn register_is_atomic(request: &RegisterTaskDefinitionRequest) -> CheckResult {
    let mut registry = Registry::new("us-east-1", "123456789012");
    let registration = Registration::by_root("123456789012", 1_700_000_000);
    for _ in 0..2 {
        let before = registry.clone();
        match registry.register(request, &registration) {
            Ok(definition) => {
                let arn = definition.task_definition_arn.clone().unwrap_or_default();
                ensure!(
                    registry.describe(&arn).ok() == Some(&definition),
                    "a registered revision is not describable by its ARN {arn:?}"
                );
            }
            Err(error) => {
                ensure!(
                    registry == before,
                    "a failed registration ({error}) changed the registry"
                );
            }
        }
    }
    Ok(())
}

fn to_text(value: &Value) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("to_string: {e}"))
}

// ---------------------------------------------------------------------------------------------
// cql

/// The `cql` target: bytes as (lossy) UTF-8 → [`cql_text`].
pub fn cql(data: &[u8]) -> CheckResult {
    cql_text(&String::from_utf8_lossy(data))
}

/// Parse, print, reparse and evaluate one expression:
///
/// - an error's span lies inside the input, on character boundaries, and its message prints;
/// - `parse(&expr.to_string()) == Ok(expr)`, and printing the reparsed tree gives the same text
///   (unless the printed text outgrew [`cql::MAX_CQL_LENGTH`], the documented exception, which
///   must then fail with `TooLong`);
/// - on a few fixed subjects, the reparsed tree evaluates as the original, and every `and`,
///   `or` and `not` node evaluates as its operands say.
pub fn cql_text(input: &str) -> CheckResult {
    let expr = match cql::parse(input) {
        Ok(expr) => expr,
        Err(error) => {
            let span = error.span();
            ensure!(
                span.start <= span.end && span.end <= input.len(),
                "error span {span:?} is outside the {}-byte input",
                input.len()
            );
            ensure!(
                input.is_char_boundary(span.start) && input.is_char_boundary(span.end),
                "error span {span:?} splits a character"
            );
            ensure!(
                error.expression() == input,
                "the error carries another expression"
            );
            ensure!(!error.to_string().is_empty(), "the error prints as nothing");
            return Ok(());
        }
    };
    let printed = expr.to_string();
    let reparsed = match cql::parse(&printed) {
        Ok(reparsed) => Some(reparsed),
        // Documented: a compact expression near the limit may print longer than the limit.
        Err(error)
            if printed.len() > cql::MAX_CQL_LENGTH && error.kind() == &cql::ErrorKind::TooLong =>
        {
            None
        }
        Err(error) => {
            return Err(format!(
                "the printed form {printed:?} of {input:?} does not parse: {error}"
            ));
        }
    };
    if let Some(reparsed) = &reparsed {
        ensure!(
            *reparsed == expr,
            "print + reparse differs:\n  input: {input:?}\nprinted: {printed:?}"
        );
        ensure!(
            reparsed.to_string() == printed,
            "printing is not stable: {printed:?} reprints as {:?}",
            reparsed.to_string()
        );
    }
    for subject in fixed_subjects() {
        let verdict = expr.eval(&subject);
        ensure!(
            reparsed
                .as_ref()
                .is_none_or(|r| r.eval(&subject) == verdict),
            "{printed:?} and its reparse evaluate differently on {}",
            subject.name
        );
        evaluates_structurally(&expr, &subject)?;
    }
    Ok(())
}

/// Every `and`/`or`/`not` node of `expr` evaluates as its operands say.
fn evaluates_structurally(expr: &Expr, subject: &FixedSubject) -> CheckResult {
    let verdict = expr.eval(subject);
    let expected = match expr {
        Expr::Or(items) => items.iter().any(|item| item.eval(subject)),
        Expr::And(items) => items.iter().all(|item| item.eval(subject)),
        Expr::Not(inner) => !inner.eval(subject),
        Expr::Term(_) => verdict,
    };
    ensure!(
        verdict == expected,
        "{expr} evaluates to {verdict} on {}, its operands say {expected}",
        subject.name
    );
    match expr {
        Expr::Or(items) | Expr::And(items) => {
            for item in items {
                evaluates_structurally(item, subject)?;
            }
        }
        Expr::Not(inner) => evaluates_structurally(inner, subject)?,
        Expr::Term(_) => {}
    }
    Ok(())
}

/// A container instance as plain data, for evaluating CQL without a cluster.
#[derive(Debug)]
struct FixedSubject {
    name: &'static str,
    attributes: BTreeMap<&'static str, Option<&'static str>>,
    agent_connected: bool,
    agent_version: Option<&'static str>,
    ec2_instance_id: Option<&'static str>,
    registered_at: Option<i64>,
    running_tasks_count: u64,
    task_groups: Vec<&'static str>,
}

fn fixed_subjects() -> [FixedSubject; 3] {
    [
        FixedSubject {
            name: "a t2.micro in us-east-1a running web and database",
            attributes: BTreeMap::from([
                ("ecs.instance-type", Some("t2.micro")),
                ("ecs.availability-zone", Some("us-east-1a")),
                ("ecs.os-type", Some("linux")),
                ("rack", None),
                ("count", Some("10")),
                ("level", Some("-2.5")),
            ]),
            agent_connected: true,
            agent_version: Some("1.14.5"),
            ec2_instance_id: Some("i-0123456789abcdef0"),
            registered_at: Some(1_518_480_000),
            running_tasks_count: 2,
            task_groups: vec!["web", "database"],
        },
        FixedSubject {
            name: "an empty, disconnected instance",
            attributes: BTreeMap::new(),
            agent_connected: false,
            agent_version: None,
            ec2_instance_id: None,
            registered_at: None,
            running_tasks_count: 0,
            task_groups: Vec::new(),
        },
        FixedSubject {
            name: "an instance with odd values",
            attributes: BTreeMap::from([
                ("ecs.instance-type", Some("")),
                ("count", Some("99999999999999999999999")),
                ("a", Some("é ü")),
            ]),
            agent_connected: true,
            agent_version: Some("not-a-version"),
            ec2_instance_id: Some(""),
            registered_at: Some(i64::MIN),
            running_tasks_count: u64::MAX,
            task_groups: vec!["", "service:web"],
        },
    ]
}

impl Subject for FixedSubject {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.get(name).copied()
    }
    fn agent_connected(&self) -> bool {
        self.agent_connected
    }
    fn agent_version(&self) -> Option<&str> {
        self.agent_version
    }
    fn ec2_instance_id(&self) -> Option<&str> {
        self.ec2_instance_id
    }
    fn registered_at(&self) -> Option<i64> {
        self.registered_at
    }
    fn running_tasks_count(&self) -> u64 {
        self.running_tasks_count
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.task_groups.iter().any(|group| pred(group))
    }
}

// ---------------------------------------------------------------------------------------------
// placement

/// Reads the fuzzer's bytes as a stream of small choices; past the end every read is zero, so
/// any input (even empty) decodes to something.
#[derive(Debug)]
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const INSTANCE_TYPES: [&str; 3] = ["t2.micro", "m5.large", "c5.xlarge"];
const GROUPS: [&str; 3] = ["family:web", "service:api", "g"];
const TCP_PORTS: [u16; 5] = [22, 80, 443, 8080, 51678];
const UDP_PORTS: [u16; 2] = [53, 80];
const STATUSES: [InstanceStatus; 6] = [
    InstanceStatus::Active,
    InstanceStatus::Active,
    InstanceStatus::Active,
    InstanceStatus::Draining,
    InstanceStatus::Registering,
    InstanceStatus::Inactive,
];
/// The `memberOf` expressions a request may carry: static ones, and ones that depend on the
/// tasks placed earlier in the batch.
const MEMBER_OF: [&str; 9] = [
    "attribute:ecs.availability-zone == us-east-1a",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "attribute:rack exists",
    "attribute:ecs.instance-type =~ m5.*",
    "not(task:group == g)",
    "runningTasksCount < 2",
    "agentVersion >= 1.20.0",
    "task:group == service:api or attribute:rack not_exists",
    "registeredAt < 2020-01-01T00:00:00Z and not(attribute:ecs.instance-type == t2.micro)",
];

fn amount(bytes: &mut Bytes<'_>) -> u32 {
    match bytes.below(8) {
        0 => 0,
        1 => u32::from(bytes.u16()),
        2 => u32::MAX - u32::from(bytes.u8()),
        k => 128 << k,
    }
}

fn ports(bytes: &mut Bytes<'_>, pool: &[u16], max: usize) -> Vec<u16> {
    let n = bytes.below(max + 1);
    (0..n).map(|_| bytes.pick(pool)).collect()
}

/// Applies one state mutation; if it fails, the state must be exactly as before.
fn atomic<T, E: std::fmt::Display>(
    state: &mut ClusterState,
    what: &str,
    op: impl FnOnce(&mut ClusterState) -> Result<T, E>,
) -> Result<Option<T>, String> {
    let before = state.clone();
    match op(state) {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            ensure!(
                *state == before && state.version() == before.version(),
                "{what} failed ({error}) and changed the state"
            );
            Ok(None)
        }
    }
}

/// Builds a cluster of at most 16 instances, with tasks already running, from the bytes; every
/// state mutation on the way is checked to be atomic.
fn decode_cluster(bytes: &mut Bytes<'_>) -> Result<ClusterState, String> {
    let mut state = ClusterState::new();
    state.set_placement_rng(u64::from(bytes.u16()));
    let n_instances = bytes.below(17);
    for k in 0..n_instances {
        let mut spec = InstanceSpec::new(format!("i-{k}"), amount(bytes), amount(bytes))
            .with_ports_tcp(ports(bytes, &TCP_PORTS, 3))
            .with_ports_udp(ports(bytes, &UDP_PORTS, 2))
            .with_gpu_ids((0..bytes.below(4)).map(|g| format!("gpu-{g}")).collect())
            .with_registered_at(i64::from(bytes.u16()) * 100_000)
            .with_attribute("ecs.instance-type", Some(bytes.pick(&INSTANCE_TYPES)));
        if bytes.bool() {
            spec = spec.with_arn(format!(
                "arn:aws:ecs:us-east-1:123456789012:container-instance/c/i-{k}"
            ));
        }
        if bytes.bool() {
            spec = spec.with_ec2_instance_id(format!("i-{k:017x}"));
        }
        spec = spec.with_eni_capacity(match bytes.below(3) {
            0 => None,
            _ => Some(u32::from(bytes.u8() % 4)),
        });
        if bytes.below(4) != 0 {
            spec = spec.with_attribute("ecs.availability-zone", Some(bytes.pick(&ZONES)));
        }
        match bytes.below(4) {
            0 => spec = spec.with_attribute("rack", None),
            1 => spec = spec.with_attribute("rack", Some(bytes.pick(&["r1", "r2"]))),
            2 if bytes.bool() => spec = spec.with_attribute("bad name!", Some("x")),
            _ => {}
        }
        if bytes.bool() {
            spec = spec.with_agent_version(bytes.pick(&["1.14.5", "1.20.0", "1.85.1"]));
        }
        // Registration refuses duplicate ports and bad attribute names; that must change nothing.
        atomic(&mut state, "register", |s| s.register(spec))?;
    }
    let n_tasks = bytes.below(9);
    for _ in 0..n_tasks {
        if state.is_empty() {
            break;
        }
        let instance_idx = InstanceIdx(bytes.below(state.len()) as u32);
        let gpus = match (bytes.bool(), state.instance(instance_idx)) {
            (true, Ok(instance)) => instance.gpus_free().lowest(1).unwrap_or_default(),
            _ => GpuSet::EMPTY,
        };
        let reservation = Reservation {
            cpu: amount(bytes) / 4,
            memory: amount(bytes) / 4,
            ports_tcp: ports(bytes, &TCP_PORTS, 2),
            ports_udp: ports(bytes, &UDP_PORTS, 1),
            gpus,
            eni: bytes.bool(),
        };
        let group = bytes.pick(&GROUPS);
        atomic(&mut state, "add_task", |s| {
            s.add_task(instance_idx, group, reservation)
        })?;
    }
    for k in 0..state.len() {
        let instance_idx = InstanceIdx(k as u32);
        let status = bytes.pick(&STATUSES);
        if status == InstanceStatus::Inactive {
            let force = bytes.bool();
            atomic(&mut state, "deregister", |s| {
                s.deregister(instance_idx, force)
            })?;
        } else {
            atomic(&mut state, "set_status", |s| {
                s.set_status(instance_idx, status)
            })?;
        }
        let connected = bytes.below(4) != 0;
        atomic(&mut state, "set_agent_connected", |s| {
            s.set_agent_connected(instance_idx, connected)
        })?;
    }
    // A few more mutations that may fail: each must be all or nothing.
    for _ in 0..bytes.below(4) {
        let instance_idx = InstanceIdx(bytes.below(state.len() + 2) as u32);
        match bytes.below(4) {
            0 => {
                let value = bytes.pick(&[Some("r1"), None, Some(" bad "), Some("")]);
                atomic(&mut state, "put_attribute", |s| {
                    s.put_attribute(instance_idx, "rack", value)
                })?;
            }
            1 => {
                atomic(&mut state, "delete_attribute", |s| {
                    s.delete_attribute(instance_idx, "rack")
                })?;
            }
            2 => {
                let task_id = stowplan::state::TaskId(u64::from(bytes.u8() % 12));
                atomic(&mut state, "release_task", |s| s.release_task(task_id))?;
            }
            _ => {
                let status = bytes.pick(&STATUSES);
                atomic(&mut state, "set_status", |s| {
                    s.set_status(instance_idx, status)
                })?;
            }
        }
    }
    Ok(state)
}

fn decode_request(bytes: &mut Bytes<'_>) -> PlacementRequest {
    let mut demand = Demand::new(amount(bytes) / 8, amount(bytes) / 8)
        .with_ports_tcp(ports(bytes, &TCP_PORTS, 2))
        .with_ports_udp(ports(bytes, &UDP_PORTS, 1))
        .with_gpus(match bytes.below(8) {
            6 => 1,
            7 => 2,
            _ => 0,
        })
        .with_eni(bytes.below(4) == 0);
    match bytes.below(5) {
        0 => demand = demand.with_required_attribute("rack", None),
        1 => demand = demand.with_required_attribute("ecs.instance-type", Some("m5.large")),
        _ => {}
    }
    if bytes.below(4) == 0 {
        let zones = (0..bytes.below(3))
            .map(|_| bytes.pick(&ZONES).to_owned())
            .collect();
        demand = demand.with_availability_zones(zones);
    }
    let mut request =
        PlacementRequest::new(demand, bytes.pick(&GROUPS)).with_count(1 + bytes.below(10) as u32);
    for _ in 0..bytes.below(4) {
        let constraint = match bytes.below(MEMBER_OF.len() + 2) {
            k if k < MEMBER_OF.len() => match Constraint::member_of(MEMBER_OF[k]) {
                Ok(constraint) => constraint,
                Err(_) => Constraint::DistinctInstance,
            },
            _ => Constraint::DistinctInstance,
        };
        request = request.with_constraint(constraint);
    }
    let rules = [
        StrategyRule::Binpack(placement::BinpackField::Memory),
        StrategyRule::Binpack(placement::BinpackField::Cpu),
        StrategyRule::Spread(SpreadField::InstanceId),
        StrategyRule::Spread(SpreadField::Host),
        StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".to_owned())),
        StrategyRule::Spread(SpreadField::Attribute("rack".to_owned())),
        StrategyRule::Random,
    ];
    let strategy = (0..bytes.below(4))
        .map(|_| rules[bytes.below(rules.len())].clone())
        .collect();
    request = request.with_strategy(strategy);
    if bytes.bool() {
        request = request.with_seed(u64::from(bytes.u16()));
    }
    request
}

/// The `placement` target: a cluster and up to two requests decoded from the bytes, planned by
/// the engine and the oracle, applied, and checked:
///
/// - the engine's plan equals the oracle's (and a reused engine's), and one outcome per task;
/// - every placement is on an `ACTIVE` instance with a connected agent, fits, honours every
///   `memberOf` and `distinctInstance` counting earlier tasks of the batch, and applying the
///   tasks one by one gives the state `Plan::apply` gives;
/// - after applying, nothing is overcommitted and no port is booked twice;
/// - a stale plan, or one the state refuses half way, changes nothing;
/// - every failed state mutation on the way changed nothing, and the state survives a snapshot.
pub fn placement(data: &[u8]) -> CheckResult {
    let mut bytes = Bytes { data };
    let mut state = decode_cluster(&mut bytes)?;
    consistent(&state)?;
    let mut engine = Engine::new();
    for _ in 0..2 {
        let request = decode_request(&mut bytes);
        one_plan(&mut state, &mut engine, &request)?;
        consistent(&state)?;
        if bytes.data.is_empty() {
            break;
        }
    }
    let restored = ClusterState::from_snapshot(state.to_snapshot())
        .map_err(|e| format!("a state does not restore from its own snapshot: {e}"))?;
    ensure!(restored == state, "the restored state differs");
    Ok(())
}

fn one_plan(
    state: &mut ClusterState,
    engine: &mut Engine,
    request: &PlacementRequest,
) -> CheckResult {
    let planned = match engine.plan(state, request) {
        Ok(plan) => plan,
        Err(error) => {
            ensure!(
                request.validate().is_err(),
                "plan refused a request that validates: {error}"
            );
            return Ok(());
        }
    };
    let oracle = placement::oracle::plan(state, request)
        .map_err(|e| format!("the oracle refused a request the engine took: {e}"))?;
    ensure!(
        planned == oracle,
        "engine and oracle disagree:\n engine: {:?}\n oracle: {:?}",
        planned.outcomes(),
        oracle.outcomes()
    );
    ensure!(
        placement::plan(state, request).as_ref() == Ok(&planned),
        "a fresh engine and a reused one disagree"
    );
    let count = request.count as usize;
    ensure!(
        planned.outcomes().len() == count && planned.n_placed() + planned.n_failed() == count,
        "{} outcomes, {} placed + {} failed, for {count} tasks",
        planned.outcomes().len(),
        planned.n_placed(),
        planned.n_failed()
    );

    // Replay the batch task by task on a copy, checking each placement against the state it
    // was made in (earlier tasks of the batch included).
    let mut replay = state.clone();
    let member_of: Vec<&Expr> = request
        .constraints
        .iter()
        .filter_map(|c| match c {
            Constraint::MemberOf(expr) => Some(expr),
            Constraint::DistinctInstance => None,
        })
        .collect();
    let distinct = request.constraints.contains(&Constraint::DistinctInstance);
    for outcome in planned.outcomes() {
        let placement = match outcome {
            Outcome::Placed(placement) => placement,
            Outcome::Failed(failure) => {
                ensure!(
                    failure.instance.is_some()
                        == (failure.reason != placement::FailureReason::NoContainerInstances),
                    "failure {failure:?} names an instance iff one was considered"
                );
                continue;
            }
        };
        let instance = replay
            .instance(placement.instance)
            .map_err(|e| format!("placed on an unknown instance: {e}"))?;
        ensure!(
            instance.status() == InstanceStatus::Active && instance.agent_connected(),
            "placed on {} which is {} (agent connected: {})",
            instance.id(),
            instance.status(),
            instance.agent_connected()
        );
        let view = Live(instance);
        for expr in &member_of {
            ensure!(
                expr.eval(&view),
                "memberOf({expr}) does not hold on {} where a task was placed",
                instance.id()
            );
        }
        if distinct {
            ensure!(
                !instance.groups().contains_key(&request.group),
                "distinctInstance: {} already holds a task of {}",
                instance.id(),
                request.group
            );
        }
        for (name, value) in &request.demand.required_attributes {
            let held = instance.attribute(name);
            ensure!(
                held.is_some() && (value.is_none() || held == Some(value.as_deref())),
                "required attribute {name}={value:?} missing on {}",
                instance.id()
            );
        }
        if let Some(zones) = &request.demand.availability_zones {
            let zone = instance.attribute("ecs.availability-zone").flatten();
            ensure!(
                zone.is_some_and(|zone| zones.iter().any(|z| z == zone)),
                "placed on {} in zone {zone:?}, outside {zones:?}",
                instance.id()
            );
        }
        ensure!(
            placement.gpus.len() == request.demand.gpus,
            "{} GPUs assigned for a demand of {}",
            placement.gpus.len(),
            request.demand.gpus
        );
        let reservation = Reservation {
            cpu: request.demand.cpu,
            memory: request.demand.memory,
            ports_tcp: request.demand.ports_tcp.clone(),
            ports_udp: request.demand.ports_udp.clone(),
            gpus: placement.gpus,
            eni: request.demand.eni,
        };
        replay
            .add_task(placement.instance, &request.group, reservation)
            .map_err(|e| format!("the state refuses a planned task: {e}"))?;
    }

    // A stale plan changes nothing.
    let mut touched = state.clone();
    touched.set_placement_rng(touched.placement_rng() ^ 1);
    let touched_before = touched.clone();
    ensure!(
        planned.clone().apply(&mut touched).is_err() && touched == touched_before,
        "a stale plan applied or changed the state"
    );
    // A plan the state refuses half way (its last instance has no memory left, same version)
    // is undone completely.
    if request.demand.memory > 0
        && let Some(last) = planned.outcomes().iter().rev().find_map(Outcome::placement)
    {
        let mut snapshot = state.to_snapshot();
        let idx = last.instance.as_usize();
        let remaining = state.remaining_memory()[idx];
        snapshot.instances[idx].spec.memory -= remaining.min(snapshot.instances[idx].spec.memory);
        if let Ok(mut squeezed) = ClusterState::from_snapshot(snapshot) {
            let before = squeezed.clone();
            ensure!(
                squeezed.version() == planned.state_version(),
                "a snapshot does not keep the version"
            );
            let result = planned.clone().apply(&mut squeezed);
            ensure!(
                result.is_err() && squeezed == before,
                "a plan the state refuses half way was not undone: {result:?}"
            );
        }
    }

    let n_placed = planned.n_placed();
    let task_ids = planned
        .apply(state)
        .map_err(|e| format!("a fresh plan does not apply: {e}"))?;
    ensure!(
        task_ids.len() == n_placed && task_ids.iter().all(|id| state.task(*id).is_some()),
        "apply returned ids of tasks the state does not hold"
    );
    let tasks_applied: Vec<_> = state.tasks().map(|(id, task)| (id, task.clone())).collect();
    let tasks_replayed: Vec<_> = replay
        .tasks()
        .map(|(id, task)| (id, task.clone()))
        .collect();
    ensure!(
        tasks_applied == tasks_replayed,
        "Plan::apply and placing task by task give different tasks"
    );
    Ok(())
}

/// An instance as the state has it, as a CQL subject.
#[derive(Debug)]
struct Live<'a>(&'a Instance);

impl Subject for Live<'_> {
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

/// No overcommit, recomputed from the tasks: CPU, memory, ENIs and GPUs within what each
/// instance registered, the state's remaining counters equal to registered minus held, and no
/// (port, protocol) booked twice on an instance.
fn consistent(state: &ClusterState) -> CheckResult {
    let mut used: BTreeMap<InstanceIdx, (u64, u64, u32, u64)> = BTreeMap::new();
    let mut booked: BTreeMap<(InstanceIdx, bool), BTreeSet<u16>> = BTreeMap::new();
    for (idx, instance) in state.instances() {
        let spec = instance.spec();
        booked.insert((idx, false), spec.ports_tcp.iter().copied().collect());
        booked.insert((idx, true), spec.ports_udp.iter().copied().collect());
    }
    for (task_id, task) in state.tasks() {
        let r = &task.reservation;
        let entry = used.entry(task.instance).or_default();
        entry.0 += u64::from(r.cpu);
        entry.1 += u64::from(r.memory);
        entry.2 += u32::from(r.eni);
        ensure!(
            entry.3 & r.gpus.0 == 0,
            "task {task_id}: a GPU is assigned twice"
        );
        entry.3 |= r.gpus.0;
        for (udp, list) in [(false, &r.ports_tcp), (true, &r.ports_udp)] {
            let pool = booked
                .get_mut(&(task.instance, udp))
                .ok_or_else(|| format!("task {task_id} on an unknown instance"))?;
            for port in list {
                ensure!(
                    pool.insert(*port),
                    "port {port} (udp: {udp}) booked twice on {}",
                    task.instance
                );
            }
        }
    }
    for (idx, instance) in state.instances() {
        let spec = instance.spec();
        let (cpu, memory, eni, gpus) = used.get(&idx).copied().unwrap_or_default();
        ensure!(cpu <= u64::from(spec.cpu), "CPU overcommitted on {idx}");
        ensure!(
            memory <= u64::from(spec.memory),
            "memory overcommitted on {idx}"
        );
        ensure!(
            u64::from(state.remaining_cpu()[idx.as_usize()]) == u64::from(spec.cpu) - cpu,
            "remaining CPU on {idx} is not registered minus held"
        );
        ensure!(
            u64::from(state.remaining_memory()[idx.as_usize()]) == u64::from(spec.memory) - memory,
            "remaining memory on {idx} is not registered minus held"
        );
        ensure!(
            spec.eni_capacity.is_none_or(|capacity| eni <= capacity),
            "ENIs overcommitted on {idx}"
        );
        ensure!(
            gpus & !GpuSet::first(spec.gpu_ids.len()).0 == 0,
            "an unregistered GPU is assigned on {idx}"
        );
        for udp in [false, true] {
            ensure!(
                booked[&(idx, udp)].len() <= MAX_RESERVED_PORTS,
                "more than {MAX_RESERVED_PORTS} ports booked on {idx}"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// scenario and api_sequence

/// Every cluster's placement state is consistent (no overcommit, no port booked twice).
fn ecs_consistent(ecs: &Ecs) -> CheckResult {
    for cluster in ecs.clusters() {
        consistent(&cluster.state).map_err(|e| format!("cluster {}: {e}", cluster.name))?;
    }
    Ok(())
}

/// The snapshot restores to an ECS with the same snapshot, byte for byte.
fn ecs_restores(ecs: &Ecs) -> CheckResult {
    let snapshot = ecs.snapshot();
    let restored =
        Ecs::restore(&snapshot).map_err(|e| format!("a snapshot does not restore: {e}"))?;
    ensure!(
        to_text(&restored.snapshot())? == to_text(&snapshot)?,
        "a restored ECS snapshots differently"
    );
    Ok(())
}

/// The `scenario` target: bytes → [`stowplan::json::parse_bytes`] → the scenario runner, step
/// by step:
///
/// - a step whose output line is an error left the ECS snapshot byte-identical (except an
///   unresolved capture, whose call succeeded);
/// - every output line has its step index and exactly one of `response` / `error`;
/// - after every step no cluster is overcommitted;
/// - `scenario::run` gives the same lines as stepping (the runner is deterministic), and the
///   final state survives snapshot and restore.
pub fn scenario(data: &[u8]) -> CheckResult {
    let Ok(value) = stowplan::json::parse_bytes(data) else {
        return Ok(());
    };
    let Ok(lines) = stowplan::scenario::run(&value) else {
        return Ok(());
    };
    let (Ok(config), Some(steps)) = (
        stowplan::scenario::config_of(&value),
        value.get("steps").and_then(Value::as_array),
    ) else {
        return Err("run accepted a scenario without config or steps".to_string());
    };
    ensure!(
        lines.len() == steps.len(),
        "{} lines for {} steps",
        lines.len(),
        steps.len()
    );
    let mut runner = stowplan::scenario::Runner::new(config);
    for (index, step) in steps.iter().enumerate() {
        let before = to_text(&runner.ecs().snapshot())?;
        let line = runner.step(index, step);
        ensure!(
            line == lines[index],
            "step {index}: stepping and run disagree (the runner is not deterministic)"
        );
        ensure!(
            line.get("step") == Some(&Value::from(index))
                && line.get("response").is_some() != line.get("error").is_some(),
            "step {index}: malformed output line {}",
            to_text(&line)?
        );
        // A capture that does not resolve is an error line after a call that succeeded
        // (scenario-format.md): the call's effect stays, by design. Every other error line
        // means nothing ran, or the call failed, and must leave the state as it was.
        let capture_failed = line.pointer("/error/type") == Some(&json!("ScenarioError"))
            && line
                .pointer("/error/message")
                .and_then(Value::as_str)
                .is_some_and(|message| message.starts_with("capture '"));
        if let Some(error) = line.get("error")
            && !capture_failed
        {
            ensure!(
                to_text(&runner.ecs().snapshot())? == before,
                "step {index} failed ({}) and changed the state",
                to_text(error)?
            );
        }
        ecs_consistent(runner.ecs())?;
    }
    ecs_restores(runner.ecs())
}

/// The ECS under test, and the ARNs it handed out for later calls to refer to.
struct World {
    ecs: Ecs,
    caller: Caller,
    instances: Vec<String>,
    tasks: Vec<String>,
}

const CLUSTERS: [&str; 2] = ["c", "other"];
const FAMILIES: [&str; 3] = ["a", "b", "c"];

/// Values that break requests: wrong types, empties, out-of-range numbers, long strings.
fn hostile(bytes: &mut Bytes<'_>) -> Value {
    match bytes.below(12) {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!(""),
        3 => json!([]),
        4 => json!({}),
        5 => json!(i64::MAX),
        6 => json!(1.5e300),
        7 => json!("x".repeat(usize::from(bytes.u8()) * 8)),
        8 => json!(["", null, 1]),
        9 => json!(true),
        10 => json!("arn:aws:ecs:us-east-1:123456789012:task/c/0"),
        _ => json!(u64::from(bytes.u16())),
    }
}

impl World {
    fn pick(list: &[String], bytes: &mut Bytes<'_>) -> String {
        if list.is_empty() || bytes.below(8) == 0 {
            "none".to_string()
        } else {
            list[bytes.below(list.len())].clone()
        }
    }

    fn request(&self, bytes: &mut Bytes<'_>) -> (&'static str, Value) {
        let cluster = bytes.pick(&CLUSTERS);
        let family = bytes.pick(&FAMILIES);
        let instance = Self::pick(&self.instances, bytes);
        let task = Self::pick(&self.tasks, bytes);
        match bytes.below(22) {
            0 => ("CreateCluster", json!({"clusterName": cluster})),
            1 => ("DeleteCluster", json!({"cluster": cluster})),
            2 => (
                "DescribeClusters",
                json!({"clusters": [cluster], "include": ["STATISTICS"]}),
            ),
            3 | 4 => {
                let memory = 64 << bytes.below(6);
                let port = match bytes.below(3) {
                    0 => json!([]),
                    1 => json!([{"containerPort": 80, "hostPort": 8080}]),
                    _ => json!([{"containerPort": 53, "hostPort": 53, "protocol": "udp"}]),
                };
                let mut request = json!({"family": family, "containerDefinitions": [
                    {"name": family, "image": "nginx:1", "cpu": 128, "memory": memory, "portMappings": port}]});
                if bytes.below(4) == 0 {
                    request["placementConstraints"] = json!([{"type": "memberOf",
                        "expression": bytes.pick(&["attribute:zone != z0", "attribute:ecs.availability-zone in [us-east-1a]", "bad =="])}]);
                }
                ("RegisterTaskDefinition", request)
            }
            5 => (
                "DeregisterTaskDefinition",
                json!({"taskDefinition": format!("{family}:{}", 1 + bytes.below(3))}),
            ),
            6 => (
                "DeleteTaskDefinitions",
                json!({"taskDefinitions": [format!("{family}:{}", 1 + bytes.below(3))]}),
            ),
            7 | 8 => {
                let zone = bytes.pick(&["a", "b", "c"]);
                (
                    "RegisterContainerInstance",
                    json!({"cluster": cluster,
                    "instanceIdentityDocument": format!("{{\"instanceId\":\"i-{}\",\"availabilityZone\":\"us-east-1{zone}\"}}", bytes.below(24)),
                    "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 256 << bytes.below(5)},
                                       {"name": "MEMORY", "type": "INTEGER", "integerValue": 256 << bytes.below(5)},
                                       {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}],
                    "attributes": [{"name": "zone", "value": format!("z{}", bytes.below(3))}]}),
                )
            }
            9 => (
                "DeregisterContainerInstance",
                json!({"cluster": cluster, "containerInstance": instance, "force": bytes.bool()}),
            ),
            10 => (
                "UpdateContainerInstancesState",
                json!({"cluster": cluster, "containerInstances": [instance],
                "status": bytes.pick(&["ACTIVE", "DRAINING", "INACTIVE"])}),
            ),
            11 => (
                "PutAttributes",
                json!({"cluster": cluster, "attributes": [{"name": format!("k{}", bytes.below(12)), "value": "v", "targetId": instance}]}),
            ),
            12 => (
                "DeleteAttributes",
                json!({"cluster": cluster, "attributes": [{"name": "zone", "targetId": instance}]}),
            ),
            13..=15 => {
                let mut request = json!({"cluster": cluster, "taskDefinition": family, "count": bytes.below(13) as i64 - 1});
                match bytes.below(5) {
                    0 => {
                        request["placementStrategy"] =
                            json!([{"type": "binpack", "field": "memory"}])
                    }
                    1 => {
                        request["placementStrategy"] =
                            json!([{"type": "spread", "field": "instanceId"}])
                    }
                    2 => request["placementStrategy"] = json!([{"type": "random"}]),
                    3 => request["placementConstraints"] = json!([{"type": "distinctInstance"}]),
                    _ => {}
                }
                ("RunTask", request)
            }
            16 => (
                "StartTask",
                json!({"cluster": cluster, "taskDefinition": family, "containerInstances": [instance]}),
            ),
            17 => (
                "StopTask",
                json!({"cluster": cluster, "task": task, "reason": "fuzz"}),
            ),
            18 => match bytes.below(4) {
                0 => (
                    "DescribeTasks",
                    json!({"cluster": cluster, "tasks": [task]}),
                ),
                1 => (
                    "ListTasks",
                    json!({"cluster": cluster, "maxResults": bytes.below(4)}),
                ),
                2 => (
                    "ListContainerInstances",
                    json!({"cluster": cluster,
                    "filter": bytes.pick(&["attribute:zone == z1", "runningTasksCount > 0", "task:group == family:a", "((("])}),
                ),
                _ => (
                    "DescribeContainerInstances",
                    json!({"cluster": cluster, "containerInstances": [instance]}),
                ),
            },
            19 => (
                "Sim.Advance",
                json!({"seconds": bytes.below(120) as i64 - 10}),
            ),
            20 => match bytes.below(4) {
                0 => (
                    "Sim.DisconnectAgent",
                    json!({"cluster": cluster, "containerInstance": instance}),
                ),
                1 => (
                    "Sim.ConnectAgent",
                    json!({"cluster": cluster, "containerInstance": instance}),
                ),
                2 => (
                    "Sim.TerminateInstance",
                    json!({"cluster": cluster, "containerInstance": instance}),
                ),
                _ => (
                    "Sim.FailAvailabilityZone",
                    json!({"cluster": cluster, "availabilityZone": "us-east-1b"}),
                ),
            },
            _ => (
                "Sim.StopContainer",
                json!({"cluster": cluster, "task": task, "containerName": family, "exitCode": 1}),
            ),
        }
    }
}

/// The `api_sequence` target: bytes → up to 32 API calls against one [`Ecs`], each an
/// operation with a sensible request that is sometimes damaged (a member replaced by a hostile
/// value, or dropped, or the whole body replaced). After every call:
///
/// - a call that returned an error left `ecs.snapshot()` byte-identical;
/// - no cluster is overcommitted and no port is booked twice;
///
/// and at the end the state survives snapshot and restore.
pub fn api_sequence(data: &[u8]) -> CheckResult {
    let mut bytes = Bytes { data };
    let config = EcsConfig {
        seed: u64::from(bytes.u8()),
        ..EcsConfig::default()
    };
    let caller = Caller::root(&config.account);
    let mut world = World {
        ecs: Ecs::new(config),
        caller,
        instances: Vec::new(),
        tasks: Vec::new(),
    };
    for _ in 0..32 {
        if bytes.data.is_empty() {
            break;
        }
        let (operation, mut request) = world.request(&mut bytes);
        match bytes.below(8) {
            0 => {
                let keys: Vec<String> = request
                    .as_object()
                    .map(|map| map.keys().cloned().collect())
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let key = keys[bytes.below(keys.len())].clone();
                    request[key.as_str()] = hostile(&mut bytes);
                }
            }
            1 => {
                if let Some(map) = request.as_object_mut()
                    && !map.is_empty()
                {
                    let index = bytes.below(map.len());
                    if let Some(key) = map.keys().nth(index).cloned() {
                        map.remove(&key);
                    }
                }
            }
            2 if bytes.below(4) == 0 => request = hostile(&mut bytes),
            _ => {}
        }
        let before = to_text(&world.ecs.snapshot())?;
        // The text entry point (RunTask written straight from the task records) agrees with
        // the Value one: same bytes, same error, same state after.
        let mut twin = world.ecs.clone();
        let text =
            stowplan::api::call_json(&mut twin, operation, &to_text(&request)?, &world.caller);
        let outcome = stowplan::api::call(&mut world.ecs, operation, &request, &world.caller);
        match (&outcome, &text) {
            (Ok(value), Ok(text)) => ensure!(
                &to_text(value)? == text,
                "{operation}: call_json wrote other bytes than call"
            ),
            (Err(a), Err(b)) => {
                ensure!(a == b, "{operation}: call_json failed otherwise: {b} / {a}")
            }
            _ => {
                return Err(format!(
                    "{operation}: call and call_json disagree on success"
                ));
            }
        }
        ensure!(
            twin == world.ecs,
            "{operation}: call_json left another state than call"
        );
        match outcome {
            Ok(response) => {
                if let Some(arn) = response
                    .pointer("/containerInstance/containerInstanceArn")
                    .and_then(Value::as_str)
                {
                    world.instances.push(arn.to_owned());
                }
                for task in response
                    .get("tasks")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    if let Some(arn) = task.get("taskArn").and_then(Value::as_str) {
                        world.tasks.push(arn.to_owned());
                    }
                }
            }
            Err(error) => {
                ensure!(
                    to_text(&world.ecs.snapshot())? == before,
                    "{operation} {} failed ({}: {}) and changed the state",
                    to_text(&request)?,
                    error.error_type,
                    error.message
                );
            }
        }
        ecs_consistent(&world.ecs)?;
    }
    ecs_restores(&world.ecs)
}

// ---------------------------------------------------------------------------------------------
// iam

/// The `iam` target: bytes as an IAM policy document (the first line doubling as a wildcard
/// pattern matched against the rest). Parsing returns a policy or a `PolicyError`; any parsed
/// policy evaluates to a decision; and a boundary never widens what the identity policy allows
/// (permissions.md §4.1, §4.5).
pub fn iam(data: &[u8]) -> CheckResult {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    if let Some((pattern, rest)) = text.split_once('\n') {
        let _ = iam::wildcard_match(pattern, rest, false);
        let _ = iam::wildcard_match(pattern, rest, true);
    }
    let Ok(policy) = Policy::parse(text) else {
        return Ok(());
    };
    let _ = policy.check_identity();
    let mut context = Context::new();
    context.insert("aws:username", "alice");
    context.insert("aws:SourceIp", "10.0.0.1");
    context.insert("aws:CurrentTime", "2026-01-01T00:00:00Z");
    context.insert_list("aws:TagKeys", vec!["env".to_owned(), "*".to_owned()]);
    let sources = [PolicySource {
        id: "fuzz",
        policy: &policy,
    }];
    for (action, resource) in [
        (
            "ecs:RunTask",
            "arn:aws:ecs:us-east-1:1:task-definition/web:1",
        ),
        ("s3:GetObject", "*"),
        ("", ""),
    ] {
        let request = Request {
            action,
            resource,
            context: &context,
        };
        let with = iam::evaluate(&request, &sources, Some(&sources));
        let without = iam::evaluate(&request, &sources, None);
        ensure!(
            with.decision != Decision::Allowed || without.decision == Decision::Allowed,
            "a boundary widened {action} on {resource}: {:?} with, {:?} without",
            with.decision,
            without.decision
        );
        let _ = with.denial_reason(action);
    }
    Ok(())
}
