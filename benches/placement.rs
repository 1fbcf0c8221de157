//! Placement throughput (5 strategies, each without and with a `memberOf` on an attribute, at
//! 100, 1,000 and 5,000 instances) and CQL evaluation.
//!
//! ```text
//! cargo bench --bench placement
//! STOWPLAN_BENCH_TASKS=100000 cargo bench --bench placement -- stream
//! ```
//!
//! - `placement/<M>/<case>`: one iteration plans one batch of [`BATCH`] tasks against the same
//!   state (the plan is not applied, so every iteration does the same work); instances are sized
//!   so that the whole batch fits, and every case asserts that before it is timed.
//! - `stream/<M>/<case>`: one iteration places [`STREAM_TASKS`] tasks (1,000,000 unless
//!   `STOWPLAN_BENCH_TASKS` says otherwise) in applied plans of [`BATCH`], stopping the oldest
//!   batch whenever [`LIVE_BATCHES`] are running so that the cluster never fills: every plan must
//!   place its whole batch (asserted in the loop, before the time is reported). Only planning is
//!   timed; applying and stopping are not. The state's persistent index replays the instances
//!   that applying and stopping changed, so this is the steady-state cost of a long-running
//!   cluster.
//!
//! Throughput is in tasks. `examples/perf.rs` measures the same engine against the oracle.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stowplan::cql::{self, Subject};
use stowplan::placement::rng::SplitMix64;
use stowplan::placement::{Constraint, Demand, Engine, PlacementRequest, StrategyRule};
use stowplan::state::{ClusterState, InstanceSpec, TaskId};

const BATCH: u32 = 1_000;
/// Tasks placed per `stream` iteration, unless `STOWPLAN_BENCH_TASKS` is set.
const STREAM_TASKS: u64 = 1_000_000;
/// Batches kept running in the `stream` benches; the oldest is stopped beyond this.
const LIVE_BATCHES: usize = 4;
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const TYPES: [&str; 3] = ["m5.large", "c5.xlarge", "r5.large"];
const MEMBER_OF: &str = "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]";

/// `n_instances` instances in three zones, large enough that `live` tasks fit in two of the zones.
fn cluster(n_instances: usize, live: usize) -> ClusterState {
    let per_instance = (live / n_instances + 1) as u32 * 2;
    let mut rng = SplitMix64::new(7);
    let mut state = ClusterState::new();
    for k in 0..n_instances {
        let spec = InstanceSpec::new(format!("i-{k}"), 256 * per_instance, 512 * per_instance)
            .with_attribute("ecs.availability-zone", Some(ZONES[rng.draw_index(3)]))
            .with_attribute("ecs.instance-type", Some(TYPES[rng.draw_index(3)]));
        state.register(spec).expect("generated instances are valid");
    }
    state
}

fn placement(c: &mut Criterion) {
    let strategies = [
        "binpack:memory",
        "binpack:cpu",
        "spread:attribute:ecs.availability-zone",
        "spread:instanceId",
        "random",
    ];
    let member_of = Constraint::member_of(MEMBER_OF).expect("the expression parses");
    for n_instances in [100, 1_000, 5_000] {
        let state = cluster(n_instances, BATCH as usize);
        let mut group = c.benchmark_group(format!("placement/{n_instances}"));
        group
            .throughput(Throughput::Elements(u64::from(BATCH)))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for strategy in strategies {
            let rule: StrategyRule = strategy.parse().expect("known strategy");
            for constrained in [false, true] {
                let mut request = PlacementRequest::new(Demand::new(128, 256), "family:web")
                    .with_count(BATCH)
                    .with_strategy(vec![rule.clone()])
                    .with_seed(1);
                if constrained {
                    request = request.with_constraint(member_of.clone());
                }
                let mut engine = Engine::new();
                // Check what is measured before timing it: the whole batch is placed.
                let plan = engine.plan(&state, &request).expect("valid request");
                assert_eq!(
                    plan.n_placed(),
                    BATCH as usize,
                    "{strategy}: batch must fit"
                );
                let name = if constrained {
                    format!("{strategy}+memberOf")
                } else {
                    strategy.to_owned()
                };
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| engine.plan(&state, &request).expect("valid request"))
                });
            }
        }
        group.finish();
    }
}

