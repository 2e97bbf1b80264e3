//! Image names, normalised as Docker and Kubernetes do.
//!
//! The kubelet parses `image:` with the distribution library's
//! `ParseNormalizedNamed` and then adds `:latest` when there is neither a tag
//! nor a digest. This module follows those rules (distribution's
//! `reference/normalize.go` and `reference/regexp.go`):
//!
//! * `busybox` → `docker.io/library/busybox:latest`;
//! * the first path component is a registry when it contains `.` or `:`,
//!   is `localhost`, or has an uppercase letter (`localhost:5000/app` keeps its
//!   registry); `index.docker.io` is `docker.io`;
//! * a single component on `docker.io` gets `library/`;
//! * `name@sha256:...` keeps its digest and gets no tag; `name:tag@sha256:...`
//!   keeps both;
//! * the repository path must be lowercase, and a 64-hex-digit string is
//!   refused (it would be mistaken for an image ID).
//!
//! `oci_spec::distribution::Reference` gets most of this right, but it takes
//! an uppercase first component for a repository path (Docker takes it for a
//! registry) and answers every mistake with "invalid reference format"; the
//! grammar is small, so it is written out here with a test table.

use std::fmt;

use crate::digest::{Digest, DigestError};

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// distribution's `NameTotalLengthMax`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A normalised image name: registry, repository path, tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageName {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image name {input:?}: {problem}")]
pub struct NameError {
    /// The name as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: NameProblem,
}

/// What is wrong with an image name (Docker's wording where it has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// Nothing was given.
    #[error("repository name must have at least one component")]
    Empty,
    /// A bare 64-hex-digit string looks like an image ID.
    #[error("cannot specify 64-byte hexadecimal strings")]
    HexIdentifier,
    /// Docker refuses uppercase repository paths.
    #[error("repository name ({0}) must be lowercase")]
    Uppercase(String),
    /// The registry part is not `host[:port]`.
    #[error("invalid registry {0:?}")]
    Domain(String),
    /// A path component is not `[a-z0-9]+` joined by `.`, `_`, `__` or dashes.
    #[error("invalid repository path component {0:?}")]
    PathComponent(String),
    /// The tag is not `[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}`.
    #[error("invalid tag {0:?}")]
    Tag(String),
    /// The digest after `@` is not a sha256 digest.
    #[error("{0}")]
    Digest(DigestError),
    /// `registry/path` is longer than 255 characters.
    #[error("repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")]
    TooLong,
}

impl ImageName {
    /// Parses and normalises a name as `docker pull` and the kubelet do.
    pub fn parse(input: &str) -> Result<ImageName, NameError> {
        parse(input).map_err(|problem| NameError {
            input: input.to_owned(),
            problem,
        })
    }

    /// The registry, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `registry/path`, without tag or digest.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag: `latest` when the name had neither tag nor digest.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest the name pins, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<ImageName, NameError> {
        ImageName::parse(s)
    }
}

fn parse(input: &str) -> Result<ImageName, NameProblem> {
    if input.is_empty() {
        return Err(NameProblem::Empty);
    }
    if input.len() == 64
        && input
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(NameProblem::HexIdentifier);
    }

    // splitDockerDomain works on the whole string, tag and digest included.
    let (mut domain, mut remainder) = match input.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), input.to_owned()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }

    // The digest is everything after '@'; the tag is after the last ':' of what is left.
    let (named, digest) = match remainder.split_once('@') {
        Some((named, digest)) => (
            named.to_owned(),
            Some(Digest::parse(digest).map_err(NameProblem::Digest)?),
        ),
        None => (remainder.clone(), None),
    };
    let (path, tag) = match named.rsplit_once(':') {
        Some((path, tag)) => (path.to_owned(), Some(tag.to_owned())),
        None => (named, None),
    };
    if path.to_lowercase() != path {
        return Err(NameProblem::Uppercase(path));
    }

    check_domain(&domain)?;
    for component in path.split('/') {
        if !is_path_component(component) {
            return Err(NameProblem::PathComponent(component.to_owned()));
        }
    }
    if let Some(tag) = &tag
        && !is_tag(tag)
    {
        return Err(NameProblem::Tag(tag.clone()));
    }
    if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(NameProblem::TooLong);
    }
    let tag = match (tag, &digest) {
        (None, None) => Some(DEFAULT_TAG.to_owned()),
        (tag, _) => tag,
    };
    Ok(ImageName {
        domain,
        path,
        tag,
        digest,
    })
}

