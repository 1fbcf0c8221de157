//! The cluster query language from the outside: data-driven parse and eval cases
//! (`tests/data/cql/*.json`, each case citing its rule id) and property tests.
//!
//! Invariants the property tests state:
//! 1. Printing round-trips: for every tree of checked terms, `parse(&expr.to_string()) == Ok(expr)`.
//! 2. Parsing never panics, and every error's span lies inside the input on character boundaries.
//! 3. Text that parses prints to text that parses to the same tree.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;
use stowplan::cql::{self, Expr, Op, Operand, Subject, SubjectKind, Term};

fn data(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cql")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The variant name of an error kind, as the data files spell it.
fn kind_name(kind: &cql::ErrorKind) -> String {
    format!("{kind:?}")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// One container instance as the eval data file describes it.
#[derive(Debug, Default)]
struct Instance {
    attributes: BTreeMap<String, Option<String>>,
    agent_connected: bool,
    agent_version: Option<String>,
    ec2_instance_id: Option<String>,
    registered_at: Option<i64>,
    running_tasks_count: u64,
    task_groups: Vec<String>,
}

impl Instance {
    fn from_json(value: &Value) -> Instance {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        Instance {
            attributes: value["attributes"]
                .as_object()
                .expect("attributes")
                .iter()
                .map(|(name, v)| (name.clone(), v.as_str().map(str::to_owned)))
                .collect(),
            agent_connected: value["agentConnected"].as_bool().expect("agentConnected"),
            agent_version: text("agentVersion"),
            ec2_instance_id: text("ec2InstanceId"),
            registered_at: value["registeredAt"].as_i64(),
            running_tasks_count: value["runningTasksCount"]
                .as_u64()
                .expect("runningTasksCount"),
            task_groups: value["taskGroups"]
                .as_array()
                .expect("taskGroups")
                .iter()
                .map(|g| g.as_str().expect("group").to_owned())
                .collect(),
        }
    }
}

impl Subject for Instance {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.get(name).map(Option::as_deref)
    }
    fn agent_connected(&self) -> bool {
        self.agent_connected
    }
    fn agent_version(&self) -> Option<&str> {
        self.agent_version.as_deref()
    }
    fn ec2_instance_id(&self) -> Option<&str> {
        self.ec2_instance_id.as_deref()
    }
    fn registered_at(&self) -> Option<i64> {
        self.registered_at
    }
    fn running_tasks_count(&self) -> u64 {
        self.running_tasks_count
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.task_groups.iter().any(|g| pred(g))
    }
}

/// CQL-GRAMMAR, CQL-SUBJECTS, CQL-OPERATORS, CQL-VALUES, CQL-ERRORS, CQL-EXAMPLES: every case of
/// `parse.json` parses and prints as recorded, or fails with the recorded kind and span.
#[test]
fn cql_parse_cases() {
    let file = data("parse.json");
    let mut failures = Vec::new();
    for case in file["cases"].as_array().expect("cases") {
        let expr = case["expr"].as_str().expect("expr");
        let rule = case["rule"].as_str().expect("rule");
        let got = match cql::parse(expr) {
            Ok(parsed) => {
                let printed = parsed.to_string();
                let reparsed = cql::parse(&printed);
                if reparsed.as_ref() != Ok(&parsed) {
                    failures.push(format!(
                        "{rule}: {expr:?} printed {printed:?}, which reparses to {reparsed:?}"
                    ));
                }
                serde_json::json!({"print": printed})
            }
            Err(err) => {
                let span = err.span();
                serde_json::json!({"error": kind_name(err.kind()), "span": [span.start, span.end]})
            }
        };
        let want = if case.get("error").is_some() {
            serde_json::json!({"error": case["error"], "span": case["span"]})
        } else {
            serde_json::json!({"print": case.get("print").unwrap_or(&case["expr"])})
        };
        if got != want {
            failures.push(format!("{rule}: {expr:?}\n  want {want}\n   got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// CQL-EXAMPLES, CQL-TASK-GROUP, CQL-MISSING-ATTRIBUTE, CQL-OPERATORS, CQL-VALUES: every case of
/// `eval.json` selects exactly the recorded instances of the fleet.
#[test]
fn cql_eval_cases() {
    let file = data("eval.json");
    let fleet: Vec<(String, Instance)> = file["instances"]
        .as_object()
        .expect("instances")
        .iter()
        .map(|(name, v)| (name.clone(), Instance::from_json(v)))
        .collect();
    let mut failures = Vec::new();
    for case in file["cases"].as_array().expect("cases") {
        let text = case["expr"].as_str().expect("expr");
        let rule = case["rule"].as_str().expect("rule");
        let expr = match cql::parse(text) {
            Ok(expr) => expr,
            Err(err) => {
                failures.push(format!("{rule}: {err}"));
                continue;
            }
        };
        let got: Vec<&str> = fleet
            .iter()
            .filter(|(_, i)| expr.eval(i))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut want: Vec<&str> = case["selects"]
            .as_array()
            .expect("selects")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let order = |n: &&str| fleet.iter().position(|(name, _)| name == n);
        want.sort_by_key(order);
        if got != want {
            failures.push(format!("{rule}: {text:?}\n  want {want:?}\n   got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// CQL-EXAMPLES: the documented table, row by row, must parse (meanings are in `eval.json`).
#[test]
fn cql_examples_all_parse() {
    let file = data("parse.json");
    let examples: Vec<&str> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "CQL-EXAMPLES")
        .map(|c| c["expr"].as_str().unwrap())
        .collect();
    assert_eq!(examples.len(), 17);
    for expr in examples {
        assert!(cql::parse(expr).is_ok(), "{expr}");
    }
}

/// Input safety: each limit at the limit and one past it, from the public API.
#[test]
fn cql_limits_at_and_past() {
    let term = "task:group == a";
    let padded = |n: usize| format!("{term}{}", " ".repeat(n - term.len()));
    assert!(cql::parse(&padded(cql::MAX_CQL_LENGTH)).is_ok());
    let err = cql::parse(&padded(cql::MAX_CQL_LENGTH + 1)).unwrap_err();
    assert_eq!(err.kind(), &cql::ErrorKind::TooLong);

    let parens = |n: usize| format!("{}{term}{}", "(".repeat(n), ")".repeat(n));
    assert!(cql::parse(&parens(cql::MAX_CQL_DEPTH)).is_ok());
    assert_eq!(
        cql::parse(&parens(cql::MAX_CQL_DEPTH + 1))
            .unwrap_err()
            .kind(),
        &cql::ErrorKind::Depth
    );

    let nots = |n: usize| format!("{}{term}", "not ".repeat(n));
    let deepest = cql::parse(&nots(cql::MAX_CQL_DEPTH)).unwrap();
    assert_eq!(cql::parse(&deepest.to_string()), Ok(deepest));
    assert_eq!(
        cql::parse(&nots(cql::MAX_CQL_DEPTH + 1))
            .unwrap_err()
            .kind(),
        &cql::ErrorKind::Depth
    );
}

/// Input safety: hostile inputs fail fast. The time bound is generous for a shared 2-core CI;
/// a superlinear parser would take far longer on these sizes.
#[test]
fn cql_hostile_inputs_fail_fast() {
    let hostile = [
        "(".repeat(10_000),
        "not ".repeat(10_000),
        "x".repeat(1 << 20),
        format!("attribute:a =~ '{}'", "(a*)*".repeat(60)),
        format!("attribute:a =~ '{}'", "a{100}".repeat(10)),
        format!("attribute:a in [{}", "x,".repeat(900)),
        // The most compile work an expression can ask for: one Unicode class per regex term.
        format!("{}attribute:a exists", "attribute:a=~\\w||".repeat(116)),
    ];
    for input in &hostile {
        let result = cql::parse(input);
        if let Err(err) = &result {
            assert!(err.span().end <= input.len());
        }
    }
    // A nested-star pattern compiles and matches in linear time.
    let expr = cql::parse("attribute:a =~ '(a*)*b'").unwrap();
    let mut instance = Instance::default();
    instance
        .attributes
        .insert("a".into(), Some("a".repeat(100_000)));
    assert!(!expr.eval(&instance));
}

fn attribute_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./\\\\-]{1,12}"
}

/// Strings of characters that stress the printer: spaces, commas, brackets, one kind of quote,
/// operator characters and multibyte characters.
fn text_value() -> impl Strategy<Value = String> {
    "[a-z0-9 ,()\\[\\]'.:*=!&|é日-]{0,8}|[a-z0-9 \".é]{0,8}"
}

fn count() -> impl Strategy<Value = String> {
    prop_oneof![any::<u64>().prop_map(|n| n.to_string()), "[0-9]{1,4}"]
}

fn version() -> impl Strategy<Value = String> {
    prop::collection::vec(0u64..2000, 1..5).prop_map(|parts| {
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    })
}

fn time() -> impl Strategy<Value = String> {
    (
        0u32..10_000,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        0usize..5,
        0u32..24,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s, form, oh, om)| {
            let date = format!("{y:04}-{mo:02}-{d:02}");
            let time = format!("{date}T{h:02}:{mi:02}:{s:02}");
            match form {
                0 => date,
                1 => time,
                2 => format!("{time}Z"),
                3 => format!("{time}+{oh:02}:{om:02}"),
                _ => format!("{time}-{oh:02}:{om:02}"),
            }
        })
}

fn pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "t2.*",
        "g2\\..*",
        "[a-z]+",
        "a|b",
        "(x)?y",
        "é+",
        "",
        "service:.*",
        "x y",
    ])
    .prop_map(str::to_owned)
}

fn subject() -> impl Strategy<Value = SubjectKind> {
    prop_oneof![
        Just(SubjectKind::AgentConnected),
        Just(SubjectKind::AgentVersion),
        Just(SubjectKind::Ec2InstanceId),
        Just(SubjectKind::RegisteredAt),
        Just(SubjectKind::RunningTasksCount),
        Just(SubjectKind::TaskGroup),
        attribute_name().prop_map(SubjectKind::Attribute),
    ]
}

/// A value of the type `subject` compares with `op`.
fn typed_value(subject: &SubjectKind, op: Op) -> BoxedStrategy<String> {
    match (subject, op) {
        (_, Op::Matches | Op::NotMatches) => pattern().boxed(),
        (SubjectKind::AgentConnected, _) => {
            prop::sample::select(vec!["true".to_owned(), "false".to_owned()]).boxed()
        }
        (SubjectKind::AgentVersion, _) => version().boxed(),
        (SubjectKind::RegisteredAt, _) => time().boxed(),
        (SubjectKind::RunningTasksCount, _) => count().boxed(),
        _ => text_value().boxed(),
    }
}

fn term() -> impl Strategy<Value = Term> {
    (subject(), any::<prop::sample::Index>())
        .prop_flat_map(|(subject, index)| {
            let ops: Vec<Op> = Op::ALL
                .into_iter()
                .filter(|&op| subject.accepts(op))
                .collect();
            let op = *index.get(&ops);
            let operand = match op.arity() {
                cql::Arity::None => Just(Operand::None).boxed(),
                cql::Arity::Value => typed_value(&subject, op).prop_map(Operand::Value).boxed(),
                cql::Arity::List => prop::collection::vec(typed_value(&subject, op), 1..4)
                    .prop_map(Operand::List)
                    .boxed(),
            };
            (Just(subject), Just(op), operand)
        })
        .prop_map(|(subject, op, operand)| {
            Term::new(subject.clone(), op, operand.clone())
                .unwrap_or_else(|kind| panic!("{subject} {op} {operand:?}: {kind}"))
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    term()
        .prop_map(Expr::Term)
        .prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
}

/// Pieces of CQL, plus arbitrary characters, glued at random.
fn cql_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "attribute:a",
            "attribute:ecs.instance-type",
            "task:group",
            "agentVersion",
            "registeredAt",
            "runningTasksCount",
            "agentConnected",
            "ec2InstanceId",
            "==",
            "!=",
            "=~",
            "!~",
            ">",
            ">=",
            "<",
            "<=",
            "in",
            "not_in",
            "!in",
            "exists",
            "!exists",
            "and",
            "or",
            "not",
            "&&",
            "||",
            "!",
            "(",
            ")",
            "[",
            "]",
            ",",
            "'",
            "\"",
            " ",
            " ",
            " ",
            "x",
            "1.14",
            "2018-02-13",
            "true",
            "t2.*",
            "é",
            "日",
        ])
        .prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn check_error_span(input: &str, result: &Result<Expr, cql::Error>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        let span = err.span();
        prop_assert!(
            span.start <= span.end && span.end <= input.len(),
            "{span:?} in {input:?}"
        );
        prop_assert!(input.is_char_boundary(span.start) && input.is_char_boundary(span.end));
        prop_assert!(!err.to_string().is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Invariant 1: printing round-trips.
    #[test]
    fn cql_print_then_parse_is_identity(expr in expr()) {
        let printed = expr.to_string();
        prop_assert_eq!(cql::parse(&printed), Ok(expr), "{}", printed);
    }

    /// Invariants 2 and 3 on text built from CQL pieces.
    #[test]
    fn cql_parse_never_panics_on_cql_like_text(input in cql_like()) {
        let result = cql::parse(&input);
        check_error_span(&input, &result)?;
        if let Ok(expr) = result {
            prop_assert_eq!(cql::parse(&expr.to_string()), Ok(expr));
        }
    }

    /// Invariant 2 on arbitrary bytes, decoded lossily.
    #[test]
    fn cql_parse_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let input = String::from_utf8_lossy(&bytes);
        check_error_span(&input, &cql::parse(&input))?;
    }
}
