//! The abstract syntax tree of a CQL expression (CQL-GRAMMAR).
//!
//! An [`Expr`] is an `or` / `and` / `not` tree over [`Term`]s. A term is built only through
//! [`Term::new`] (which [`parse`](super::parse) calls), so every term in a tree has been checked
//! against CQL-SUBJECTS and has its operand typed and, for `=~` / `!~`, its regex compiled.
//! Equality ignores spans and compiled forms: two terms are equal when subject, operator and
//! operand text are equal, which is what `parse(&expr.to_string()) == Ok(expr)` needs.

use std::fmt;

use super::error::ErrorKind;
use super::value::{self, Compiled};

/// A byte range `start..end` in an expression; both ends are character boundaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The offset of the first byte.
    pub start: usize,
    /// The offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// Returns the span as a range, for slicing the expression.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A CQL expression: the root of the tree that [`parse`](super::parse) returns.
///
/// `Or` and `And` hold their operands flat: `a or b or c` is one `Or` of three terms, while
/// `a or (b or c)` keeps its parentheses as a nested `Or`. Trees from `parse` have at least two
/// operands in every `Or` and `And`; `Display` writes other trees too, but an `Or` or `And`
/// with fewer than two operands does not read back as itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// True when any operand is true (`or`, `||`).
    Or(Vec<Expr>),
    /// True when every operand is true (`and`, `&&`).
    And(Vec<Expr>),
    /// True when the operand is false (`not`, `!`).
    Not(Box<Expr>),
    /// One `subject operator [value]` comparison.
    Term(Term),
}

/// What a term compares: one of the CQL-SUBJECTS.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// `agentConnected`: whether the container agent is connected, as `true` / `false`.
    AgentConnected,
    /// `agentVersion`: `versionInfo.agentVersion`, compared in version order.
    AgentVersion,
    /// `ec2InstanceId`: the EC2 instance id (or SSM managed-instance id).
    Ec2InstanceId,
    /// `registeredAt`: the registration time, compared in time order.
    RegisteredAt,
    /// `runningTasksCount`: the number of running tasks, compared numerically.
    RunningTasksCount,
    /// `task:group`: the groups of the instance's tasks, tested existentially (CQL-TASK-GROUP).
    TaskGroup,
    /// `attribute:<name>`: the value of the named instance attribute (CQL-MISSING-ATTRIBUTE).
    Attribute(String),
}

impl SubjectKind {
    /// Returns whether this subject accepts `op` (CQL-SUBJECTS).
    ///
    /// `attribute:` accepts every operator; `task:group`, which the docs leave open, accepts
    /// the string operators `==`, `!=`, `in`, `not_in`, `=~` and `!~`, like `ec2InstanceId`.
    pub fn accepts(&self, op: Op) -> bool {
        use Op::*;
        match self {
            SubjectKind::Attribute(_) => true,
            SubjectKind::AgentConnected | SubjectKind::Ec2InstanceId | SubjectKind::TaskGroup => {
                matches!(op, Eq | Ne | In | NotIn | Matches | NotMatches)
            }
            SubjectKind::AgentVersion
            | SubjectKind::RegisteredAt
            | SubjectKind::RunningTasksCount => matches!(op, Eq | Ne | Gt | Ge | Lt | Le),
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectKind::AgentConnected => f.write_str("agentConnected"),
            SubjectKind::AgentVersion => f.write_str("agentVersion"),
            SubjectKind::Ec2InstanceId => f.write_str("ec2InstanceId"),
            SubjectKind::RegisteredAt => f.write_str("registeredAt"),
            SubjectKind::RunningTasksCount => f.write_str("runningTasksCount"),
            SubjectKind::TaskGroup => f.write_str("task:group"),
            SubjectKind::Attribute(name) => write!(f, "attribute:{name}"),
        }
    }
}

/// A CQL operator (CQL-OPERATORS). Symbol and word spellings parse to the same variant;
/// `Display` writes the first spelling listed on each variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `==`, `equals`.
    Eq,
    /// `!=`, `not_equals`.
    Ne,
    /// `>`, `greater_than`.
    Gt,
    /// `>=`, `greater_than_equal`.
    Ge,
    /// `<`, `less_than`.
    Lt,
    /// `<=`, `less_than_equal`.
    Le,
    /// `exists`.
    Exists,
    /// `not_exists`, `!exists`.
    NotExists,
    /// `in`.
    In,
    /// `not_in`, `!in`.
    NotIn,
    /// `=~`, `matches`.
    Matches,
    /// `!~`, `not_matches`.
    NotMatches,
}

