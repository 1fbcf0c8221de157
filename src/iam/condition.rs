//! The `Condition` element: operators, their typed values (parsed once, at policy parse time),
//! and their evaluation against a [`Context`].
//!
//! Rules (IAM User Guide, "Condition element" and "Condition operators"):
//! operators AND, keys AND, values of one key OR — negated operators (`StringNotEquals`,
//! `NotIpAddress`, ...) require the request value to differ from every policy value. An absent
//! key makes a condition false, except for negated operators (true), `...IfExists` (true) and
//! `Null`. `ForAllValues:` is true when every request value matches some policy value, and also
//! when the key is absent or empty; `ForAnyValue:` needs at least one match and is false when the
//! key is absent or empty.

use std::net::IpAddr;

use serde_json::Value;

use super::matcher::Pattern;
use super::variables::{self, Template};
use super::{Context, PolicyError, note_missing};

/// Operator families and their members (without the qualifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

/// (name, base comparison, negated)
const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", Base::StringEquals, false),
    ("StringNotEquals", Base::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Base::StringLike, false),
    ("StringNotLike", Base::StringLike, true),
    ("NumericEquals", Base::NumericEquals, false),
    ("NumericNotEquals", Base::NumericEquals, true),
    ("NumericLessThan", Base::NumericLessThan, false),
    ("NumericLessThanEquals", Base::NumericLessThanEquals, false),
    ("NumericGreaterThan", Base::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Base::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Base::DateEquals, false),
    ("DateNotEquals", Base::DateEquals, true),
    ("DateLessThan", Base::DateLessThan, false),
    ("DateLessThanEquals", Base::DateLessThanEquals, false),
    ("DateGreaterThan", Base::DateGreaterThan, false),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals, false),
    ("Bool", Base::Bool, false),
    ("BinaryEquals", Base::BinaryEquals, false),
    ("IpAddress", Base::IpAddress, false),
    ("NotIpAddress", Base::IpAddress, true),
    ("ArnEquals", Base::ArnLike, false),
    ("ArnLike", Base::ArnLike, false),
    ("ArnNotEquals", Base::ArnLike, true),
    ("ArnNotLike", Base::ArnLike, true),
    ("Null", Base::Null, false),
];

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOp {
    None,
    ForAll,
    ForAny,
}

/// A parsed operator name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) base: Base,
    pub(crate) negated: bool,
    pub(crate) if_exists: bool,
    pub(crate) set: SetOp,
}

impl Operator {
    /// Parses `[ForAllValues:|ForAnyValue:]Name[IfExists]`.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetOp::ForAll, rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetOp::ForAny, rest)
        } else {
            (SetOp::None, name)
        };
        let (if_exists, rest) = match rest.strip_suffix("IfExists") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let &(_, base, negated) = OPERATORS.iter().find(|(n, _, _)| *n == rest)?;
        if base == Base::Null && (if_exists || set != SetOp::None) {
            return None;
        }
        Some(Operator {
            base,
            negated,
            if_exists,
            set,
        })
    }

    fn allows_variables(self) -> bool {
        matches!(
            self.base,
            Base::StringEquals
                | Base::StringEqualsIgnoreCase
                | Base::StringLike
                | Base::ArnLike
                | Base::Bool
        )
    }
}

/// An ARN pattern: six colon-separated parts matched separately, or (for a value with fewer
/// than six parts) the whole text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ArnPattern {
    Parts(Box<[Pattern; 6]>),
    Whole(Pattern),
}

impl ArnPattern {
    fn from_resolved(resolved: &variables::Resolved) -> ArnPattern {
        // Cut the pieces at the first five colons, keeping each piece's wildcard flag.
        let mut groups: Vec<Vec<(String, bool)>> = vec![Vec::new()];
        for (text, wild) in resolved {
            let mut rest = text.as_str();
            while groups.len() < 6 {
                match rest.split_once(':') {
                    Some((head, tail)) => {
                        if let Some(group) = groups.last_mut() {
                            group.push((head.to_owned(), *wild));
                        }
                        groups.push(Vec::new());
                        rest = tail;
                    }
                    None => break,
                }
            }
            if let Some(group) = groups.last_mut() {
                group.push((rest.to_owned(), *wild));
            }
        }
        if groups.len() < 6 {
            return ArnPattern::Whole(variables::pattern(resolved));
        }
        let compiled: Vec<Pattern> = groups.iter().map(variables::pattern).collect();
        match <[Pattern; 6]>::try_from(compiled) {
            Ok(parts) => ArnPattern::Parts(Box::new(parts)),
            Err(_) => ArnPattern::Whole(variables::pattern(resolved)),
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            ArnPattern::Whole(p) => p.matches(value),
            ArnPattern::Parts(parts) => {
                let mut it = value.splitn(6, ':');
                parts
                    .iter()
                    .all(|p| it.next().is_some_and(|piece| p.matches(piece)))
            }
        }
    }
}

