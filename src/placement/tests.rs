//! Rule-by-rule tests of placement. Every case runs both the engine and the oracle through
//! [`check`] and requires them to agree before looking at the result.

use crate::state::{ClusterState, GpuSet, InstanceIdx, InstanceSpec, InstanceStatus, Reservation};

use super::explain::{Decision, PortProblem};
use super::*;

/// Plans with the engine and the oracle, requires equal plans, and returns the engine's.
fn check(state: &ClusterState, request: &PlacementRequest) -> Plan {
    let engine = plan(state, request).expect("request is valid");
    let reference = oracle::plan(state, request).expect("request is valid");
    assert_eq!(engine, reference, "engine and oracle disagree");
    engine
}

/// The instance index of each task, or the failure reason string.
fn summary(plan: &Plan) -> Vec<String> {
    plan.outcomes()
        .iter()
        .map(|outcome| match outcome {
            Outcome::Placed(placement) => placement.instance.0.to_string(),
            Outcome::Failed(failure) => match failure.instance {
                Some(instance) => format!("{}@{}", failure.reason, instance.0),
                None => failure.reason.to_string(),
            },
        })
        .collect()
}

fn instance(id: &str, cpu: u32, memory: u32, zone: &str) -> InstanceSpec {
    InstanceSpec::new(id, cpu, memory)
        .with_ports_tcp(vec![22, 2375, 2376, 51678, 51679])
        .with_attribute("ecs.availability-zone", Some(zone))
        .with_attribute("ecs.os-type", Some("linux"))
}

fn cluster(specs: Vec<InstanceSpec>) -> ClusterState {
    let mut state = ClusterState::new();
    for spec in specs {
        state.register(spec).unwrap();
    }
    state
}

fn request(cpu: u32, memory: u32) -> PlacementRequest {
    PlacementRequest::new(Demand::new(cpu, memory), "family:web")
}

fn binpack_memory() -> Vec<StrategyRule> {
    vec![StrategyRule::Binpack(BinpackField::Memory)]
}

fn three_zones() -> ClusterState {
    cluster(vec![
        instance("a", 4096, 8192, "us-east-1a"),
        instance("b", 4096, 8192, "us-east-1a"),
        instance("c", 4096, 8192, "us-east-1b"),
        instance("d", 4096, 8192, "us-east-1c"),
    ])
}

#[test]
fn pl_candidates_skip_draining_and_inactive_instances() {
    let mut state = three_zones();
    state
        .set_status(InstanceIdx(0), InstanceStatus::Draining)
        .unwrap();
    state.deregister(InstanceIdx(1), false).unwrap();
    let plan = check(&state, &request(128, 128).with_count(2));
    assert_eq!(summary(&plan), ["2", "3"]);
}

#[test]
fn ci_agent_connected_disconnected_instance_fails_with_agent() {
    let mut state = cluster(vec![instance("a", 1024, 1024, "us-east-1a")]);
    state.set_agent_connected(InstanceIdx(0), false).unwrap();
    let plan = check(&state, &request(128, 128));
    assert_eq!(summary(&plan), ["AGENT@0"]);
}

#[test]
fn pl_runtask_no_instances_reports_no_container_instances() {
    let plan = check(&ClusterState::new(), &request(128, 128));
    assert_eq!(
        summary(&plan),
        ["No Container Instances were found in your cluster."]
    );
    let mut state = three_zones();
    for k in 0..4 {
        state
            .set_status(InstanceIdx(k), InstanceStatus::Draining)
            .unwrap();
    }
    let plan = check(&state, &request(128, 128));
    assert_eq!(plan.outcomes()[0].failure().unwrap().instance, None);
}

#[test]
fn res_cpu_and_res_memory_failures_name_the_resource() {
    let state = cluster(vec![instance("a", 1024, 2048, "us-east-1a")]);
    assert_eq!(
        summary(&check(&state, &request(1025, 128))),
        ["RESOURCE:CPU@0"]
    );
    assert_eq!(
        summary(&check(&state, &request(1024, 2049))),
        ["RESOURCE:MEMORY@0"]
    );
    // Exactly the remaining amount fits (need <= remaining).
    assert_eq!(summary(&check(&state, &request(1024, 2048))), ["0"]);
}