/// `host[:port]`: DNS-like labels or a bracketed IPv6 address.
fn check_domain(domain: &str) -> Result<(), NameProblem> {
    let bad = || NameProblem::Domain(domain.to_owned());
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (address, after) = rest.split_once(']').ok_or_else(bad)?;
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(bad());
        }
        match after {
            "" => ("", None),
            _ => ("", Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if !domain.starts_with('[') {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
fn is_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    match chars.next() {
        Some(first) if word(first) => {}
        _ => return false,
    }
    tag.len() <= 128 && chars.all(|c| word(c) || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    #[test]
    fn normalises_as_docker_and_the_kubelet_do() {
        let pinned = format!("sha256:{HEX}");
        let table: &[(&str, &str)] = &[
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("docker.io/busybox", "docker.io/library/busybox:latest"),
            (
                "docker.io/library/busybox:latest",
                "docker.io/library/busybox:latest",
            ),
            (
                "index.docker.io/library/busybox:1.36",
                "docker.io/library/busybox:1.36",
            ),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox:latest",
            ),
            ("bitnami/nginx", "docker.io/bitnami/nginx:latest"),
            ("a/b/c", "docker.io/a/b/c:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
            ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000/app:1.0"),
            ("[::1]:5000/app", "[::1]:5000/app:latest"),
            ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
            (
                "quay.io/prometheus/node-exporter",
                "quay.io/prometheus/node-exporter:latest",
            ),
            ("Registry/app", "Registry/app:latest"),
            ("test.com:5000", "docker.io/library/test.com:5000"),
            ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
            ("a-b--c__d.e", "docker.io/library/a-b--c__d.e:latest"),
            ("x/a-b--c__d.e", "docker.io/x/a-b--c__d.e:latest"),
            (
                "busybox:Latest_1.2-rc",
                "docker.io/library/busybox:Latest_1.2-rc",
            ),
        ];
        for (input, want) in table {
            let name = ImageName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(name.to_string(), *want, "{input}");
            // Normalising is idempotent.
            assert_eq!(ImageName::parse(want).unwrap(), name, "{want}");
        }

        let name = ImageName::parse(&format!("busybox@{pinned}")).unwrap();
        assert_eq!(
            name.to_string(),
            format!("docker.io/library/busybox@{pinned}")
        );
        assert_eq!(name.tag(), None);
        assert_eq!(name.digest().unwrap().to_string(), pinned);
        let name = ImageName::parse(&format!("localhost:5000/app:v2@{pinned}")).unwrap();
        assert_eq!(name.to_string(), format!("localhost:5000/app:v2@{pinned}"));
        assert_eq!(name.domain(), "localhost:5000");
        assert_eq!(name.path(), "app");
        assert_eq!(name.repository(), "localhost:5000/app");
        assert_eq!(name.tag(), Some("v2"));
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let too_long_tag = format!("busybox:{}", "a".repeat(129));
        let too_long_name = format!("example.com/{}", "a".repeat(250));
        let table: Vec<(&str, NameProblem)> = vec![
            ("", NameProblem::Empty),
            (HEX, NameProblem::HexIdentifier),
            ("Busybox", NameProblem::Uppercase("library/Busybox".into())),
            (
                "docker.io/Library/x",
                NameProblem::Uppercase("Library/x".into()),
            ),
            ("localhost:5000/App", NameProblem::Uppercase("App".into())),
            ("busybox:", NameProblem::Tag(String::new())),
            ("busybox:-x", NameProblem::Tag("-x".into())),
            ("busybox:.x", NameProblem::Tag(".x".into())),
            (&too_long_tag, NameProblem::Tag("a".repeat(129))),
            (":tag", NameProblem::PathComponent(String::new())),
            ("a//b", NameProblem::PathComponent(String::new())),
            ("a/../b", NameProblem::PathComponent("..".into())),
            ("-busybox", NameProblem::PathComponent("-busybox".into())),
            ("busybox_", NameProblem::PathComponent("busybox_".into())),
            ("a___b", NameProblem::PathComponent("a___b".into())),
            ("a.-b", NameProblem::PathComponent("a.-b".into())),
            (
                "localhost:port/app",
                NameProblem::Domain("localhost:port".into()),
            ),
            ("-bad.com/app", NameProblem::Domain("-bad.com".into())),
            ("bad..com/app", NameProblem::Domain("bad..com".into())),
            ("[zz]:5000/app", NameProblem::Domain("[zz]:5000".into())),
            (&too_long_name, NameProblem::TooLong),
        ];
        for (input, want) in table {
            let err = ImageName::parse(input).expect_err(input);
            assert_eq!(err.problem, want, "{input}");
            assert_eq!(err.input, input);
        }
        assert!(matches!(
            ImageName::parse("busybox@sha256:abc").unwrap_err().problem,
            NameProblem::Digest(DigestError::Invalid(_))
        ));
        assert!(matches!(
            ImageName::parse(&format!("busybox@md5:{HEX}"))
                .unwrap_err()
                .problem,
            NameProblem::Digest(DigestError::Unsupported(_))
        ));
    }

    #[test]
    fn error_message_names_the_input_in_dockers_words() {
        let err = ImageName::parse("Busybox").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid image name \"Busybox\": repository name (library/Busybox) must be lowercase"
        );
    }
}