/// A policy value, typed for its operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Typed {
    /// StringEquals: the text.
    Str(String),
    /// StringEqualsIgnoreCase: the lower-cased text.
    Lower(String),
    /// StringLike.
    Like(Pattern),
    Num(f64),
    /// Nanoseconds since the epoch.
    Date(i128),
    /// `true` / `false`, lower-cased text (Bool compares text case-insensitively).
    Bool(String),
    Binary(Vec<u8>),
    Cidr(IpAddr, u8),
    Arn(ArnPattern),
    /// Null: `true` = must be absent.
    Null(bool),
}

/// A policy value: typed once, or a template resolved at evaluation time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CondValue {
    Fixed(Typed),
    Template(Template),
}

/// One `operator: { key: values }` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Condition {
    pub(crate) op: Operator,
    /// The operator as written.
    pub(crate) op_name: String,
    /// Lower-cased key.
    pub(crate) key: String,
    /// The key as written.
    pub(crate) key_name: String,
    pub(crate) values: Vec<CondValue>,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn typed(base: Base, text: &str) -> Result<Typed, String> {
    Ok(match base {
        Base::StringEquals => Typed::Str(text.to_owned()),
        Base::StringEqualsIgnoreCase => Typed::Lower(text.to_lowercase()),
        Base::StringLike => Typed::Like(Pattern::new(text)),
        Base::NumericEquals
        | Base::NumericLessThan
        | Base::NumericLessThanEquals
        | Base::NumericGreaterThan
        | Base::NumericGreaterThanEquals => {
            Typed::Num(parse_number(text).ok_or_else(|| format!("{text:?} is not a number"))?)
        }
        Base::DateEquals
        | Base::DateLessThan
        | Base::DateLessThanEquals
        | Base::DateGreaterThan
        | Base::DateGreaterThanEquals => Typed::Date(
            parse_date(text).ok_or_else(|| format!("{text:?} is not an ISO 8601 date or epoch"))?,
        ),
        Base::Bool => Typed::Bool(text.to_ascii_lowercase()),
        Base::BinaryEquals => {
            Typed::Binary(base64(text).ok_or_else(|| format!("{text:?} is not base64"))?)
        }
        Base::IpAddress => {
            let (ip, bits) =
                parse_cidr(text).ok_or_else(|| format!("{text:?} is not an IP address or CIDR"))?;
            Typed::Cidr(ip, bits)
        }
        Base::ArnLike => Typed::Arn(ArnPattern::from_resolved(&vec![(text.to_owned(), true)])),
        Base::Null => match text {
            "true" => Typed::Null(true),
            "false" => Typed::Null(false),
            _ => return Err(format!("Null takes \"true\" or \"false\", not {text:?}")),
        },
    })
}

fn typed_resolved(base: Base, resolved: &variables::Resolved) -> Option<Typed> {
    match base {
        Base::StringLike => Some(Typed::Like(variables::pattern(resolved))),
        Base::ArnLike => Some(Typed::Arn(ArnPattern::from_resolved(resolved))),
        _ => typed(base, &variables::joined(resolved)).ok(),
    }
}

/// Parses the `Condition` member of a statement.
pub(crate) fn parse_block(
    value: &Value,
    at: &str,
    variables_on: bool,
) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = value else {
        return Err(PolicyError::new(at, "Condition must be an object"));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op_at = format!("{at}/{}", escape(op_name));
        let op = Operator::parse(op_name).ok_or_else(|| {
            PolicyError::new(&op_at, format!("unknown condition operator {op_name:?}"))
        })?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::new(
                &op_at,
                "a condition operator takes an object of condition keys",
            ));
        };
        for (key_name, values) in keys {
            let key_at = format!("{op_at}/{}", escape(key_name));
            if key_name.is_empty() {
                return Err(PolicyError::new(&key_at, "empty condition key"));
            }
            let items: Vec<(String, &Value)> = match values {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{key_at}/{i}"), v))
                    .collect(),
                other => vec![(key_at.clone(), other)],
            };
            let mut parsed = Vec::with_capacity(items.len());
            for (item_at, item) in items {
                let text = match item {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(PolicyError::new(
                            item_at,
                            "condition values are strings, numbers or booleans",
                        ));
                    }
                };
                let template = if variables_on && op.allows_variables() {
                    variables::parse(&text)
                } else {
                    None
                };
                parsed.push(match template {
                    Some(t) => CondValue::Template(t),
                    None => CondValue::Fixed(
                        typed(op.base, &text).map_err(|m| PolicyError::new(item_at, m))?,
                    ),
                });
            }
            out.push(Condition {
                op,
                op_name: op_name.clone(),
                key: key_name.to_ascii_lowercase(),
                key_name: key_name.clone(),
                values: parsed,
            });
        }
    }
    Ok(out)
}

