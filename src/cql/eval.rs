//! Evaluation of an expression against one container instance (CQL-USES).
//!
//! Everything eval compares was parsed or compiled when the term was built, so evaluation only
//! reads: it does not allocate, and regexes run in the `regex` crate's linear time.

use super::ast::{Expr, Op, Operand, SubjectKind, Term};
use super::value::{self, Compiled};

/// What an expression is evaluated against: one container instance, seen through the fields
/// CQL-SUBJECTS names. The placement engine and ListContainerInstances implement it over their
/// own instance types.
pub trait Subject {
    /// Returns the attribute `name`: `None` = attribute absent; `Some(None)` = present without a
    /// value; `Some(Some(v))` = value.
    fn attribute(&self, name: &str) -> Option<Option<&str>>;
    /// Returns whether the container agent is connected.
    fn agent_connected(&self) -> bool;
    /// Returns `versionInfo.agentVersion`, if known.
    fn agent_version(&self) -> Option<&str>;
    /// Returns the EC2 instance id (or SSM managed-instance id), if any.
    fn ec2_instance_id(&self) -> Option<&str>;
    /// Registration time, epoch seconds.
    fn registered_at(&self) -> Option<i64>;
    /// Returns `runningTasksCount`.
    fn running_tasks_count(&self) -> u64;
    /// Existential over the groups of the instance's non-STOPPED tasks: true if `pred` holds for any.
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool;
}

impl Expr {
    /// Returns whether `subject` satisfies the expression.
    ///
    /// ```
    /// use stowplan::cql::{parse, Subject};
    ///
    /// struct Empty;
    /// impl Subject for Empty {
    ///     fn attribute(&self, _: &str) -> Option<Option<&str>> { None }
    ///     fn agent_connected(&self) -> bool { true }
    ///     fn agent_version(&self) -> Option<&str> { Some("1.14.5") }
    ///     fn ec2_instance_id(&self) -> Option<&str> { None }
    ///     fn registered_at(&self) -> Option<i64> { None }
    ///     fn running_tasks_count(&self) -> u64 { 0 }
    ///     fn any_task_group(&self, _: &mut dyn FnMut(&str) -> bool) -> bool { false }
    /// }
    ///
    /// // CQL-TASK-GROUP: anti-affinity holds on an instance without tasks.
    /// assert!(parse("not(task:group == database)")?.eval(&Empty));
    /// // CQL-MISSING-ATTRIBUTE: `!=` on a missing attribute is false.
    /// assert!(!parse("attribute:stack != prod")?.eval(&Empty));
    /// assert!(parse("agentVersion >= 1.14")?.eval(&Empty));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn eval<S: Subject + ?Sized>(&self, subject: &S) -> bool {
        match self {
            Expr::Or(operands) => operands.iter().any(|e| e.eval(subject)),
            Expr::And(operands) => operands.iter().all(|e| e.eval(subject)),
            Expr::Not(operand) => !operand.eval(subject),
            Expr::Term(term) => term.eval(subject),
        }
    }
}

impl Term {
    /// Returns whether `subject` satisfies the term.
    pub fn eval<S: Subject + ?Sized>(&self, subject: &S) -> bool {
        let op = self.op();
        match (self.subject(), &self.compiled) {
            (SubjectKind::AgentConnected, _) => self.test_text(if subject.agent_connected() {
                "true"
            } else {
                "false"
            }),
            (SubjectKind::Ec2InstanceId, _) => subject
                .ec2_instance_id()
                .is_some_and(|id| self.test_text(id)),
            // CQL-TASK-GROUP: existential over the groups, so false on an instance without tasks.
            (SubjectKind::TaskGroup, _) => {
                subject.any_task_group(&mut |group| self.test_text(group))
            }
            // CQL-MISSING-ATTRIBUTE: absent is false but for `not_exists`; present without a
            // value satisfies `exists` and nothing that compares a value.
            (SubjectKind::Attribute(name), _) => match (subject.attribute(name), op) {
                (None, op) => op == Op::NotExists,
                (Some(_), Op::Exists) => true,
                (Some(_), Op::NotExists) | (Some(None), _) => false,
                (Some(Some(value)), _) => self.test_text(value),
            },
            (SubjectKind::RunningTasksCount, &Compiled::Count(want)) => {
                op.holds(subject.running_tasks_count().cmp(&want))
            }
            (SubjectKind::RegisteredAt, &Compiled::Time(want)) => subject
                .registered_at()
                .is_some_and(|at| op.holds(at.cmp(&want))),
            (SubjectKind::AgentVersion, Compiled::Version(want)) => subject
                .agent_version()
                .and_then(|version| value::cmp_version(version, want))
                .is_some_and(|ordering| op.holds(ordering)),
            // Term::build pairs each typed subject with its compiled operand.
            (
                SubjectKind::RunningTasksCount
                | SubjectKind::RegisteredAt
                | SubjectKind::AgentVersion,
                _,
            ) => false,
        }
    }

