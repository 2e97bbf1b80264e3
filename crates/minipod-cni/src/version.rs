//! CNI versions (`cniVersion`, `supportedVersions`): semantic versions of
//! three numbers, compared numerically.

use std::fmt;

/// A CNI specification version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// CNI 1.0.0: the version minipod writes in its own configuration.
    pub const V1_0: Version = Version(1, 0, 0);
    /// CNI 1.1.0: `STATUS` and `GC` appear.
    pub const V1_1: Version = Version(1, 1, 0);
    /// CNI 0.4.0: `CHECK` appears.
    pub const V0_4: Version = Version(0, 4, 0);

    /// Parses `1.0.0` (a missing patch or minor counts as 0, as libcni's
    /// semver parsing accepts `0.3` too).
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let mut next = |required: bool| match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            None if !required => Some(0),
            _ => None,
        };
        let v = Version(next(true)?, next(false)?, next(false)?);
        if parts.next().is_some() {
            return None;
        }
        Some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(Version::parse("1.0.0"), Some(Version::V1_0));
        assert_eq!(Version::parse("0.3"), Some(Version(0, 3, 0)));
        assert_eq!(Version::parse("1.1.0"), Some(Version::V1_1));
        assert!(Version::parse("1.0.0.1").is_none());
        assert!(Version::parse("v1").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version(0, 4, 0) < Version::V1_0);
        assert!(Version::V1_0 < Version::V1_1);
        assert_eq!(Version::V1_1.to_string(), "1.1.0");
    }
}
