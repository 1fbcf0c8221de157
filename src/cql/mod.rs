//! The cluster query language (CQL): the expressions of `memberOf` placement constraints and
//! of the ListContainerInstances `filter` (spec §4, CQL-USES).
//!
//! [`parse`] turns text into an [`Expr`], checking the grammar (CQL-GRAMMAR), the subjects and
//! the operators each accepts (CQL-SUBJECTS) and the operand types (CQL-VALUES), and compiling
//! regexes. [`Expr::eval`] tests one container instance, seen through the [`Subject`] trait.
//! `Display` writes an expression back as canonical text that parses to an equal tree.
//!
//! The module imports nothing else from the crate: like `regex-syntax`, it is tested and fuzzed
//! from strings alone, and shared by placement and ListContainerInstances.
//!
//! # Example
//!
//! ```
//! use stowplan::cql::{self, Subject};
//!
//! struct Host {
//!     instance_type: &'static str,
//!     groups: Vec<&'static str>,
//! }
//!
//! impl Subject for Host {
//!     fn attribute(&self, name: &str) -> Option<Option<&str>> {
//!         (name == "ecs.instance-type").then_some(Some(self.instance_type))
//!     }
//!     fn agent_connected(&self) -> bool { true }
//!     fn agent_version(&self) -> Option<&str> { Some("1.14.5") }
//!     fn ec2_instance_id(&self) -> Option<&str> { Some("i-abcd1234") }
//!     fn registered_at(&self) -> Option<i64> { Some(1_518_480_000) }
//!     fn running_tasks_count(&self) -> u64 { self.groups.len() as u64 }
//!     fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
//!         self.groups.iter().any(|group| pred(group))
//!     }
//! }
//!
//! let expr = cql::parse("attribute:ecs.instance-type =~ t2.* and not(task:group == database)")?;
//! assert!(expr.eval(&Host { instance_type: "t2.small", groups: vec!["web"] }));
//! assert!(!expr.eval(&Host { instance_type: "t2.small", groups: vec!["database"] }));
//! assert!(!expr.eval(&Host { instance_type: "m5.large", groups: vec![] }));
//! assert_eq!(
//!     expr.to_string(),
//!     "attribute:ecs.instance-type =~ t2.* and not task:group == database",
//! );
//!
//! let err = cql::parse("attribute:ecs.instance-type t2.micro").unwrap_err();
//! assert_eq!(err.kind(), &cql::ErrorKind::ExpectedOperator);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics in brief
//!
//! - `not` binds tightest, then `and`, then `or`; keywords and word operators ignore ASCII case
//!   and print lower case. Subjects are case-sensitive.
//! - Values are bare (up to whitespace, a bracket, a parenthesis, a quote, `&&`, `||`, and in a
//!   list `,`) or quoted with `'` or `"`, without escapes. `Display` quotes what needs it, so
//!   `parse(&expr.to_string()) == Ok(expr)`; only an expression written compactly near
//!   [`MAX_CQL_LENGTH`] can print longer than the limit.
//! - `==`, `!=`, `in`, `not_in` compare strings exactly, except on `runningTasksCount`
//!   (numbers), `agentVersion` (versions, `1.14` = `1.14.0`) and `registeredAt` (times), which
//!   compare in their type with every comparison operator.
//! - Ordering on `attribute:` values is numeric when both sides are decimal numbers
//!   (`-?[0-9]+(\.[0-9]+)?`), else by code point.
//! - `=~` / `!~` match the whole value (`^(?:pattern)$`) with the `regex` crate's syntax.
//! - A missing attribute satisfies only `not_exists`; an attribute without a value satisfies only
//!   `exists` (CQL-MISSING-ATTRIBUTE). `task:group OP v` holds when some task's group satisfies
//!   it (CQL-TASK-GROUP).
//!
//! # Input safety
//!
//! No input panics, overflows the stack or takes superlinear time:
//!
//! - [`MAX_CQL_LENGTH`]: longer input fails with [`ErrorKind::TooLong`] before it is read.
//! - [`MAX_CQL_DEPTH`]: parentheses and `not` nest at most this deep ([`ErrorKind::Depth`]),
//!   checked before each step deeper; regexes get the same nest limit.
//! - [`MAX_CQL_REGEX_SIZE`]: the compiled size of each regex ([`ErrorKind::RegexTooBig`]); the
//!   `regex` crate matches in time linear in the value.
//!
//! Every [`Error`] has a byte span inside the expression, on character boundaries.

mod ast;
mod error;
mod eval;
mod lexer;
mod parse;
mod print;
mod value;

pub use ast::{Arity, Expr, Op, Operand, Span, SubjectKind, Term};
pub use error::{Error, ErrorKind};
pub use eval::Subject;
pub use parse::parse;

/// The longest expression [`parse`] accepts, in bytes: ECS's cap on a `memberOf` expression
/// (MODEL `PlacementConstraint.expression`, CQL-USES), applied to filters too.
pub const MAX_CQL_LENGTH: usize = 2000;

/// The deepest nesting of parentheses and `not` that [`parse`] accepts; stowplan's own cap
/// (CQL-GRAMMAR, issue B), also the nest limit given to the `regex` crate.
pub const MAX_CQL_DEPTH: usize = 64;

/// The largest compiled size of one `=~` / `!~` regex, in bytes, given to the `regex` crate as
/// both `size_limit` and `dfa_size_limit`.
///
/// A Unicode class such as `\w` or `\pL` compiles to about 50 KB, so a pattern may hold one;
/// ASCII classes (`[A-Za-z0-9_]`, about 1 KB) are what attribute values need anyway
/// (CI-ATTR-NAME-VALUE). The limit also bounds the work of parsing: a 2,000-byte expression made
/// of regex terms with one Unicode class each compiles in about a tenth of a second.
pub const MAX_CQL_REGEX_SIZE: usize = 64 * 1024;