#[test]
fn pl_fail_closest_reports_the_instance_that_got_furthest() {
    // Instance 0 fails on CPU, instance 1 gets further and fails on memory.
    let state = cluster(vec![
        instance("a", 512, 8192, "us-east-1a"),
        instance("b", 4096, 256, "us-east-1a"),
    ]);
    assert_eq!(
        summary(&check(&state, &request(1024, 1024))),
        ["RESOURCE:MEMORY@1"]
    );
}

#[test]
fn pl_fail_closest_ties_go_to_the_first_registered() {
    let state = cluster(vec![
        instance("a", 512, 8192, "us-east-1a"),
        instance("b", 512, 8192, "us-east-1a"),
    ]);
    assert_eq!(
        summary(&check(&state, &request(1024, 1024))),
        ["RESOURCE:CPU@0"]
    );
}

#[test]
fn pl_batch_partial_success_and_placed_plus_failed_equals_count() {
    let state = cluster(vec![instance("a", 1024, 4096, "us-east-1a")]);
    let plan = check(&state, &request(512, 128).with_count(3));
    assert_eq!(summary(&plan), ["0", "0", "RESOURCE:CPU@0"]);
    assert_eq!(plan.n_placed() + plan.n_failed(), 3);
}

#[test]
fn res_ports_in_use_reserved_and_batch_ports_block() {
    let state = cluster(vec![instance("a", 4096, 4096, "us-east-1a")]);
    // A reserved port (CI-RESERVED-PORTS).
    let ssh = request(1, 1).with_strategy(vec![]);
    let ssh = PlacementRequest {
        demand: Demand::new(1, 1).with_ports_tcp(vec![22]),
        ..ssh
    };
    assert_eq!(summary(&check(&state, &ssh)), ["RESOURCE:PORTS@0"]);
    // A port taken by an earlier task of the same batch (PL-BATCH).
    let web = PlacementRequest {
        demand: Demand::new(1, 1).with_ports_tcp(vec![80]),
        ..ssh
    };
    assert_eq!(
        summary(&check(&state, &web.clone().with_count(2))),
        ["0", "RESOURCE:PORTS@0"]
    );
}

#[test]
fn res_ports_protocol_tcp_and_udp_are_separate_pools() {
    let state = cluster(vec![instance("a", 4096, 4096, "us-east-1a")]);
    let dns_tcp = PlacementRequest::new(Demand::new(1, 1).with_ports_tcp(vec![53]), "dns");
    let dns_udp = PlacementRequest::new(Demand::new(1, 1).with_ports_udp(vec![53]), "dns");
    let mut state = state;
    check(&state, &dns_tcp).apply(&mut state).unwrap();
    assert_eq!(summary(&check(&state, &dns_udp)), ["0"]);
    check(&state, &dns_udp).apply(&mut state).unwrap();
    assert_eq!(summary(&check(&state, &dns_udp)), ["RESOURCE:PORTS_UDP@0"]);
}

#[test]
fn res_ports_by_mode_a_task_repeating_a_port_never_fits() {
    let state = cluster(vec![instance("a", 4096, 4096, "us-east-1a")]);
    let twice = PlacementRequest::new(Demand::new(1, 1).with_ports_tcp(vec![80, 80]), "g");
    assert_eq!(summary(&check(&state, &twice)), ["RESOURCE:PORTS@0"]);
    let explanation = explain(&state, &twice).unwrap();
    assert_eq!(
        explanation.tasks[0].verdicts[0].1,
        Verdict::Rejected(Rejection::Ports(PortProblem::Repeated(80)))
    );
}

#[test]
fn res_ports_cap_counts_reserved_ports_and_reports_resource_ports() {
    // 95 reserved + 5 requested = 100 fits; 95 + 6 does not (RES-PORTS-CAP, (inferred) reason).
    let state = cluster(vec![
        InstanceSpec::new("a", 4096, 4096).with_ports_tcp((1..=95).collect()),
    ]);
    let five = PlacementRequest::new(
        Demand::new(1, 1).with_ports_tcp((1000..1005).collect()),
        "g",
    );
    let six = PlacementRequest::new(
        Demand::new(1, 1).with_ports_tcp((1000..1006).collect()),
        "g",
    );
    assert_eq!(summary(&check(&state, &five)), ["0"]);
    assert_eq!(summary(&check(&state, &six)), ["RESOURCE:PORTS@0"]);
}

