//! CQL errors: a kind, the byte span it points at, and the expression (CQL-ERRORS).
//!
//! The shape follows `regex-syntax`: [`Error`] carries an [`ErrorKind`], a [`Span`] of byte
//! offsets into the expression and the expression itself; its `Display` prints the message, the
//! line of the expression holding the span and a caret line under the span.

use std::fmt;

use super::ast::{Op, Span, SubjectKind};
use super::{MAX_CQL_DEPTH, MAX_CQL_LENGTH, MAX_CQL_REGEX_SIZE};

/// A CQL expression that could not be parsed, with the place in the expression where parsing
/// stopped.
///
/// ```
/// use stowplan::cql::{parse, ErrorKind};
///
/// let err = parse("attribute:ecs.instance-type t2.micro").unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::ExpectedOperator);
/// assert_eq!((err.span().start, err.span().end), (28, 36));
/// assert_eq!(
///     err.to_string(),
///     "cql error: expected an operator after the subject\n\
///      attribute:ecs.instance-type t2.micro\n\
///      \x20                           ^^^^^^^^",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    span: Span,
    expression: String,
}

impl Error {
    /// Builds an error; `span` must lie inside `expression` on character boundaries.
    pub(crate) fn new(kind: ErrorKind, span: Span, expression: &str) -> Error {
        debug_assert!(span.start <= span.end && span.end <= expression.len());
        debug_assert!(expression.is_char_boundary(span.start));
        debug_assert!(expression.is_char_boundary(span.end));
        Error {
            kind,
            span,
            expression: expression.to_owned(),
        }
    }

    /// Returns what went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Returns the byte span of the problem in the expression; both ends are character
    /// boundaries and `end <= expression().len()`. An empty span points just before a character
    /// or at the end of the expression.
    pub fn span(&self) -> Span {
        self.span
    }

    /// Returns the expression that failed to parse.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

impl std::error::Error for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cql error: {}", self.kind)?;
        if self.kind == ErrorKind::TooLong {
            // An excerpt of a megabyte-long line helps nobody: give the length instead.
            return write!(f, " (it is {} bytes)", self.expression.len());
        }
        let expr = self.expression.as_str();
        let line_start = expr[..self.span.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = expr[line_start..]
            .find('\n')
            .map_or(expr.len(), |i| line_start + i);
        let line = &expr[line_start..line_end];
        write!(f, "\n{line}\n")?;
        // Tabs are repeated so that the caret lines up in a terminal; other characters count as
        // one column each.
        for c in expr[line_start..self.span.start].chars() {
            f.write_str(if c == '\t' { "\t" } else { " " })?;
        }
        let end = self.span.end.min(line_end);
        let width = expr[self.span.start..end].chars().count().max(1);
        for _ in 0..width {
            f.write_str("^")?;
        }
        Ok(())
    }
}

