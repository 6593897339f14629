//! ZooKeeper's session passwords are not stored: ZooKeeperServer.generatePasswd
//! derives them from the session id, `new java.util.Random(id ^ superSecret)
//! .nextBytes(16)`. Sessions taken over from ZooKeeper's files get the same password,
//! so their clients reconnect as if the server had only restarted.

use crate::state_machine::PASSWORD_LEN;

/// ZooKeeperServer.superSecret.
const SUPER_SECRET: i64 = 0xB341_5C00;

pub fn zookeeper_password(session_id: i64) -> [u8; PASSWORD_LEN] {
    let mut random = JavaRandom::new(session_id ^ SUPER_SECRET);
    let mut password = [0u8; PASSWORD_LEN];
    random.next_bytes(&mut password);
    password
}

/// The linear congruential generator of `java.util.Random`, bit for bit.
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next_int(&mut self) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> 16) as u32 as i32
    }

    /// `Random.nextBytes`: each int fills up to four bytes, low byte first.
    fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let mut value = self.next_int();
            for byte in chunk {
                *byte = value as u8;
                value >>= 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_util_random() {
        // new java.util.Random(42).nextInt() == -1170105035, then 234785527.
        let mut random = JavaRandom::new(42);
        assert_eq!(random.next_int(), -1_170_105_035);
        assert_eq!(random.next_int(), 234_785_527);
    }

    #[test]
    fn derives_the_password_zookeeper_hands_out() {
        // Java: new Random(0x1000abcd1234L ^ 0xB3415C00L).nextBytes(new byte[16]).
        let expected: [u8; 16] = [
            0x73, 0xae, 0x85, 0xff, 0xc6, 0x6d, 0x1c, 0x35, 0x03, 0xe0, 0x87, 0x8f, 0xf5, 0xcc,
            0xc9, 0x54,
        ];
        assert_eq!(zookeeper_password(0x1000_abcd_1234), expected);
    }
}