#[test]
fn res_gpu_assigns_lowest_free_ids_in_registration_order() {
    let gpus = vec!["gpu-a".to_owned(), "gpu-b".to_owned(), "gpu-c".to_owned()];
    let mut state = cluster(vec![
        instance("a", 4096, 4096, "us-east-1a").with_gpu_ids(gpus),
    ]);
    let one = PlacementRequest::new(Demand::new(1, 1).with_gpus(1), "g").with_count(2);
    let plan = check(&state, &one);
    assert_eq!(plan.outcomes()[0].placement().unwrap().gpus, GpuSet(0b001));
    assert_eq!(plan.outcomes()[1].placement().unwrap().gpus, GpuSet(0b010));
    plan.apply(&mut state).unwrap();
    let two = PlacementRequest::new(Demand::new(1, 1).with_gpus(2), "g");
    assert_eq!(summary(&check(&state, &two)), ["RESOURCE:GPU@0"]);
    let instance = state.instance(InstanceIdx(0)).unwrap();
    assert_eq!(
        instance.gpu_ids(instance.gpus_free()).collect::<Vec<_>>(),
        ["gpu-c"]
    );
}

#[test]
fn res_eni_capacity_limits_awsvpc_tasks_and_unknown_is_unlimited() {
    let state = cluster(vec![
        instance("a", 4096, 4096, "us-east-1a").with_eni_capacity(Some(2)),
        instance("b", 4096, 4096, "us-east-1a"),
    ]);
    let awsvpc = PlacementRequest::new(Demand::new(1, 1).with_eni(true), "g")
        .with_strategy(vec![])
        .with_count(4);
    assert_eq!(summary(&check(&state, &awsvpc)), ["0", "0", "1", "1"]);
    let only_a = PlacementRequest {
        demand: Demand::new(1, 1)
            .with_eni(true)
            .with_required_attribute("only", None),
        ..awsvpc
    };
    let mut state = state;
    state.put_attribute(InstanceIdx(0), "only", None).unwrap();
    assert_eq!(
        summary(&check(&state, &only_a.with_count(3))),
        ["0", "0", "RESOURCE:ENI@0"]
    );
}

#[test]
fn res_attributes_missing_or_different_value_fails_with_attribute() {
    let state = cluster(vec![instance("a", 4096, 4096, "us-east-1a")]);
    let needs_task_eni = PlacementRequest::new(
        Demand::new(1, 1).with_required_attribute("ecs.capability.task-eni", None),
        "g",
    );
    assert_eq!(summary(&check(&state, &needs_task_eni)), ["ATTRIBUTE@0"]);
    let windows = PlacementRequest::new(
        Demand::new(1, 1).with_required_attribute("ecs.os-type", Some("windows")),
        "g",
    );
    assert_eq!(summary(&check(&state, &windows)), ["ATTRIBUTE@0"]);
    let linux = PlacementRequest::new(
        Demand::new(1, 1).with_required_attribute("ecs.os-type", Some("linux")),
        "g",
    );
    assert_eq!(summary(&check(&state, &linux)), ["0"]);
}

#[test]
fn res_eni_location_requires_a_subnet_zone() {
    let state = three_zones();
    let in_c = PlacementRequest::new(
        Demand::new(1, 1).with_availability_zones(vec!["us-east-1c".into()]),
        "g",
    );
    assert_eq!(summary(&check(&state, &in_c)), ["3"]);
    let nowhere = PlacementRequest::new(
        Demand::new(1, 1).with_availability_zones(vec!["us-west-2a".into()]),
        "g",
    );
    assert_eq!(summary(&check(&state, &nowhere)), ["LOCATION@0"]);
}

#[test]
fn pl_binpack_memory_picks_least_remaining_that_fits() {
    let state = cluster(vec![
        instance("a", 4096, 8192, "us-east-1a"),
        instance("b", 4096, 1024, "us-east-1a"),
        instance("c", 4096, 2048, "us-east-1a"),
    ]);
    let small = request(128, 512).with_strategy(binpack_memory());
    assert_eq!(summary(&check(&state, &small)), ["1"]);
    let medium = request(128, 1500).with_strategy(binpack_memory());
    assert_eq!(summary(&check(&state, &medium)), ["2"]);
    // Within a batch, the packed instance fills up first.
    assert_eq!(
        summary(&check(&state, &small.with_count(3))),
        ["1", "1", "2"]
    );
}