/// The kinds of CQL error, each with an example input that produces it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The expression is longer than [`MAX_CQL_LENGTH`] bytes (CQL-USES), e.g. 2,001 spaces.
    /// The span starts at the first byte past the limit.
    #[error("the expression is longer than the limit of {MAX_CQL_LENGTH} bytes")]
    TooLong,
    /// Parentheses and `not` nest deeper than [`MAX_CQL_DEPTH`], e.g. 65 `(` in a row.
    #[error("parentheses and `not` nest deeper than the limit of {MAX_CQL_DEPTH}")]
    Depth,
    /// The expression is empty or only whitespace, e.g. `"  "`.
    #[error("the expression is empty")]
    Empty,
    /// A subject, `(` or `not` was expected, e.g. the `==` of `== 5` or the end of `a exists and`.
    #[error("expected a subject, `(` or `not`")]
    ExpectedSubject,
    /// The subject is not one of CQL-SUBJECTS, e.g. `instanceId == i-1`.
    #[error(
        "unknown subject: expected agentConnected, agentVersion, ec2InstanceId, registeredAt, runningTasksCount, task:group or attribute:<name>"
    )]
    UnknownSubject,
    /// The name after `attribute:` is empty or has a character outside letters, digits, `-`,
    /// `_`, `/`, `\` and `.` (CI-ATTR-NAME-VALUE), e.g. `attribute:a@b exists`.
    #[error("invalid attribute name: use letters, digits, '-', '_', '/', '\\' and '.'")]
    InvalidAttributeName,
    /// No known operator follows the subject, e.g. `attribute:ecs.instance-type t2.micro`.
    #[error("expected an operator after the subject")]
    ExpectedOperator,
    /// The subject does not accept the operator (CQL-SUBJECTS), e.g. `agentVersion =~ 1.*`.
    #[error("the subject `{subject}` does not accept the operator `{op}`")]
    OperatorNotAllowed {
        /// The subject of the term.
        subject: SubjectKind,
        /// The operator it does not accept.
        op: Op,
    },
    /// A value was expected after a binary operator, e.g. the end of `attribute:a ==`, or the
    /// `)` of `(attribute:a ==)`.
    #[error("expected a value after the operator")]
    ExpectedValue,
    /// A unary operator was given a value; only [`Term::new`](super::Term::new) reports it,
    /// e.g. `Term::new(SubjectKind::TaskGroup, Op::Exists, Operand::Value("x".into()))`.
    #[error("the operator takes no value")]
    UnexpectedValue,
    /// A list was given to an operator that takes one value, e.g. `attribute:a == [x, y]`.
    #[error("a list needs `in` or `not_in`")]
    UnexpectedList,
    /// `in` / `not_in` is not followed by a `[` list (CQL-VALUES), e.g. `attribute:a in (x, y)`.
    #[error("expected a list in square brackets after `in` or `not_in`")]
    ExpectedList,
    /// The list has no items, e.g. `attribute:a in []`.
    #[error("the list is empty")]
    EmptyList,
    /// The list is not closed by `]`, e.g. `attribute:a in [x, y` or `attribute:a in [x y]`.
    #[error("expected `,` or `]` in the list")]
    UnclosedList,
    /// A quoted value has no closing quote, e.g. `attribute:a == 'x`.
    #[error("the quoted value is not closed")]
    UnclosedQuote,
    /// A `(` has no matching `)`, e.g. `(attribute:a exists`.
    #[error("the parenthesis is not closed")]
    UnclosedParen,
    /// A `)` has no matching `(`, e.g. `attribute:a exists)`.
    #[error("the parenthesis closes nothing")]
    UnopenedParen,
    /// After a term only `and`, `or`, `&&`, `||`, `)` or the end may follow, e.g. the `b` of
    /// `attribute:a == x b`.
    #[error("expected `and`, `or`, `)` or the end of the expression")]
    ExpectedConnective,
    /// An `agentConnected` value is not `true` or `false` (CQL-VALUES), e.g.
    /// `agentConnected == yes`.
    #[error("expected `true` or `false`")]
    InvalidBool,
    /// A `runningTasksCount` value is not a decimal integer in range, e.g.
    /// `runningTasksCount > -1`.
    #[error("expected a non-negative integer")]
    InvalidCount,
    /// An `agentVersion` value is not dot-separated decimal numbers, e.g.
    /// `agentVersion < 1.14.x`.
    #[error("expected a version made of dot-separated numbers, like 1.14.5")]
    InvalidVersion,
    /// A `registeredAt` value is not one of the CQL-VALUES time formats or not a real date,
    /// e.g. `registeredAt < 2018-02-30`.
    #[error(
        "expected a time like 2018-06-18, 2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00"
    )]
    InvalidTime,
    /// The pattern of `=~` / `!~` is not valid `regex` syntax (CQL-OPERATORS; Java-only syntax
    /// such as backreferences and look-around is unsupported), e.g. `attribute:a =~ (x`.
    #[error("invalid regular expression: {message}")]
    InvalidRegex {
        /// What the `regex` crate reported.
        message: String,
    },
    /// The compiled pattern would be larger than [`MAX_CQL_REGEX_SIZE`], e.g.
    /// `attribute:a =~ \w{2}` (two Unicode classes).
    #[error(
        "the regular expression is larger than the limit of {MAX_CQL_REGEX_SIZE} bytes when compiled (Unicode classes such as \\w are large: try [A-Za-z0-9_])"
    )]
    RegexTooBig,
    /// A value contains both `'` and `"`, so no quoting can write it; only
    /// [`Term::new`](super::Term::new) reports it, since `parse` cannot produce such a value.
    #[error("a value cannot contain both `'` and `\"`")]
    UnquotableValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: ErrorKind, start: usize, end: usize, expr: &str) -> String {
        Error::new(kind, Span { start, end }, expr).to_string()
    }

    #[test]
    fn display_puts_carets_under_the_span() {
        assert_eq!(
            error(ErrorKind::ExpectedValue, 13, 13, "attribute:a =="),
            "cql error: expected a value after the operator\nattribute:a ==\n             ^"
        );
    }

    #[test]
    fn display_counts_columns_in_characters_not_bytes() {
        // "é" is two bytes but one column.
        let expr = "attribute:é == x";
        let start = expr.find('é').unwrap();
        let shown = error(ErrorKind::InvalidAttributeName, start - 10, start + 2, expr);
        assert!(
            shown.ends_with("\nattribute:é == x\n^^^^^^^^^^^"),
            "{shown}"
        );
    }

    #[test]
    fn display_shows_only_the_line_of_the_span() {
        let shown = error(ErrorKind::ExpectedConnective, 17, 18, "attribute:a ==\nx y");
        assert_eq!(
            shown,
            "cql error: expected `and`, `or`, `)` or the end of the expression\nx y\n  ^"
        );
    }

    #[test]
    fn display_keeps_tabs_aligned() {
        let shown = error(ErrorKind::ExpectedOperator, 1, 2, "\tx");
        assert!(shown.ends_with("\n\tx\n\t^"), "{shown}");
    }

    #[test]
    fn display_of_too_long_omits_the_expression() {
        let expr = " ".repeat(MAX_CQL_LENGTH + 1);
        let shown = error(
            ErrorKind::TooLong,
            MAX_CQL_LENGTH,
            MAX_CQL_LENGTH + 1,
            &expr,
        );
        assert_eq!(
            shown,
            "cql error: the expression is longer than the limit of 2000 bytes (it is 2001 bytes)"
        );
    }
}