impl Op {
    /// Every operator, in declaration order.
    pub const ALL: [Op; 12] = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
        Op::Exists,
        Op::NotExists,
        Op::In,
        Op::NotIn,
        Op::Matches,
        Op::NotMatches,
    ];

    /// Returns the spelling `Display` writes: the symbol where one exists.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        }
    }

    /// Returns what the operator takes after it.
    pub fn arity(self) -> Arity {
        match self {
            Op::Exists | Op::NotExists => Arity::None,
            Op::In | Op::NotIn => Arity::List,
            _ => Arity::Value,
        }
    }

    /// Parses a word operator, ignoring ASCII case (`EQUALS` is `==`).
    pub(crate) fn from_word(word: &str) -> Option<Op> {
        const WORDS: [(&str, Op); 12] = [
            ("equals", Op::Eq),
            ("not_equals", Op::Ne),
            ("greater_than", Op::Gt),
            ("greater_than_equal", Op::Ge),
            ("less_than", Op::Lt),
            ("less_than_equal", Op::Le),
            ("exists", Op::Exists),
            ("not_exists", Op::NotExists),
            ("in", Op::In),
            ("not_in", Op::NotIn),
            ("matches", Op::Matches),
            ("not_matches", Op::NotMatches),
        ];
        WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|&(_, op)| op)
    }

    /// Returns whether an ordering of the compared value against the operand satisfies the
    /// operator; false for the operators that are not comparisons.
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
            _ => false,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator takes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Nothing: `exists`, `not_exists`.
    None,
    /// One value: comparisons and regex matches.
    Value,
    /// A list in square brackets: `in`, `not_in`.
    List,
}

/// The operand of a term, with quotes already stripped (CQL-VALUES).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// No operand: `exists`, `not_exists`.
    None,
    /// One value.
    Value(String),
    /// A non-empty list of values: `in`, `not_in`.
    List(Vec<String>),
}

/// One `subject operator [operand]` comparison, checked and compiled.
///
/// ```
/// use stowplan::cql::{Op, Operand, SubjectKind, Term};
///
/// let term = Term::new(SubjectKind::RunningTasksCount, Op::Lt, Operand::Value("3".into()))?;
/// assert_eq!(term.to_string(), "runningTasksCount < 3");
/// assert!(Term::new(SubjectKind::RunningTasksCount, Op::Matches, Operand::Value("3".into())).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Term {
    subject: SubjectKind,
    op: Op,
    operand: Operand,
    span: Span,
    /// The operand in the form eval needs, derived from the three fields above.
    pub(crate) compiled: Compiled,
}

/// The part of a term an error of [`Term::build`] is about, so that `parse` can point at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Subject,
    Op,
    /// The operand as a whole (its arity).
    Operand,
    /// One value: 0 for a single value, the index for a list item.
    Value(usize),
}

impl Term {
    /// Checks and compiles a term: the subject must accept the operator (CQL-SUBJECTS), the
    /// operand must fit the operator's [`Arity`], values must have the subject's type
    /// (CQL-VALUES: `true`/`false`, a count, a version, a time) and regexes must compile
    /// within [`MAX_CQL_REGEX_SIZE`](super::MAX_CQL_REGEX_SIZE).
    ///
    /// The term's span is empty; [`parse`](super::parse) gives its terms their spans.
    pub fn new(subject: SubjectKind, op: Op, operand: Operand) -> Result<Term, ErrorKind> {
        Term::build(subject, op, operand, Span::default()).map_err(|(kind, _)| kind)
    }

    /// Like [`Term::new`], also saying which part of the term an error is about.
    pub(crate) fn build(
        subject: SubjectKind,
        op: Op,
        operand: Operand,
        span: Span,
    ) -> Result<Term, (ErrorKind, Part)> {
        if let SubjectKind::Attribute(name) = &subject
            && !value::is_attribute_name(name)
        {
            return Err((ErrorKind::InvalidAttributeName, Part::Subject));
        }
        if !subject.accepts(op) {
            return Err((ErrorKind::OperatorNotAllowed { subject, op }, Part::Op));
        }
        match (op.arity(), &operand) {
            (Arity::None, Operand::None) | (Arity::Value, Operand::Value(_)) => {}
            (Arity::List, Operand::List(items)) if items.is_empty() => {
                return Err((ErrorKind::EmptyList, Part::Operand));
            }
            (Arity::List, Operand::List(_)) => {}
            (Arity::None, _) => return Err((ErrorKind::UnexpectedValue, Part::Operand)),
            (Arity::Value, Operand::List(_)) => {
                return Err((ErrorKind::UnexpectedList, Part::Operand));
            }
            (Arity::Value, Operand::None) => return Err((ErrorKind::ExpectedValue, Part::Operand)),
            (Arity::List, _) => return Err((ErrorKind::ExpectedList, Part::Operand)),
        }
        let values: &[String] = match &operand {
            Operand::None => &[],
            Operand::Value(v) => std::slice::from_ref(v),
            Operand::List(items) => items,
        };
        for (i, v) in values.iter().enumerate() {
            if v.contains('\'') && v.contains('"') {
                return Err((ErrorKind::UnquotableValue, Part::Value(i)));
            }
        }
        let compiled = value::compile(&subject, op, values)?;
        Ok(Term {
            subject,
            op,
            operand,
            span,
            compiled,
        })
    }

