//! `Display` for expressions: canonical text that parses back to an equal tree.
//!
//! Keywords are written lower case, operators in their symbol form ([`Op::as_str`]), `not` as
//! the word. Parentheses appear only where the tree needs them: around an `or` inside an `and`,
//! `or` or `not`, and around an `and` inside an `and` or `not`, so the printed depth never
//! exceeds the parsed one. Values are quoted only when a bare value could not hold them
//! (CQL-VALUES, `lexer::needs_quotes`), with `'` unless the value contains `'`.

use std::fmt;

use super::ast::{Expr, Operand, Term};
use super::lexer::needs_quotes;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(operands) => join(f, operands, " or ", |e| matches!(e, Expr::Or(_))),
            Expr::And(operands) => join(f, operands, " and ", |e| {
                matches!(e, Expr::Or(_) | Expr::And(_))
            }),
            Expr::Not(operand) => {
                f.write_str("not ")?;
                operand_fmt(f, operand, matches!(**operand, Expr::Or(_) | Expr::And(_)))
            }
            Expr::Term(term) => term.fmt(f),
        }
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    operands: &[Expr],
    sep: &str,
    needs_parens: fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        operand_fmt(f, operand, needs_parens(operand))?;
    }
    Ok(())
}

fn operand_fmt(f: &mut fmt::Formatter<'_>, expr: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.subject(), self.op())?;
        match self.operand() {
            Operand::None => Ok(()),
            Operand::Value(value) => {
                f.write_str(" ")?;
                value_fmt(f, value)
            }
            Operand::List(items) => {
                f.write_str(" [")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    value_fmt(f, item)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Writes a value bare when the lexer would read it back whole, else quoted.
fn value_fmt(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if !needs_quotes(value) {
        f.write_str(value)
    } else if value.contains('\'') {
        write!(f, "\"{value}\"")
    } else {
        write!(f, "'{value}'")
    }
}

#[cfg(test)]
mod tests {
    use crate::cql::parse;

    #[test]
    fn printing_is_canonical() {
        let cases = [
            (
                "attribute:ecs.instance-type EQUALS t2.small",
                "attribute:ecs.instance-type == t2.small",
            ),
            ("not(task:group == database)", "not task:group == database"),
            (
                "!(attribute:a exists && attribute:b !exists)",
                "not (attribute:a exists and attribute:b not_exists)",
            ),
            (
                "(attribute:a exists || attribute:b exists) && attribute:c exists",
                "(attribute:a exists or attribute:b exists) and attribute:c exists",
            ),
            (
                "attribute:a exists || (attribute:b exists && attribute:c exists)",
                "attribute:a exists or attribute:b exists and attribute:c exists",
            ),
            (
                "attribute:a exists and (attribute:b exists and attribute:c exists)",
                "attribute:a exists and (attribute:b exists and attribute:c exists)",
            ),
            (
                "ec2InstanceId in ['i-abcd1234', \"i-wxyx7890\"]",
                "ec2InstanceId in [i-abcd1234, i-wxyx7890]",
            ),
            ("attribute:a == \"it's\"", "attribute:a == \"it's\""),
            ("attribute:a == 'say \"hi\"'", "attribute:a == 'say \"hi\"'"),
            (
                "attribute:a in ['x,y', '', 'a b', '(p)']",
                "attribute:a in ['x,y', '', 'a b', '(p)']",
            ),
            ("attribute:a == x,y", "attribute:a == 'x,y'"),
            (
                "attribute:a == 'x&&y' && attribute:b == p|q",
                "attribute:a == 'x&&y' and attribute:b == p|q",
            ),
            ("!!attribute:a exists", "not not attribute:a exists"),
            ("attribute:a greater_than_equal 5", "attribute:a >= 5"),
            (
                "agentVersion less_than_equal 1.14.5",
                "agentVersion <= 1.14.5",
            ),
            ("attribute:a not_matches 'x y'", "attribute:a !~ 'x y'"),
        ];
        for (input, want) in cases {
            let expr = parse(input).unwrap();
            let printed = expr.to_string();
            assert_eq!(printed, want, "{input}");
            assert_eq!(parse(&printed).unwrap(), expr, "{input}");
        }
    }
}