/// Does one request value match one typed policy value? `None` when the request value cannot
/// be read as the operator's type.
fn compare(base: Base, policy: &Typed, request: &str) -> Option<bool> {
    Some(match (base, policy) {
        (_, Typed::Str(p)) => p == request,
        (_, Typed::Lower(p)) => request.chars().flat_map(char::to_lowercase).eq(p.chars()),
        (_, Typed::Like(p)) => p.matches(request),
        (_, Typed::Num(p)) => {
            let r = parse_number(request)?;
            match base {
                Base::NumericEquals => r == *p,
                Base::NumericLessThan => r < *p,
                Base::NumericLessThanEquals => r <= *p,
                Base::NumericGreaterThan => r > *p,
                _ => r >= *p,
            }
        }
        (_, Typed::Date(p)) => {
            let r = parse_date(request)?;
            match base {
                Base::DateEquals => r == *p,
                Base::DateLessThan => r < *p,
                Base::DateLessThanEquals => r <= *p,
                Base::DateGreaterThan => r > *p,
                _ => r >= *p,
            }
        }
        (_, Typed::Bool(p)) => request.eq_ignore_ascii_case(p),
        (_, Typed::Binary(p)) => base64(request)? == *p,
        (_, Typed::Cidr(net, bits)) => in_cidr(parse_ip(request)?, *net, *bits),
        (_, Typed::Arn(p)) => p.matches(request),
        (_, Typed::Null(_)) => return None,
    })
}

impl Condition {
    /// Whether one request value matches any policy value (the OR across values).
    fn any_match(&self, request: &str, context: &Context, missing: &mut Vec<String>) -> bool {
        let mut out = false;
        for value in &self.values {
            let hit = match value {
                CondValue::Fixed(t) => compare(self.op.base, t, request),
                CondValue::Template(t) => t
                    .resolve(context, missing)
                    .and_then(|r| typed_resolved(self.op.base, &r))
                    .and_then(|typed| compare(self.op.base, &typed, request)),
            };
            if hit == Some(true) {
                out = true;
                // Keep going only when templates might still report missing keys.
                if !matches!(value, CondValue::Template(_)) {
                    break;
                }
            }
        }
        out
    }

    /// The per-value result: positive operators need a match, negated ones need none.
    fn value_holds(&self, request: &str, context: &Context, missing: &mut Vec<String>) -> bool {
        self.any_match(request, context, missing) != self.op.negated
    }

    /// Evaluates the condition.
    pub(crate) fn holds(&self, context: &Context, missing: &mut Vec<String>) -> bool {
        let present = context.get_lower(&self.key).filter(|v| !v.is_empty());
        if self.op.base == Base::Null {
            if context.get_lower(&self.key).is_none() {
                note_missing(missing, &self.key_name);
            }
            let absent = present.is_none();
            return self
                .values
                .iter()
                .any(|v| matches!(v, CondValue::Fixed(Typed::Null(want)) if *want == absent));
        }
        let Some(values) = present else {
            if context.get_lower(&self.key).is_none() {
                note_missing(missing, &self.key_name);
            }
            return match self.op.set {
                SetOp::ForAll => true,
                SetOp::ForAny => self.op.if_exists,
                SetOp::None => self.op.if_exists || self.op.negated,
            };
        };
        match self.op.set {
            SetOp::ForAll => values.iter().all(|v| self.value_holds(v, context, missing)),
            SetOp::ForAny => values.iter().any(|v| self.value_holds(v, context, missing)),
            SetOp::None => {
                // A plain operator on a (multi-valued) key: some request value must match;
                // a negated operator holds when no request value matches any policy value.
                let any = values.iter().any(|v| self.any_match(v, context, missing));
                any != self.op.negated
            }
        }
    }
}

