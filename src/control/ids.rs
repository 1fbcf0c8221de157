//! Seeded identifiers (ARN-DETERMINISM): the same seed and calls give the same ids.

use serde::{Deserialize, Serialize};

use crate::placement::rng::SplitMix64;

/// Draws ids from a SplitMix64 stream kept in the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        IdGenerator {
            // Keep the id stream apart from placement's `random` stream of the same seed.
            state: seed ^ 0x5354_4F57_504C_414E,
        }
    }

    fn next(&mut self) -> u64 {
        let mut rng = SplitMix64::new(self.state);
        let value = rng.next_u64();
        self.state = rng.state();
        value
    }

    /// 32 lowercase hex characters: a task or container-instance id (ARN-FORMATS).
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    /// A UUID-shaped id (8-4-4-4-12 hex), as ECS uses for containers and attachments.
    pub fn uuid(&mut self) -> String {
        let hex = self.hex32();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// `n` decimal digits (the first non-zero), e.g. for deployment ids.
    pub fn digits(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let digit = (self.next() % 10) as u8;
            if out.is_empty() && digit == 0 {
                continue;
            }
            out.push(char::from(b'0' + digit));
        }
        out
    }

    /// A 17-hex-character suffix, as in `eni-…` and `i-…` ids.
    pub fn hex17(&mut self) -> String {
        format!("{:016x}{:x}", self.next(), self.next() & 0xf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_ecs_formats_and_are_deterministic() {
        let mut a = IdGenerator::new(7);
        let mut b = IdGenerator::new(7);
        let id = a.hex32();
        assert_eq!(id, b.hex32());
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let uuid = a.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(a.digits(19).len(), 19);
        assert_ne!(IdGenerator::new(8).hex32(), id);
    }
}
