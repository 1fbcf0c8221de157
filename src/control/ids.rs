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
        let mut out = String::with_capacity(32);
        push_hex(&mut out, self.next(), 16);
        push_hex(&mut out, self.next(), 16);
        out
    }

    /// A UUID-shaped id (8-4-4-4-12 hex), as ECS uses for containers and attachments: the
    /// 32 characters [`IdGenerator::hex32`] would give, with dashes.
    pub fn uuid(&mut self) -> String {
        let (high, low) = (self.next(), self.next());
        let mut out = String::with_capacity(36);
        push_hex(&mut out, high >> 32, 8);
        out.push('-');
        push_hex(&mut out, high >> 16, 4);
        out.push('-');
        push_hex(&mut out, high, 4);
        out.push('-');
        push_hex(&mut out, low >> 48, 4);
        out.push('-');
        push_hex(&mut out, low, 12);
        out
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
        let mut out = String::with_capacity(17);
        push_hex(&mut out, self.next(), 16);
        push_hex(&mut out, self.next(), 1);
        out
    }
}

/// Appends the low `digits` hex digits of `value`, lowercase, most significant first.
fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
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

    #[test]
    fn ids_equal_their_formatted_definitions() {
        // The hand-written hex matches `format!` on the same draws (the ids stowplan gave
        // before stay the ids it gives).
        for seed in [0, 1, 7, u64::MAX] {
            let mut fast = IdGenerator::new(seed);
            let mut slow = IdGenerator::new(seed);
            assert_eq!(
                fast.hex32(),
                format!("{:016x}{:016x}", slow.next(), slow.next())
            );
            let hex = format!("{:016x}{:016x}", slow.next(), slow.next());
            let uuid = format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            );
            assert_eq!(fast.uuid(), uuid);
            assert_eq!(
                fast.hex17(),
                format!("{:016x}{:x}", slow.next(), slow.next() & 0xf)
            );
        }
    }
}
