//! The CQL parser: recursive descent over CQL-GRAMMAR with the limits checked first.
//!
//! Input safety: the length is checked before anything is read, and depth (parentheses plus
//! `not`) is checked before each step deeper, so recursion never goes past
//! [`MAX_CQL_DEPTH`] levels and 10,000 `(` fail at the 65th. Every step consumes input or
//! stops, so parsing is linear in the input (regex compilation aside, which the `regex` crate
//! bounds by [`MAX_CQL_REGEX_SIZE`](super::MAX_CQL_REGEX_SIZE)).

use super::ast::{Expr, Op, Operand, Part, Span, SubjectKind, Term};
use super::error::{Error, ErrorKind};
use super::lexer::{Connective, Failure, Lexer};
use super::{MAX_CQL_DEPTH, MAX_CQL_LENGTH};

/// Parses a whole CQL expression (CQL-GRAMMAR), checking the limits, the subjects and their
/// operators (CQL-SUBJECTS) and the operand types (CQL-VALUES), and compiling regexes.
///
/// ```
/// use stowplan::cql::{parse, Expr, ErrorKind};
///
/// let expr = parse("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d")?;
/// assert!(matches!(&expr, Expr::And(terms) if terms.len() == 2));
///
/// let err = parse("instanceId == i-1").unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::UnknownSubject);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &str) -> Result<Expr, Error> {
    if input.len() > MAX_CQL_LENGTH {
        let mut start = MAX_CQL_LENGTH;
        while !input.is_char_boundary(start) {
            start -= 1;
        }
        return Err(Error::new(
            ErrorKind::TooLong,
            Span {
                start,
                end: input.len(),
            },
            input,
        ));
    }
    Parser {
        lexer: Lexer::new(input),
        input,
    }
    .expression()
    .map_err(|(kind, span)| Error::new(kind, span, input))
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    input: &'a str,
}

impl<'a> Parser<'a> {
    /// `expr` followed by the end of the input.
    fn expression(&mut self) -> Result<Expr, Failure> {
        self.lexer.skip_ws();
        if self.lexer.peek().is_none() {
            return Err((
                ErrorKind::Empty,
                Span {
                    start: 0,
                    end: self.input.len(),
                },
            ));
        }
        let expr = self.or(0)?;
        match self.lexer.peek() {
            None => Ok(expr),
            Some(')') => Err((ErrorKind::UnopenedParen, self.lexer.offending())),
            Some(_) => Err((ErrorKind::ExpectedConnective, self.lexer.offending())),
        }
    }

    /// `or_expr`; leaves the cursor after trailing whitespace.
    fn or(&mut self, depth: usize) -> Result<Expr, Failure> {
        let mut operands = vec![self.and(depth)?];
        while let Some((Connective::Or, span)) = self.lexer.peek_connective() {
            self.lexer.consume(span);
            operands.push(self.and(depth)?);
        }
        Ok(collapse(operands, Expr::Or))
    }

    /// `and_expr`; leaves the cursor after trailing whitespace, before any `or`.
    fn and(&mut self, depth: usize) -> Result<Expr, Failure> {
        let mut operands = vec![self.not(depth)?];
        self.lexer.skip_ws();
        while let Some((Connective::And, span)) = self.lexer.peek_connective() {
            self.lexer.consume(span);
            operands.push(self.not(depth)?);
            self.lexer.skip_ws();
        }
        Ok(collapse(operands, Expr::And))
    }

    /// `not_expr`: any number of `not` / `!`, counted iteratively, then a primary.
    fn not(&mut self, depth: usize) -> Result<Expr, Failure> {
        let mut n_nots = 0;
        loop {
            self.lexer.skip_ws();
            match self.lexer.not() {
                Some(span) if depth + n_nots + 1 > MAX_CQL_DEPTH => {
                    return Err((ErrorKind::Depth, span));
                }
                Some(_) => n_nots += 1,
                None => break,
            }
        }
        let mut expr = self.primary(depth + n_nots)?;
        for _ in 0..n_nots {
            expr = Expr::Not(Box::new(expr));
        }
        Ok(expr)
    }

    /// `primary`: a parenthesised expression or a term.
    fn primary(&mut self, depth: usize) -> Result<Expr, Failure> {
        match self.lexer.peek() {
            Some('(') => {
                let open = self.lexer.bump('(');
                if depth + 1 > MAX_CQL_DEPTH {
                    return Err((ErrorKind::Depth, open));
                }
                let expr = self.or(depth + 1)?;
                match self.lexer.peek() {
                    Some(')') => {
                        self.lexer.bump(')');
                        Ok(expr)
                    }
                    None => Err((ErrorKind::UnclosedParen, open)),
                    Some(_) => Err((ErrorKind::ExpectedConnective, self.lexer.offending())),
                }
            }
            _ => self.term().map(Expr::Term),
        }
    }

