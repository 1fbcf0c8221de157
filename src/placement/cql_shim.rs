//! TEMPORARY stand-in for `crate::cql` until the cql branch is merged: the same names and
//! signatures (`parse`, `Expr::eval`, `Subject`, `Display`), a tiny subset of the grammar
//! (`attribute:NAME ==|!=|=~|in|not_in|exists ...`, `task:group == G`, `runningTasksCount == N`,
//! `not(TERM)`, terms joined by `and`). Deleted by the merge commit.

use regex::Regex;

/// What an expression is evaluated against (same trait as `cql::Subject`).
pub trait Subject {
    /// Returns the attribute `name`.
    fn attribute(&self, name: &str) -> Option<Option<&str>>;
    /// Returns whether the agent is connected.
    fn agent_connected(&self) -> bool;
    /// Returns the agent version.
    fn agent_version(&self) -> Option<&str>;
    /// Returns the EC2 instance id.
    fn ec2_instance_id(&self) -> Option<&str>;
    /// Returns the registration time.
    fn registered_at(&self) -> Option<i64>;
    /// Returns `runningTasksCount`.
    fn running_tasks_count(&self) -> u64;
    /// Existential over the task groups.
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool;
}

/// A parse error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cql error: {}", self.0)
    }
}

impl std::error::Error for Error {}

#[derive(Clone, Debug)]
enum Term {
    Eq(String, String),
    Ne(String, String),
    Matches(String, Regex),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    GroupEq(String),
    RunningEq(u64),
    Not(Box<Term>),
}

/// A parsed expression.
#[derive(Clone, Debug)]
pub struct Expr {
    text: String,
    terms: Vec<Term>,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.text == other.text
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses the subset described in the module docs.
pub fn parse(input: &str) -> Result<Expr, Error> {
    let terms = input
        .split(" and ")
        .map(|term| parse_term(term.trim()))
        .collect::<Result<Vec<Term>, Error>>()?;
    Ok(Expr {
        text: input.trim().to_owned(),
        terms,
    })
}

fn parse_term(text: &str) -> Result<Term, Error> {
    if let Some(inner) = text.strip_prefix("not(").and_then(|t| t.strip_suffix(')')) {
        return Ok(Term::Not(Box::new(parse_term(inner.trim())?)));
    }
    let error = || Error(format!("unsupported term {text:?}"));
    let (subject, rest) = text.split_once(' ').ok_or_else(error)?;
    let (op, value) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
    let value = value.trim();
    if subject == "task:group" && op == "==" {
        return Ok(Term::GroupEq(value.to_owned()));
    }
    if subject == "runningTasksCount" && op == "==" {
        return value.parse().map(Term::RunningEq).map_err(|_| error());
    }
    let name = subject
        .strip_prefix("attribute:")
        .ok_or_else(error)?
        .to_owned();
    let list = || -> Result<Vec<String>, Error> {
        let inner = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .ok_or_else(error)?;
        Ok(inner
            .split(',')
            .map(|item| item.trim().to_owned())
            .collect())
    };
    match op {
        "==" => Ok(Term::Eq(name, value.to_owned())),
        "!=" => Ok(Term::Ne(name, value.to_owned())),
        "=~" => Regex::new(&format!("^(?:{value})$"))
            .map(|regex| Term::Matches(name, regex))
            .map_err(|_| error()),
        "in" => Ok(Term::In(name, list()?)),
        "not_in" => Ok(Term::NotIn(name, list()?)),
        "exists" => Ok(Term::Exists(name)),
        _ => Err(error()),
    }
}

impl Expr {
    /// Returns whether `subject` satisfies the expression.
    pub fn eval<S: Subject + ?Sized>(&self, subject: &S) -> bool {
        self.terms.iter().all(|term| eval_term(term, subject))
    }
}

fn eval_term<S: Subject + ?Sized>(term: &Term, subject: &S) -> bool {
    match term {
        Term::Eq(name, value) => subject.attribute(name) == Some(Some(value.as_str())),
        Term::Ne(name, value) => {
            matches!(subject.attribute(name), Some(Some(have)) if have != value)
        }
        Term::Matches(name, regex) => {
            matches!(subject.attribute(name), Some(Some(have)) if regex.is_match(have))
        }
        Term::In(name, values) => {
            matches!(subject.attribute(name), Some(Some(have)) if values.iter().any(|v| v == have))
        }
        Term::NotIn(name, values) => {
            matches!(subject.attribute(name), Some(Some(have)) if !values.iter().any(|v| v == have))
        }
        Term::Exists(name) => subject.attribute(name).is_some(),
        Term::GroupEq(group) => subject.any_task_group(&mut |g| g == group),
        Term::RunningEq(n) => subject.running_tasks_count() == *n,
        Term::Not(inner) => !eval_term(inner, subject),
    }
}