#[test]
fn pl_binpack_cpu_ranks_on_cpu_only() {
    let state = cluster(vec![
        instance("a", 1024, 1024, "us-east-1a"),
        instance("b", 512, 8192, "us-east-1a"),
    ]);
    let request = request(256, 256).with_strategy(vec![StrategyRule::Binpack(BinpackField::Cpu)]);
    assert_eq!(summary(&check(&state, &request)), ["1"]);
}

#[test]
fn pl_tiebreak_equal_keys_go_to_the_first_registered() {
    let state = three_zones();
    let plan = check(&state, &request(128, 128).with_strategy(binpack_memory()));
    assert_eq!(summary(&plan), ["0"]);
    let explanation = explain(&state, &request(128, 128).with_strategy(binpack_memory())).unwrap();
    assert_eq!(
        explanation.tasks[0].decision,
        Decision::TieBreak { tied: 4 }
    );
}

#[test]
fn pl_spread_instance_id_balances_within_the_batch() {
    let state = three_zones();
    let spread = request(1, 1).with_strategy(vec![StrategyRule::Spread(SpreadField::InstanceId)]);
    assert_eq!(
        summary(&check(&state, &spread.with_count(6))),
        ["0", "1", "2", "3", "0", "1"]
    );
}

#[test]
fn pl_default_runtask_spreads_over_zones_then_instances() {
    let state = three_zones();
    assert_eq!(
        default_runtask_strategy(),
        [
            StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
            StrategyRule::Spread(SpreadField::InstanceId),
        ]
    );
    // Zone a has two instances; zones b and c one each.
    let plan = check(&state, &request(1, 1).with_count(6));
    assert_eq!(summary(&plan), ["0", "2", "3", "1", "2", "3"]);
}

#[test]
fn pl_spread_counts_group_tasks_on_every_instance_not_only_candidates() {
    let mut state = three_zones();
    // Two tasks of the group on a DRAINING instance in zone b still count for zone b.
    state
        .add_task(InstanceIdx(2), "family:web", Reservation::default())
        .unwrap();
    state
        .add_task(InstanceIdx(2), "family:web", Reservation::default())
        .unwrap();
    state
        .set_status(InstanceIdx(2), InstanceStatus::Draining)
        .unwrap();
    // Tasks of another group do not count.
    state
        .add_task(InstanceIdx(3), "family:other", Reservation::default())
        .unwrap();
    let zone = vec![StrategyRule::Spread(SpreadField::Attribute(
        "ecs.availability-zone".into(),
    ))];
    let plan = check(&state, &request(1, 1).with_strategy(zone).with_count(3));
    // Zone c (0 tasks) and zone a (0 tasks): a first by tie-break, then c, then a again.
    assert_eq!(summary(&plan), ["0", "3", "0"]);
}

#[test]
fn pl_spread_instances_lacking_the_attribute_share_one_missing_bucket() {
    let state = cluster(vec![
        InstanceSpec::new("a", 1024, 1024),
        InstanceSpec::new("b", 1024, 1024),
        InstanceSpec::new("c", 1024, 1024).with_attribute("rack", Some("r1")),
    ]);
    let rack = vec![StrategyRule::Spread(SpreadField::Attribute("rack".into()))];
    let plan = check(&state, &request(1, 1).with_strategy(rack).with_count(4));
    // Bucket "missing" = {a, b}; bucket r1 = {c}.
    assert_eq!(summary(&plan), ["0", "2", "0", "2"]);
    // An attribute no instance has: everything is one bucket, the tie-break decides.
    let none = vec![StrategyRule::Spread(SpreadField::Attribute(
        "nowhere".into(),
    ))];
    assert_eq!(
        summary(&check(
            &state,
            &request(1, 1).with_strategy(none).with_count(2)
        )),
        ["0", "0"]
    );
}