    /// `simple`: subject, operator, operand.
    fn term(&mut self) -> Result<Term, Failure> {
        let (word, subject_span) = self.lexer.word();
        if word.is_empty() {
            return Err((ErrorKind::ExpectedSubject, self.lexer.offending()));
        }
        let subject = match word {
            "agentConnected" => SubjectKind::AgentConnected,
            "agentVersion" => SubjectKind::AgentVersion,
            "ec2InstanceId" => SubjectKind::Ec2InstanceId,
            "registeredAt" => SubjectKind::RegisteredAt,
            "runningTasksCount" => SubjectKind::RunningTasksCount,
            "task:group" => SubjectKind::TaskGroup,
            _ => match word.strip_prefix("attribute:") {
                Some(name) => SubjectKind::Attribute(name.to_owned()),
                None => return Err((ErrorKind::UnknownSubject, subject_span)),
            },
        };
        self.lexer.skip_ws();
        let (op, op_span) = self.lexer.op()?;
        // Reject the operator before reading an operand it might not even take.
        if !subject.accepts(op) {
            return Err((ErrorKind::OperatorNotAllowed { subject, op }, op_span));
        }
        let mut value_spans = Vec::new();
        let operand = match op {
            Op::Exists | Op::NotExists => Operand::None,
            Op::In | Op::NotIn => Operand::List(self.list(&mut value_spans)?),
            _ => {
                self.lexer.skip_ws();
                if self.lexer.peek() == Some('[') {
                    return Err((ErrorKind::UnexpectedList, self.lexer.offending()));
                }
                let (value, span) = self.lexer.value(false)?;
                value_spans.push(span);
                Operand::Value(value.to_owned())
            }
        };
        let span = Span {
            start: subject_span.start,
            end: self.lexer.pos(),
        };
        Term::build(subject, op, operand, span).map_err(|(kind, part)| {
            let span = match part {
                Part::Subject => subject_span,
                Part::Op => op_span,
                Part::Operand => span,
                Part::Value(i) => value_spans.get(i).copied().unwrap_or(span),
            };
            (kind, span)
        })
    }

    /// `list`: `[` value { `,` value } `]`.
    fn list(&mut self, value_spans: &mut Vec<Span>) -> Result<Vec<String>, Failure> {
        self.lexer.skip_ws();
        if self.lexer.peek() != Some('[') {
            return Err((ErrorKind::ExpectedList, self.lexer.offending()));
        }
        let open = self.lexer.bump('[');
        self.lexer.skip_ws();
        if self.lexer.peek() == Some(']') {
            let close = self.lexer.bump(']');
            return Err((
                ErrorKind::EmptyList,
                Span {
                    start: open.start,
                    end: close.end,
                },
            ));
        }
        let mut items = Vec::new();
        loop {
            self.lexer.skip_ws();
            let (value, span) = self.lexer.value(true)?;
            items.push(value.to_owned());
            value_spans.push(span);
            self.lexer.skip_ws();
            match self.lexer.peek() {
                Some(',') => {
                    self.lexer.bump(',');
                }
                Some(']') => {
                    self.lexer.bump(']');
                    return Ok(items);
                }
                _ => return Err((ErrorKind::UnclosedList, self.lexer.offending())),
            }
        }
    }
}

