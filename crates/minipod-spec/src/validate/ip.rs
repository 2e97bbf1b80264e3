//! IP addresses as the API server accepts them (`hostAliases[].ip`,
//! `dnsConfig.nameservers[]`).
//!
//! Mirrors `IsValidIP` in
//! `staging/src/k8s.io/apimachinery/pkg/util/validation/ip.go`, which parses
//! with `k8s.io/utils/net.ParseIPSloppy`: like Go's old `net.ParseIP`, IPv4
//! octets may carry leading zeros (`010.0.0.1`).

use std::net::Ipv6Addr;

use crate::field_error::{FieldError, quote};

/// `IsValidIP`.
pub(super) fn validate_ip(field: &str, value: &str) -> Vec<FieldError> {
    if parse_ip_sloppy(value) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            field,
            quote(value),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )]
    }
}

/// True if `ParseIPSloppy` would accept the text.
fn parse_ip_sloppy(value: &str) -> bool {
    if value.contains(':') {
        value.parse::<Ipv6Addr>().is_ok()
    } else {
        is_sloppy_ipv4(value)
    }
}

fn is_sloppy_ipv4(value: &str) -> bool {
    let octets: Vec<&str> = value.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|octet| {
            !octet.is_empty()
                && octet.bytes().all(|b| b.is_ascii_digit())
                && octet.parse::<u32>().is_ok_and(|n| n <= 255)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_addresses_are_accepted_sloppily() {
        for ok in [
            "10.9.8.7",
            "010.001.0.1",
            "::1",
            "2001:db8::ffff",
            "::ffff:1.2.3.4",
        ] {
            assert!(parse_ip_sloppy(ok), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.256",
            "1.2.3.4.5",
            "a.b.c.d",
            "1.2.3.4/24",
            "fe80::1%eth0",
        ] {
            assert!(!parse_ip_sloppy(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_ip_message_matches_kubernetes() {
        let errs = validate_ip("spec.hostAliases[0].ip", "nope");
        assert_eq!(
            errs[0].to_string(),
            r#"spec.hostAliases[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#
        );
    }
}