    /// Tests a present string value against the operator and operand (CQL-OPERATORS).
    fn test_text(&self, value: &str) -> bool {
        match (self.op(), self.operand(), &self.compiled) {
            (Op::Matches, _, Compiled::Regex(re)) => re.0.is_match(value),
            (Op::NotMatches, _, Compiled::Regex(re)) => !re.0.is_match(value),
            (Op::Eq, Operand::Value(want), _) => value == want,
            (Op::Ne, Operand::Value(want), _) => value != want,
            (Op::In, Operand::List(items), _) => items.iter().any(|item| item == value),
            (Op::NotIn, Operand::List(items), _) => !items.iter().any(|item| item == value),
            (op @ (Op::Gt | Op::Ge | Op::Lt | Op::Le), Operand::Value(want), _) => {
                op.holds(value::cmp_attribute(value, want))
            }
            (Op::Exists, ..) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cql::parse;

    #[derive(Default)]
    struct Instance {
        attributes: BTreeMap<&'static str, Option<&'static str>>,
        connected: bool,
        version: Option<&'static str>,
        ec2: Option<&'static str>,
        registered: Option<i64>,
        running: u64,
        groups: Vec<&'static str>,
    }

    impl Subject for Instance {
        fn attribute(&self, name: &str) -> Option<Option<&str>> {
            self.attributes.get(name).copied()
        }
        fn agent_connected(&self) -> bool {
            self.connected
        }
        fn agent_version(&self) -> Option<&str> {
            self.version
        }
        fn ec2_instance_id(&self) -> Option<&str> {
            self.ec2
        }
        fn registered_at(&self) -> Option<i64> {
            self.registered
        }
        fn running_tasks_count(&self) -> u64 {
            self.running
        }
        fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
            self.groups.iter().any(|g| pred(g))
        }
    }

    fn eval(expr: &str, instance: &Instance) -> bool {
        parse(expr).unwrap_or_else(|e| panic!("{e}")).eval(instance)
    }

    #[test]
    fn cql_missing_attribute_every_operator() {
        let absent = Instance::default();
        let valueless = Instance {
            attributes: BTreeMap::from([("a", None)]),
            ..Instance::default()
        };
        let rows = [
            ("attribute:a exists", false, true),
            ("attribute:a not_exists", true, false),
            ("attribute:a == x", false, false),
            ("attribute:a != x", false, false),
            ("attribute:a > x", false, false),
            ("attribute:a <= x", false, false),
            ("attribute:a in [x]", false, false),
            ("attribute:a not_in [x]", false, false),
            ("attribute:a =~ .*", false, false),
            ("attribute:a !~ x", false, false),
        ];
        for (expr, on_absent, on_valueless) in rows {
            assert_eq!(eval(expr, &absent), on_absent, "absent: {expr}");
            assert_eq!(eval(expr, &valueless), on_valueless, "valueless: {expr}");
        }
    }

    #[test]
    fn cql_task_group_is_existential() {
        let empty = Instance::default();
        let mixed = Instance {
            groups: vec!["database", "web"],
            ..Instance::default()
        };
        let rows = [
            ("task:group == database", false, true),
            ("not(task:group == database)", true, false),
            // Not anti-affinity: true as soon as any task is in another group.
            ("task:group != database", false, true),
            ("task:group in [cache, web]", false, true),
            ("task:group not_in [database, web]", false, false),
            ("task:group =~ data.*", false, true),
            ("task:group !~ data.*", false, true),
        ];
        for (expr, on_empty, on_mixed) in rows {
            assert_eq!(eval(expr, &empty), on_empty, "empty: {expr}");
            assert_eq!(eval(expr, &mixed), on_mixed, "mixed: {expr}");
        }
    }

    #[test]
    fn typed_subjects_compare_in_their_type() {
        let instance = Instance {
            connected: true,
            version: Some("1.14.10"),
            registered: Some(1_518_480_000),
            running: 10,
            ..Instance::default()
        };
        let rows = [
            ("runningTasksCount > 9", true),
            ("runningTasksCount == 010", true),
            ("runningTasksCount < 9", false),
            ("agentVersion > 1.14.5", true),
            ("agentVersion == 1.14.10.0", true),
            ("agentVersion != 1.14.10", false),
            ("registeredAt == 2018-02-13", true),
            ("registeredAt >= 2018-02-13T00:00:00Z", true),
            ("registeredAt < 2018-02-13T01:00:00+01:00", false),
            ("registeredAt < 2018-02-13T00:00:01", true),
            ("agentConnected == true", true),
            ("agentConnected != true", false),
            ("agentConnected in [false]", false),
            ("agentConnected =~ t.*", true),
            ("ec2InstanceId == i-1", false),
            ("ec2InstanceId != i-1", false),
        ];
        for (expr, want) in rows {
            assert_eq!(eval(expr, &instance), want, "{expr}");
        }
        let unknown = Instance {
            version: Some("dev"),
            ..Instance::default()
        };
        assert!(!eval("agentVersion > 0", &unknown));
        assert!(!eval("agentVersion != 0", &unknown));
        assert!(!eval("registeredAt != 2018-02-13", &unknown));
    }

    #[test]
    fn eval_accepts_trait_objects_and_expressions_are_shareable() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Expr>();
        let instance = Instance {
            running: 1,
            ..Instance::default()
        };
        let subject: &dyn Subject = &instance;
        assert!(parse("runningTasksCount == 1").unwrap().eval(subject));
    }

    #[test]
    fn attribute_ordering_numeric_else_lexicographic() {
        let instance = Instance {
            attributes: BTreeMap::from([("n", Some("10")), ("s", Some("b"))]),
            ..Instance::default()
        };
        assert!(eval("attribute:n > 9", &instance));
        assert!(eval("attribute:n < 9.5a", &instance));
        assert!(eval("attribute:n >= 10.0", &instance));
        assert!(!eval("attribute:n == 10.0", &instance));
        assert!(eval("attribute:s > a", &instance));
        assert!(eval("attribute:s <= b", &instance));
    }
}
