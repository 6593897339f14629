//! Transaction ids: `epoch << 32 | counter`, as ZooKeeper numbers transactions.
//!
//! The log only needs them to be positive and strictly increasing; the helpers here
//! exist so messages and file names can show the two halves.

/// A transaction id: the high 32 bits are the epoch, the low 32 bits the counter.
/// Zero means "no transaction" (an empty log, a snapshot of the empty tree).
pub type Zxid = i64;

/// The epoch half of a zxid.
pub fn epoch(zxid: Zxid) -> u32 {
    (zxid >> 32) as u32
}

/// The counter half of a zxid.
pub fn counter(zxid: Zxid) -> u32 {
    zxid as u32
}

/// Builds a zxid from its halves.
pub fn make(epoch: u32, counter: u32) -> Zxid {
    ((epoch as i64) << 32) | counter as i64
}

/// Whether `zxid` may directly follow `prev` inside one log segment: the next counter
/// of the same epoch, or any zxid of a later epoch (a new epoch restarts the counter).
pub fn follows(prev: Zxid, zxid: Zxid) -> bool {
    zxid == prev + 1 || (zxid > prev && epoch(zxid) > epoch(prev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_trip() {
        let z = make(7, 42);
        assert_eq!(z, 0x7_0000_002a);
        assert_eq!(epoch(z), 7);
        assert_eq!(counter(z), 42);
    }

    #[test]
    fn follows_within_and_across_epochs() {
        assert!(follows(make(1, 5), make(1, 6)));
        assert!(!follows(make(1, 5), make(1, 7)));
        assert!(!follows(make(1, 5), make(1, 5)));
        assert!(follows(make(1, 5), make(2, 1)));
        assert!(follows(make(1, 5), make(3, 0)));
        assert!(follows(0, 1));
        assert!(!follows(make(2, 1), make(1, 9)));
    }
}