    /// Returns the subject.
    pub fn subject(&self) -> &SubjectKind {
        &self.subject
    }

    /// Returns the operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// Returns the operand, unquoted.
    pub fn operand(&self) -> &Operand {
        &self.operand
    }

    /// Returns the byte span of the term in the parsed expression (empty for [`Term::new`]).
    pub fn span(&self) -> Span {
        self.span
    }
}

impl PartialEq for Term {
    /// Compares subject, operator and operand; spans and compiled forms are ignored.
    fn eq(&self, other: &Term) -> bool {
        self.subject == other.subject && self.op == other.op && self.operand == other.operand
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> Operand {
        Operand::Value(s.to_owned())
    }

    #[test]
    fn cql_subjects_operator_table() {
        // CQL-SUBJECTS: the documented operator lists, one row per subject.
        let rows: [(SubjectKind, &str); 7] = [
            (SubjectKind::AgentConnected, "== != in not_in =~ !~"),
            (SubjectKind::AgentVersion, "== != > >= < <="),
            (SubjectKind::Ec2InstanceId, "== != in not_in =~ !~"),
            (SubjectKind::RegisteredAt, "== != > >= < <="),
            (SubjectKind::RunningTasksCount, "== != > >= < <="),
            (SubjectKind::TaskGroup, "== != in not_in =~ !~"),
            (
                SubjectKind::Attribute("a".into()),
                "== != > >= < <= exists not_exists in not_in =~ !~",
            ),
        ];
        for (subject, accepted) in rows {
            let accepted: Vec<&str> = accepted.split(' ').collect();
            for op in Op::ALL {
                assert_eq!(
                    subject.accepts(op),
                    accepted.contains(&op.as_str()),
                    "{subject} {op}"
                );
            }
        }
    }

    #[test]
    fn word_operators_ignore_ascii_case() {
        assert_eq!(Op::from_word("Greater_Than_Equal"), Some(Op::Ge));
        assert_eq!(Op::from_word("NOT_IN"), Some(Op::NotIn));
        assert_eq!(Op::from_word("equal"), None);
    }

    #[test]
    fn term_new_checks_arity() {
        let group = || SubjectKind::TaskGroup;
        assert_eq!(
            Term::new(group(), Op::Eq, Operand::None).unwrap_err(),
            ErrorKind::ExpectedValue
        );
        assert_eq!(
            Term::new(group(), Op::Eq, Operand::List(vec!["a".into()])).unwrap_err(),
            ErrorKind::UnexpectedList
        );
        assert_eq!(
            Term::new(group(), Op::In, value("a")).unwrap_err(),
            ErrorKind::ExpectedList
        );
        assert_eq!(
            Term::new(group(), Op::In, Operand::List(vec![])).unwrap_err(),
            ErrorKind::EmptyList
        );
        let attr = SubjectKind::Attribute("a".into());
        assert_eq!(
            Term::new(attr, Op::Exists, value("x")).unwrap_err(),
            ErrorKind::UnexpectedValue
        );
    }

    #[test]
    fn term_new_rejects_values_no_quote_can_hold() {
        let err = Term::new(SubjectKind::TaskGroup, Op::Eq, value("it's \"x\"")).unwrap_err();
        assert_eq!(err, ErrorKind::UnquotableValue);
    }

    #[test]
    fn term_new_rejects_bad_attribute_names() {
        for name in ["", "a b", "a:b", "é", "a==b"] {
            let err = Term::new(
                SubjectKind::Attribute(name.into()),
                Op::Exists,
                Operand::None,
            );
            assert_eq!(
                err.unwrap_err(),
                ErrorKind::InvalidAttributeName,
                "{name:?}"
            );
        }
    }

    #[test]
    fn term_equality_ignores_spans() {
        let a = Term::build(
            SubjectKind::TaskGroup,
            Op::Eq,
            value("x"),
            Span { start: 3, end: 9 },
        );
        let b = Term::new(SubjectKind::TaskGroup, Op::Eq, value("x"));
        assert_eq!(a.unwrap(), b.unwrap());
    }
}