#[test]
fn pl_multi_strategy_spread_zone_then_binpack_memory() {
    let state = cluster(vec![
        instance("a", 4096, 8192, "us-east-1a"),
        instance("b", 4096, 2048, "us-east-1a"),
        instance("c", 4096, 8192, "us-east-1b"),
        instance("d", 4096, 4096, "us-east-1b"),
    ]);
    let rules = vec![
        StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
        StrategyRule::Binpack(BinpackField::Memory),
    ];
    let plan = check(&state, &request(1, 1024).with_strategy(rules).with_count(4));
    assert_eq!(summary(&plan), ["1", "3", "1", "3"]);
}

#[test]
fn pl_random_same_seed_same_plan_and_draws_only_among_ties() {
    let state = three_zones();
    let random = request(1, 1)
        .with_strategy(vec![StrategyRule::Random])
        .with_count(8);
    let first = check(&state, &random.clone().with_seed(42));
    assert_eq!(first, check(&state, &random.clone().with_seed(42)));
    let differs = (0..20).any(|seed| check(&state, &random.clone().with_seed(seed)) != first);
    assert!(differs, "twenty seeds all gave the same plan");
    // binpack first: only the tied least-remaining instances are drawn from.
    let state = cluster(vec![
        instance("a", 4096, 8192, "us-east-1a"),
        instance("b", 4096, 1024, "us-east-1a"),
        instance("c", 4096, 1024, "us-east-1a"),
    ]);
    let rules = vec![
        StrategyRule::Binpack(BinpackField::Memory),
        StrategyRule::Random,
    ];
    for seed in 0..20 {
        let plan = check(
            &state,
            &request(1, 1).with_strategy(rules.clone()).with_seed(seed),
        );
        let chosen = plan.outcomes()[0].placement().unwrap().instance.0;
        assert!(chosen == 1 || chosen == 2);
    }
}

#[test]
fn pl_random_without_seed_continues_the_state_generator() {
    let mut state = three_zones();
    state.set_placement_rng(7);
    let random = request(1, 1).with_strategy(vec![StrategyRule::Random]);
    let plan = check(&state, &random);
    let after = plan.rng_after();
    assert_ne!(after, 7);
    plan.apply(&mut state).unwrap();
    assert_eq!(state.placement_rng(), after);
    // With an explicit seed the state generator is left alone.
    let seeded = check(&state, &random.with_seed(1));
    seeded.apply(&mut state).unwrap();
    assert_eq!(state.placement_rng(), after);
}

#[test]
fn pl_distinct_counts_earlier_tasks_of_the_batch() {
    let mut state = three_zones();
    state
        .add_task(InstanceIdx(1), "family:web", Reservation::default())
        .unwrap();
    let distinct = request(1, 1)
        .with_strategy(binpack_memory())
        .with_constraint(Constraint::DistinctInstance)
        .with_count(4);
    let plan = check(&state, &distinct);
    assert_eq!(
        summary(&plan),
        [
            "0",
            "2",
            "3",
            "DistinctInstance placement constraint unsatisfied.@0"
        ]
    );
}

#[test]
fn pl_memberof_attribute_expression_filters_instances() {
    let state = three_zones();
    let b_only = request(1, 1)
        .with_constraint(
            Constraint::member_of("attribute:ecs.availability-zone == us-east-1b").unwrap(),
        )
        .with_count(2);
    assert_eq!(summary(&check(&state, &b_only)), ["2", "2"]);
    let nowhere = request(1, 1).with_constraint(
        Constraint::member_of("attribute:ecs.availability-zone == eu-west-1a").unwrap(),
    );
    assert_eq!(
        summary(&check(&state, &nowhere)),
        ["MemberOf placement constraint unsatisfied.@0"]
    );
}

#[test]
fn cql_task_group_counts_tasks_placed_earlier_in_the_batch() {
    let mut state = three_zones();
    state
        .add_task(InstanceIdx(3), "databases", Reservation::default())
        .unwrap();
    // Affinity: only where a databases task runs.
    let near_db = PlacementRequest::new(Demand::new(1, 1), "databases")
        .with_constraint(Constraint::member_of("task:group == databases").unwrap())
        .with_count(2);
    assert_eq!(summary(&check(&state, &near_db)), ["3", "3"]);
    // Anti-affinity with its own group: the first task makes its instance ineligible.
    let apart = PlacementRequest::new(Demand::new(1, 1), "cache")
        .with_strategy(vec![])
        .with_constraint(Constraint::member_of("not(task:group == cache)").unwrap())
        .with_count(5);
    assert_eq!(
        summary(&check(&state, &apart)),
        [
            "0",
            "1",
            "2",
            "3",
            "MemberOf placement constraint unsatisfied.@0"
        ]
    );
    // runningTasksCount sees the batch too.
    let empty_only = PlacementRequest::new(Demand::new(1, 1), "x")
        .with_strategy(vec![])
        .with_constraint(Constraint::member_of("runningTasksCount == 0").unwrap())
        .with_count(4);
    assert_eq!(
        summary(&check(&state, &empty_only)),
        [
            "0",
            "1",
            "2",
            "MemberOf placement constraint unsatisfied.@0"
        ]
    );
}