/// One operand stands alone; more make an `Or` / `And`.
fn collapse(mut operands: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if operands.len() == 1 {
        operands.remove(0)
    } else {
        make(operands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_at(input: &str) -> (ErrorKind, usize, usize) {
        let err = parse(input).unwrap_err();
        (err.kind().clone(), err.span().start, err.span().end)
    }

    #[test]
    fn cql_grammar_precedence_not_and_or() {
        // CQL-GRAMMAR: not binds tightest, then and, then or.
        let expr = parse("a:x exists || attribute:b exists").unwrap_err();
        assert_eq!(expr.kind(), &ErrorKind::UnknownSubject);
        let expr =
            parse("!attribute:a exists or attribute:b exists and attribute:c exists").unwrap();
        let Expr::Or(operands) = expr else {
            panic!("{expr:?}")
        };
        assert!(matches!(operands[0], Expr::Not(_)));
        assert!(matches!(&operands[1], Expr::And(v) if v.len() == 2));
    }

    #[test]
    fn cql_grammar_flattens_chains_and_keeps_parentheses() {
        let flat = parse("attribute:a exists or attribute:b exists || attribute:c exists").unwrap();
        assert!(matches!(&flat, Expr::Or(v) if v.len() == 3));
        let nested =
            parse("attribute:a exists or (attribute:b exists or attribute:c exists)").unwrap();
        assert!(matches!(&nested, Expr::Or(v) if v.len() == 2 && matches!(&v[1], Expr::Or(_))));
        assert_ne!(flat, nested);
        let redundant = parse("((attribute:a exists))").unwrap();
        assert!(matches!(redundant, Expr::Term(_)));
    }

    #[test]
    fn terms_carry_their_spans() {
        let input = "  not(task:group == database) and attribute:a in ['x', y]";
        let Expr::And(operands) = parse(input).unwrap() else {
            panic!()
        };
        let Expr::Not(inner) = &operands[0] else {
            panic!()
        };
        let Expr::Term(first) = inner.as_ref() else {
            panic!()
        };
        assert_eq!(&input[first.span().range()], "task:group == database");
        let Expr::Term(second) = &operands[1] else {
            panic!()
        };
        assert_eq!(&input[second.span().range()], "attribute:a in ['x', y]");
    }

    #[test]
    fn cql_errors_point_at_the_problem() {
        let cases = [
            ("", ErrorKind::Empty, 0, 0),
            (" \t", ErrorKind::Empty, 0, 2),
            ("== 5", ErrorKind::ExpectedSubject, 0, 1),
            ("attribute:a exists and", ErrorKind::ExpectedSubject, 22, 22),
            ("instanceId == i-1", ErrorKind::UnknownSubject, 0, 10),
            (
                "attribute:a@b exists",
                ErrorKind::InvalidAttributeName,
                0,
                13,
            ),
            ("attribute: exists", ErrorKind::InvalidAttributeName, 0, 10),
            (
                "attribute:ecs.instance-type t2.micro",
                ErrorKind::ExpectedOperator,
                28,
                36,
            ),
            ("runningTasksCount", ErrorKind::ExpectedOperator, 17, 17),
            ("attribute:a ==", ErrorKind::ExpectedValue, 14, 14),
            ("(attribute:a ==)", ErrorKind::ExpectedValue, 15, 16),
            ("attribute:a == [x]", ErrorKind::UnexpectedList, 15, 16),
            ("attribute:a in (x, y)", ErrorKind::ExpectedList, 15, 16),
            ("attribute:a in x", ErrorKind::ExpectedList, 15, 16),
            ("attribute:a in [ ]", ErrorKind::EmptyList, 15, 18),
            ("attribute:a in [x, y", ErrorKind::UnclosedList, 20, 20),
            ("attribute:a in [x y]", ErrorKind::UnclosedList, 18, 19),
            ("attribute:a in [x,]", ErrorKind::ExpectedValue, 18, 19),
            ("attribute:a == 'x", ErrorKind::UnclosedQuote, 15, 17),
            ("(attribute:a exists", ErrorKind::UnclosedParen, 0, 1),
            ("attribute:a exists)", ErrorKind::UnopenedParen, 18, 19),
            ("attribute:a == x b", ErrorKind::ExpectedConnective, 17, 18),
            (
                "attribute:a exists x",
                ErrorKind::ExpectedConnective,
                19,
                20,
            ),
            (
                "(attribute:a exists x)",
                ErrorKind::ExpectedConnective,
                20,
                21,
            ),
            ("agentConnected == yes", ErrorKind::InvalidBool, 18, 21),
            (
                "agentConnected in [true, 'no']",
                ErrorKind::InvalidBool,
                25,
                29,
            ),
            ("runningTasksCount > -1", ErrorKind::InvalidCount, 20, 22),
            (
                "runningTasksCount > 18446744073709551616",
                ErrorKind::InvalidCount,
                20,
                40,
            ),
            ("agentVersion < 1.14.x", ErrorKind::InvalidVersion, 15, 21),
            ("registeredAt < 2018-02-30", ErrorKind::InvalidTime, 15, 25),
            ("attribute:a =~ \\w{1000}", ErrorKind::RegexTooBig, 15, 23),
        ];
        for (input, kind, start, end) in cases {
            assert_eq!(kind_at(input), (kind, start, end), "{input:?}");
        }
    }

    #[test]
    fn cql_subjects_operator_not_allowed_points_at_the_operator() {
        let (kind, start, end) = kind_at("agentVersion matches 1.*");
        assert_eq!(
            kind,
            ErrorKind::OperatorNotAllowed {
                subject: SubjectKind::AgentVersion,
                op: Op::Matches
            }
        );
        assert_eq!((start, end), (13, 20));
        let (kind, ..) = kind_at("runningTasksCount exists");
        assert_eq!(
            kind,
            ErrorKind::OperatorNotAllowed {
                subject: SubjectKind::RunningTasksCount,
                op: Op::Exists
            }
        );
    }

    #[test]
    fn cql_grammar_keywords_ignore_case() {
        let lower =
            parse("not attribute:a exists and attribute:b in [x] or attribute:c equals y").unwrap();
        let upper =
            parse("NOT attribute:a EXISTS AND attribute:b IN [x] OR attribute:c Equals y").unwrap();
        assert_eq!(lower, upper);
    }

    #[test]
    fn cql_grammar_whitespace_between_tokens_is_free() {
        let spaced = parse("( runningTasksCount == 1 ) && ! ( attribute:a in [ x , y ] )").unwrap();
        let tight = parse("(runningTasksCount==1)&&!(attribute:a in[x,y])").unwrap();
        assert_eq!(spaced, tight);
    }

    #[test]
    fn depth_limit_at_and_past_the_limit() {
        let term = "attribute:a exists";
        let parens = |n: usize| format!("{}{term}{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&parens(MAX_CQL_DEPTH)).is_ok());
        assert_eq!(
            kind_at(&parens(MAX_CQL_DEPTH + 1)),
            (ErrorKind::Depth, MAX_CQL_DEPTH, MAX_CQL_DEPTH + 1)
        );
        let nots = |n: usize| format!("{}{term}", "!".repeat(n));
        assert!(parse(&nots(MAX_CQL_DEPTH)).is_ok());
        assert_eq!(
            kind_at(&nots(MAX_CQL_DEPTH + 1)),
            (ErrorKind::Depth, MAX_CQL_DEPTH, MAX_CQL_DEPTH + 1)
        );
        // Parentheses and `not` count together.
        let mixed = |n: usize| format!("{}{term}{}", "not(".repeat(n / 2), ")".repeat(n / 2));
        assert!(parse(&mixed(MAX_CQL_DEPTH)).is_ok());
        assert_eq!(kind_at(&mixed(MAX_CQL_DEPTH + 2)).0, ErrorKind::Depth);
    }

    #[test]
    fn depth_limit_fails_fast_on_ten_thousand_parentheses() {
        let deep = "(".repeat(10_000);
        // Past the length limit, so shorten: the depth check is what must stop it.
        assert_eq!(kind_at(&deep[..MAX_CQL_LENGTH]).0, ErrorKind::Depth);
        assert_eq!(kind_at(&deep).0, ErrorKind::TooLong);
    }

    #[test]
    fn length_limit_at_and_past_the_limit() {
        let term = "attribute:a exists";
        let at = format!("{term}{}", " ".repeat(MAX_CQL_LENGTH - term.len()));
        assert!(parse(&at).is_ok());
        let past = format!("{at} ");
        assert_eq!(
            kind_at(&past),
            (ErrorKind::TooLong, MAX_CQL_LENGTH, MAX_CQL_LENGTH + 1)
        );
        // The span starts on a character boundary even when byte 2000 is inside one.
        let multibyte = format!("{}é", " ".repeat(MAX_CQL_LENGTH - 1));
        assert_eq!(
            kind_at(&multibyte),
            (ErrorKind::TooLong, MAX_CQL_LENGTH - 1, MAX_CQL_LENGTH + 1)
        );
        let megabyte = "x".repeat(1 << 20);
        assert_eq!(kind_at(&megabyte).0, ErrorKind::TooLong);
    }

    #[test]
    fn multibyte_input_gives_spans_on_boundaries() {
        for input in [
            "é",
            "attribute:é exists",
            "attribute:a == 'é",
            "attribute:a in [é é]",
            "attribute:a exists é",
            "(é",
            "attribute:a ééé",
        ] {
            let err = parse(input).unwrap_err();
            assert!(
                input.is_char_boundary(err.span().start) && input.is_char_boundary(err.span().end),
                "{input}"
            );
            let _ = err.to_string();
        }
        let ok = parse("attribute:a == 'ü b' and attribute:b in [日本, 'é']").unwrap();
        assert_eq!(
            ok.to_string(),
            "attribute:a == 'ü b' and attribute:b in [日本, é]"
        );
    }
}
