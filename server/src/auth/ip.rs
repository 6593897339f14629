//! The `ip` scheme: an address, or a network as `address/bits`.

use std::net::IpAddr;

fn parse(expr: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (expr, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(bits) => bits.parse::<u32>().ok().filter(|b| *b <= max)?,
        None => max,
    };
    Some((addr, bits))
}

pub fn is_valid(expr: &str) -> bool {
    parse(expr).is_some()
}

/// Whether the client address `own` lies in the ACL's address or network.
pub fn matches(own: &str, acl_expr: &str) -> bool {
    let (Ok(own), Some((net, bits))) = (own.parse::<IpAddr>(), parse(acl_expr)) else {
        return false;
    };
    match (own, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => prefix_eq(&a.octets(), &n.octets(), bits),
        (IpAddr::V6(a), IpAddr::V6(n)) => prefix_eq(&a.octets(), &n.octets(), bits),
        _ => false,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        assert!(matches("10.1.2.3", "10.0.0.0/8"));
        assert!(matches("10.1.2.3", "10.1.2.3"));
        assert!(!matches("10.1.2.4", "10.1.2.3"));
        assert!(matches("192.168.1.130", "192.168.1.128/25"));
        assert!(!matches("192.168.1.1", "192.168.1.128/25"));
        assert!(matches("::1", "::1/128"));
        assert!(!is_valid("10.0.0.0/33"));
        assert!(!is_valid("host"));
    }
}