#[test]
fn pl_fail_closest_memberof_comes_before_distinct_instance() {
    let mut state = cluster(vec![instance("a", 1024, 1024, "us-east-1a")]);
    state
        .add_task(InstanceIdx(0), "family:web", Reservation::default())
        .unwrap();
    let both = request(1, 1)
        .with_constraint(Constraint::DistinctInstance)
        .with_constraint(Constraint::member_of("attribute:ecs.os-type == windows").unwrap());
    assert_eq!(
        summary(&check(&state, &both)),
        ["MemberOf placement constraint unsatisfied.@0"]
    );
}

#[test]
fn pl_request_limits_are_errors_at_and_past_the_limit() {
    let state = three_zones();
    let rules = vec![StrategyRule::Spread(SpreadField::InstanceId); MAX_STRATEGY_RULES];
    assert!(plan(&state, &request(1, 1).with_strategy(rules.clone())).is_ok());
    let mut too_many = rules;
    too_many.push(StrategyRule::Random);
    assert_eq!(
        plan(&state, &request(1, 1).with_strategy(too_many)).unwrap_err(),
        RequestError::TooManyStrategyRules { rules: 6, max: 5 }
    );
    let mut constrained = request(1, 1);
    constrained.constraints = vec![Constraint::DistinctInstance; MAX_CONSTRAINTS];
    assert!(plan(&state, &constrained).is_ok());
    constrained.constraints.push(Constraint::DistinctInstance);
    assert!(matches!(
        plan(&state, &constrained),
        Err(RequestError::TooManyConstraints {
            constraints: 11,
            max: 10
        })
    ));
    assert!(matches!(
        plan(&state, &request(1, 1).with_count(0)),
        Err(RequestError::Count { .. })
    ));
    assert!(plan(&state, &request(1, 1).with_count(MAX_TASKS_PER_PLAN)).is_ok());
    assert!(matches!(
        plan(&state, &request(1, 1).with_count(MAX_TASKS_PER_PLAN + 1)),
        Err(RequestError::Count { .. })
    ));
    let nameless = PlacementRequest::new(Demand::new(1, 1), "");
    assert!(matches!(
        plan(&state, &nameless),
        Err(RequestError::Group { .. })
    ));
    let port_zero = PlacementRequest::new(Demand::new(1, 1).with_ports_tcp(vec![0]), "g");
    assert_eq!(
        plan(&state, &port_zero).unwrap_err(),
        RequestError::PortZero
    );
    assert!(Constraint::member_of("attribute:").is_err());
}

#[test]
fn pl_strategy_valid_parse_and_print() {
    for text in [
        "binpack:cpu",
        "binpack:memory",
        "spread:instanceId",
        "spread:host",
        "spread:attribute:rack",
        "random",
    ] {
        assert_eq!(text.parse::<StrategyRule>().unwrap().to_string(), text);
    }
    assert_eq!(
        "binpack:MEMORY".parse::<StrategyRule>().unwrap(),
        StrategyRule::Binpack(BinpackField::Memory)
    );
    for bad in ["binpack:disk", "spread:attribute:", "spread", "first"] {
        assert!(bad.parse::<StrategyRule>().is_err(), "{bad}");
    }
}

#[test]
fn plan_apply_commits_and_a_stale_plan_changes_nothing() {
    let mut state = three_zones();
    let planned = check(&state, &request(1024, 1024).with_count(2));
    let stale = planned.clone();
    let ids = planned.apply(&mut state).unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(state.remaining_cpu()[0], 3072);
    let before = serde_json::to_string(&state).unwrap();
    assert!(matches!(
        stale.apply(&mut state),
        Err(ApplyError::StaleState { .. })
    ));
    assert_eq!(serde_json::to_string(&state).unwrap(), before);
}

