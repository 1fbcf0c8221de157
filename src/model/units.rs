//! Task-level `cpu` and `memory` strings, and their values in CPU units and MiB.
//!
//! ECS takes task size as a string: an integer (`"256"`), or a quantity with a unit
//! (`"1 vCPU"`, `".25 vcpu"`, `"0.5 GB"`, `"2GB"`), and returns the integer form from
//! DescribeTaskDefinition (TD-TASK-CPU-FORMAT, TD-TASK-MEMORY-FORMAT). 1 vCPU = 1,024 CPU units;
//! "GB" means 1,024 MiB (TD-UNITS-CPU, TD-UNITS-MEMORY).

/// A task-size string stowplan cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not an integer and not a number followed by a known unit.
    #[error("'{0}' is not an integer or a quantity with a unit")]
    Format(String),
    /// The quantity does not come to a whole number of units, or overflows.
    #[error("'{0}' does not come to a whole number of units")]
    Fraction(String),
}

/// How a unit-bearing value was spelled, so that callers can warn about lenient spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// A plain integer, e.g. `"256"`.
    Integer,
    /// A unit AWS documents (`vCPU` for cpu, `GB` for memory).
    Documented,
    /// A unit stowplan accepts leniently (`MiB`, `MB`, `GiB` for memory).
    Lenient,
}

/// Reads a task-level `cpu` string as CPU units.
///
/// ```
/// use stowplan::model::parse_task_cpu;
/// assert_eq!(parse_task_cpu("256"), Ok(256));
/// assert_eq!(parse_task_cpu("1 vCPU"), Ok(1024));
/// assert_eq!(parse_task_cpu(".25 vcpu"), Ok(256));
/// assert_eq!(parse_task_cpu("32 vCPU"), Ok(32768));
/// assert!(parse_task_cpu("lots").is_err());
/// ```
pub fn parse_task_cpu(text: &str) -> Result<u32, UnitError> {
    parse_cpu_spelled(text).map(|(units, _)| units)
}

/// Like [`parse_task_cpu`], also telling how the value was spelled.
pub fn parse_cpu_spelled(text: &str) -> Result<(u32, Spelling), UnitError> {
    let trimmed = text.trim();
    if let Ok(units) = trimmed.parse::<u32>() {
        return Ok((units, Spelling::Integer));
    }
    let (number, unit) = split_unit(trimmed).ok_or_else(|| UnitError::Format(text.to_string()))?;
    if !unit.eq_ignore_ascii_case("vcpu") {
        return Err(UnitError::Format(text.to_string()));
    }
    Ok((scale(number, 1024, text)?, Spelling::Documented))
}

/// Reads a task-level `memory` string as MiB.
///
/// ```
/// use stowplan::model::parse_task_memory;
/// assert_eq!(parse_task_memory("512"), Ok(512));
/// assert_eq!(parse_task_memory("0.5 GB"), Ok(512));
/// assert_eq!(parse_task_memory("2GB"), Ok(2048));
/// assert_eq!(parse_task_memory("120 gb"), Ok(122880));
/// ```
pub fn parse_task_memory(text: &str) -> Result<u32, UnitError> {
    parse_memory_spelled(text).map(|(mib, _)| mib)
}

/// Like [`parse_task_memory`], also telling how the value was spelled.
pub fn parse_memory_spelled(text: &str) -> Result<(u32, Spelling), UnitError> {
    let trimmed = text.trim();
    if let Ok(mib) = trimmed.parse::<u32>() {
        return Ok((mib, Spelling::Integer));
    }
    let (number, unit) = split_unit(trimmed).ok_or_else(|| UnitError::Format(text.to_string()))?;
    let unit = unit.to_ascii_lowercase();
    match unit.as_str() {
        "gb" => Ok((scale(number, 1024, text)?, Spelling::Documented)),
        // Not documented by AWS; accepted so that a real definition is never falsely rejected
        // (taskdef-rules.md, TD-TASK-MEMORY-FORMAT), and reported as a warning by validation.
        "gib" => Ok((scale(number, 1024, text)?, Spelling::Lenient)),
        "mib" | "mb" => Ok((scale(number, 1, text)?, Spelling::Lenient)),
        _ => Err(UnitError::Format(text.to_string())),
    }
}

/// Splits `"0.5 GB"` into `("0.5", "GB")`; the number is digits with at most one dot.
fn split_unit(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let unit = unit.trim_start();
    let valid_number = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    (valid_number && !unit.is_empty()).then_some((number, unit))
}

/// `number × factor`, exactly, in integer arithmetic on the decimal digits.
fn scale(number: &str, factor: u64, original: &str) -> Result<u32, UnitError> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.len() > 9 || fraction.len() > 9 {
        return Err(UnitError::Fraction(original.to_string()));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| UnitError::Format(original.to_string()))?
    };
    let denominator = 10u64.pow(fraction.len() as u32);
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction
            .parse()
            .map_err(|_| UnitError::Format(original.to_string()))?
    };
    let scaled_fraction = fraction * factor;
    if !scaled_fraction.is_multiple_of(denominator) {
        return Err(UnitError::Fraction(original.to_string()));
    }
    let total = whole * factor + scaled_fraction / denominator;
    u32::try_from(total).map_err(|_| UnitError::Fraction(original.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // TD-TASK-CPU-FORMAT: the documented conversions.
    #[test]
    fn td_task_cpu_format_conversions() {
        for (text, units) in [
            ("1 vCPU", 1024),
            (".5 vcpu", 512),
            (".25 vCPU", 256),
            ("0.25 vCPU", 256),
            ("2 vCPU", 2048),
            ("16 vCPU", 16384),
            ("32 vCPU", 32768),
            ("4vcpu", 4096),
            (" 99 ", 99),
        ] {
            assert_eq!(parse_task_cpu(text), Ok(units), "{text}");
        }
        for text in [
            "",
            "vCPU",
            "1 GB",
            "1..5 vCPU",
            "-1",
            "1.3 vCPU x",
            "0.0001 vCPU",
        ] {
            assert!(parse_task_cpu(text).is_err(), "{text}");
        }
    }

    // TD-TASK-MEMORY-FORMAT: the documented conversions, plus the lenient spellings.
    #[test]
    fn td_task_memory_format_conversions() {
        for (text, mib, spelling) in [
            ("0.5 GB", 512, Spelling::Documented),
            ("1GB", 1024, Spelling::Documented),
            ("30 GB", 30720, Spelling::Documented),
            ("120 GB", 122880, Spelling::Documented),
            ("512", 512, Spelling::Integer),
            ("512 MiB", 512, Spelling::Lenient),
            ("1 GiB", 1024, Spelling::Lenient),
        ] {
            assert_eq!(parse_memory_spelled(text), Ok((mib, spelling)), "{text}");
        }
        assert!(parse_task_memory("1 TB").is_err());
        assert!(parse_task_memory("99999999999 GB").is_err());
    }
}