/// A finite decimal number (`10`, `-3`, `2.5`, `1e3`).
fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn digits(text: &str, n: usize) -> Option<i64> {
    if text.len() != n || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 (`2026-01-02`, `2026-01-02T03:04:05Z`, fractions, `±hh:mm` offsets) or epoch
/// seconds (`1700000000`, `1700000000.5`), as nanoseconds since the epoch.
pub(crate) fn parse_date(text: &str) -> Option<i128> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !t[1..].contains('-')
    {
        // Epoch seconds, possibly with a fraction.
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        // At most 18 digits: far beyond any real date, and no overflow below.
        if int.len() > 18 {
            return None;
        }
        let secs: i128 = int.parse().ok()?;
        let nanos = fraction_nanos(frac)?;
        return Some(secs * 1_000_000_000 + if secs < 0 { -nanos } else { nanos });
    }
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let y = digits(dp.next()?, 4)?;
    let m = digits(dp.next()?, 2)?;
    let d = digits(dp.next()?, 2)?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) as i128 * 86_400;
    let mut nanos = 0i128;
    if let Some(time) = time {
        let (clock, offset) = split_offset(time)?;
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut tp = hms.split(':');
        let h = digits(tp.next()?, 2)?;
        let mi = digits(tp.next()?, 2)?;
        let s = match tp.next() {
            Some(s) => digits(s, 2)?,
            None => 0,
        };
        if tp.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        nanos = fraction_nanos(frac)?;
        secs += (h * 3600 + mi * 60 + s) as i128 - offset as i128;
    }
    Some(secs * 1_000_000_000 + nanos)
}

fn fraction_nanos(frac: &str) -> Option<i128> {
    if frac.is_empty() {
        return Some(0);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos = 0i128;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i128::from(b - b'0') * 10i128.pow(8 - i as u32);
    }
    Some(nanos)
}

/// Splits `hh:mm:ss[.f](Z|±hh:mm|±hhmm)?` into the clock and the offset in seconds.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, off) = time.split_at(at);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let off = &off[1..];
    let (h, m) = match off.split_once(':') {
        Some((h, m)) => (digits(h, 2)?, digits(m, 2)?),
        None if off.len() == 4 => (digits(off.get(..2)?, 2)?, digits(off.get(2..)?, 2)?),
        None => (digits(off, 2)?, 0),
    };
    Some((clock, sign * (h * 3600 + m * 60)))
}

/// Standard base64 with optional padding.
fn base64(text: &str) -> Option<Vec<u8>> {
    let t = text.trim_end_matches('=');
    if text.len() - t.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in t.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (t.len() % 4 != 1).then_some(out)
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// `addr` or `addr/bits` (IPv4 or IPv6).
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.trim().split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (text.trim(), None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) && b.len() <= 3 => {
            b.parse::<u8>().ok()?
        }
        Some(_) => return None,
        None => max,
    };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let epoch = parse_date("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch, 1_577_836_800 * 1_000_000_000);
        assert_eq!(parse_date("1577836800"), Some(epoch));
        assert_eq!(parse_date("2020-01-01"), Some(epoch));
        assert_eq!(parse_date("2020-01-01T01:00:00+01:00"), Some(epoch));
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            Some(epoch + 500_000_000)
        );
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2020-01-01T00:00+aé!"), None);
        assert_eq!(parse_date(&"9".repeat(40)), None);
        assert_eq!(
            parse_date("2020-01-01T00:00:00+0130"),
            Some(epoch - 5_400_000_000_000)
        );
    }

    #[test]
    fn cidrs_and_base64() {
        let (n, b) = parse_cidr("203.0.113.0/24").unwrap();
        assert!(in_cidr("203.0.113.9".parse().unwrap(), n, b));
        assert!(!in_cidr("203.0.114.9".parse().unwrap(), n, b));
        let (n, b) = parse_cidr("2001:DB8:1234:5678::/64").unwrap();
        assert!(in_cidr("2001:db8:1234:5678::1".parse().unwrap(), n, b));
        assert!(parse_cidr("1.2.3.4/33").is_none());
        let (n, b) = parse_cidr("0.0.0.0/0").unwrap();
        assert!(in_cidr("9.9.9.9".parse().unwrap(), n, b));
        assert_eq!(base64("QmluYXJ5VmFsdWU="), Some(b"BinaryValue".to_vec()));
        assert_eq!(base64("!!"), None);
    }
}