#[test]
fn pl_fail_reasons_display_ecs_strings() {
    let reasons = [
        (FailureReason::ResourceCpu, "RESOURCE:CPU"),
        (FailureReason::ResourceMemory, "RESOURCE:MEMORY"),
        (FailureReason::ResourcePorts, "RESOURCE:PORTS"),
        (FailureReason::ResourcePortsUdp, "RESOURCE:PORTS_UDP"),
        (FailureReason::ResourceGpu, "RESOURCE:GPU"),
        (FailureReason::ResourceEni, "RESOURCE:ENI"),
        (FailureReason::Attribute, "ATTRIBUTE"),
        (FailureReason::Agent, "AGENT"),
        (FailureReason::Location, "LOCATION"),
        (
            FailureReason::MemberOf,
            "MemberOf placement constraint unsatisfied.",
        ),
        (
            FailureReason::DistinctInstance,
            "DistinctInstance placement constraint unsatisfied.",
        ),
    ];
    for (reason, text) in reasons {
        assert_eq!(reason.to_string(), text);
    }
}

#[test]
fn explain_names_the_resource_with_requested_and_remaining() {
    let state = cluster(vec![
        instance("a", 512, 8192, "us-east-1a"),
        instance("b", 4096, 8192, "us-east-1a"),
    ]);
    let explanation = explain(&state, &request(1024, 128).with_strategy(binpack_memory())).unwrap();
    let task = &explanation.tasks[0];
    assert_eq!(
        task.verdicts[0].1,
        Verdict::Rejected(Rejection::Cpu {
            requested: 1024,
            remaining: 512
        })
    );
    assert_eq!(task.verdicts[1].1, Verdict::Ranked { keys: vec![8192] });
    assert_eq!(task.decision, Decision::Keys);
    assert_eq!(
        Rejection::Cpu {
            requested: 1024,
            remaining: 512
        }
        .to_string(),
        "RESOURCE:CPU: requested 1024, remaining 512"
    );
}

/// The persistent index keeps at most `MAX_ENTRIES` shapes: cycling through more shapes than
/// that evicts and rebuilds entries, and every plan still equals the oracle's (PL-BINPACK,
/// PL-SPREAD over evolving states).
#[test]
fn persistent_index_evicts_shapes_and_stays_exact() {
    let mut state = cluster(
        (0..12)
            .map(|k| {
                let zone = ["us-east-1a", "us-east-1b", "us-east-1c"][k % 3];
                instance(&format!("i-{k}"), 4096, 16384, zone)
            })
            .collect(),
    );
    let strategies = [
        binpack_memory(),
        vec![StrategyRule::Binpack(BinpackField::Cpu)],
        default_runtask_strategy(),
        vec![StrategyRule::Spread(SpreadField::InstanceId)],
    ];
    let shapes = super::persistent::MAX_ENTRIES + 4;
    for round in 0..3 {
        for shape in 0..shapes {
            let request = request(64 + shape as u32, 128)
                .with_strategy(strategies[shape % strategies.len()].clone())
                .with_count(3);
            let planned = check(&state, &request);
            assert_eq!(planned.n_placed(), 3, "round {round} shape {shape}");
            planned.apply(&mut state).unwrap();
        }
    }
}

/// More changes between two plans than the change log keeps: the entry is rebuilt, and the plan
/// equals the oracle's (RES-RELEASE, PL-SPREAD).
#[test]
fn persistent_index_survives_a_log_overflow() {
    let mut state = cluster(vec![
        instance("a", 4096, 8192, "us-east-1a"),
        instance("b", 4096, 8192, "us-east-1b"),
    ]);
    let request = request(1, 1).with_count(2);
    check(&state, &request).apply(&mut state).unwrap();
    // 3,000 changes (add then release), with no plan in between.
    for _ in 0..1_500 {
        let task = state
            .add_task(InstanceIdx(1), "family:web", Reservation::default())
            .unwrap();
        state.release_task(task).unwrap();
    }
    state
        .add_task(InstanceIdx(1), "family:web", Reservation::default())
        .unwrap();
    let planned = check(&state, &request);
    assert_eq!(summary(&planned), vec!["0", "0"]);
}
