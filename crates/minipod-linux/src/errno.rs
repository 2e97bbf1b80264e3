//! Error numbers in words (errno(3)), without Rust's "(os error N)": the
//! text Go's net package prints, which the kubelet's probe messages carry.

/// The C library's description of `errno` (`ECONNRESET`: "Connection reset
/// by peer"); a table lookup, no system call.
pub fn description(errno: i32) -> &'static str {
    nix::errno::Errno::from_raw(errno).desc()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_errno_reads_as_words() {
        assert_eq!(
            super::description(libc::ECONNRESET),
            "Connection reset by peer"
        );
    }
}