fn stream_tasks() -> u64 {
    std::env::var("STOWPLAN_BENCH_TASKS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(STREAM_TASKS)
        .max(u64::from(BATCH))
}

/// Places `total` tasks in applied plans of [`BATCH`] on a clone of `base`, stopping the oldest
/// batch beyond [`LIVE_BATCHES`]; returns the time spent planning. Panics if a plan does not
/// place its whole batch.
// Timing is the point of a benchmark: allow the wall clock here only.
#[allow(clippy::disallowed_methods)]
fn stream(base: &ClusterState, request: &PlacementRequest, total: u64) -> Duration {
    let mut state = base.clone();
    let mut engine = Engine::new();
    // Build the state's index for the shape (O(M), once per cluster), untimed.
    let _ = engine.plan(&state, request).expect("valid request");
    let mut live: VecDeque<Vec<TaskId>> = VecDeque::new();
    let mut planning = Duration::ZERO;
    let mut placed = 0u64;
    while placed < total {
        let started = Instant::now();
        let plan = engine.plan(&state, request).expect("valid request");
        planning += started.elapsed();
        assert_eq!(
            plan.n_placed(),
            BATCH as usize,
            "a stream plan must place its batch"
        );
        placed += BATCH as u64;
        live.push_back(plan.apply(&mut state).expect("fresh plan applies"));
        if live.len() > LIVE_BATCHES {
            for task_id in live.pop_front().unwrap_or_default() {
                state.release_task(task_id).expect("running task");
            }
        }
    }
    assert!(placed >= total);
    planning
}

fn placement_stream(c: &mut Criterion) {
    let total = stream_tasks();
    let strategies = [
        "binpack:memory",
        "binpack:cpu",
        "spread:attribute:ecs.availability-zone",
        "spread:instanceId",
        "random",
    ];
    let member_of = Constraint::member_of(MEMBER_OF).expect("the expression parses");
    for n_instances in [100, 1_000, 5_000] {
        let base = cluster(n_instances, (LIVE_BATCHES + 1) * BATCH as usize);
        let mut group = c.benchmark_group(format!("stream/{n_instances}"));
        group
            .throughput(Throughput::Elements(total))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
        for strategy in strategies {
            let rule: StrategyRule = strategy.parse().expect("known strategy");
            for constrained in [false, true] {
                let mut request = PlacementRequest::new(Demand::new(128, 256), "family:web")
                    .with_count(BATCH)
                    .with_strategy(vec![rule.clone()])
                    .with_seed(1);
                if constrained {
                    request = request.with_constraint(member_of.clone());
                }
                let name = if constrained {
                    format!("{strategy}+memberOf")
                } else {
                    strategy.to_owned()
                };
                group.bench_function(BenchmarkId::new(name, total), |b| {
                    b.iter_custom(|iterations| {
                        (0..iterations)
                            .map(|_| stream(&base, &request, total))
                            .sum()
                    })
                });
            }
        }
        group.finish();
    }
}

/// A plain instance for CQL evaluation.
struct Host {
    zone: &'static str,
    instance_type: &'static str,
    groups: Vec<&'static str>,
}

impl Subject for Host {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        match name {
            "ecs.availability-zone" => Some(Some(self.zone)),
            "ecs.instance-type" => Some(Some(self.instance_type)),
            _ => None,
        }
    }
    fn agent_connected(&self) -> bool {
        true
    }
    fn agent_version(&self) -> Option<&str> {
        Some("1.80.0")
    }
    fn ec2_instance_id(&self) -> Option<&str> {
        Some("i-0123456789abcdef0")
    }
    fn registered_at(&self) -> Option<i64> {
        Some(1_700_000_000)
    }
    fn running_tasks_count(&self) -> u64 {
        self.groups.len() as u64
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.groups.iter().any(|group| pred(group))
    }
}

fn cql_eval(c: &mut Criterion) {
    let hosts: Vec<Host> = (0..1_000)
        .map(|k| Host {
            zone: ZONES[k % 3],
            instance_type: TYPES[k % 3],
            groups: if k % 2 == 0 { vec!["web"] } else { vec![] },
        })
        .collect();
    let expressions = [
        ("equals", "attribute:ecs.availability-zone == us-east-1a"),
        ("in", MEMBER_OF),
        ("regex", "attribute:ecs.instance-type =~ m5.*"),
        (
            "compound",
            "attribute:ecs.instance-type =~ t2.* and not(task:group == database) or runningTasksCount < 3",
        ),
        ("agentVersion", "agentVersion >= 1.14.0"),
    ];
    let mut group = c.benchmark_group("cql_eval");
    group
        .throughput(Throughput::Elements(hosts.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (name, text) in expressions {
        let expr = cql::parse(text).expect("the expression parses");
        // Check what is measured: the expression is true on some hosts and false on others
        // (or, for the version test, evaluates at all).
        let matches = hosts.iter().filter(|host| expr.eval(*host)).count();
        assert!(matches > 0, "{name}: matches nothing");
        group.bench_function(name, |b| {
            b.iter(|| hosts.iter().filter(|host| expr.eval(*host)).count())
        });
    }
    group.finish();
}

criterion_group!(benches, placement, placement_stream, cql_eval);
criterion_main!(benches);
