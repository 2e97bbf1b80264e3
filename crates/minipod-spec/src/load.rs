//! Reading manifest files: YAML or JSON, one or many documents, strictly.
//!
//! A file is read with a size limit (hostile input must not exhaust memory),
//! checked to be UTF-8 text, and parsed document by document (`---`). Each
//! document is dispatched on `apiVersion`/`kind`: `v1`/`Pod` is parsed into
//! [`Pod`] and `v1`/`Secret` into [`Secret`], with unknown fields denied;
//! any other kind is refused clearly.
//!
//! [`load_objects`] and [`parse_objects`] return both kinds ([`Objects`]);
//! [`load_file`] and [`parse_manifests`] only the pods, for callers that run
//! pods and have no use for Secrets.
//! JSON needs no separate path: JSON is YAML, and the YAML parser gives JSON
//! errors a line and column too.
//!
//! Errors name the file, the line and column, and the field path, e.g.
//! `pod.yaml:6:5: unknown field "spec.initContainers[0].restartPolicyy" (did you mean "restartPolicy"?)`.
//! Every document is checked, so all bad documents are reported at once.
//!
//! Limits against hostile input: the API server's 3 MiB request size; a
//! pre-scan bounding nesting depth and the number of nodes (`nesting`), so
//! the parser's time and memory stay small; the YAML parser's nesting limit
//! (128) and alias-expansion limit ("billion laughs"). A mapping that repeats
//! a key is refused, as the API server's strict decoding does (`duplicates`).

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::escapes::{EscapeRefused, Rewritten};
use crate::model::Pod;
use crate::nesting::TooComplex;
use crate::secret::Secret;

/// Largest manifest accepted, as the Kubernetes API server limits request
/// bodies (`apiserver` `MaxRequestBodyBytes`, 3 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 3 * 1024 * 1024;

/// At most this many errors are reported for one file; past it, the rest are
/// summarised (a garbage file must not print megabytes of errors).
const MAX_ERRORS: usize = 20;

/// Where an object came from: the file and the document's index (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub document: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file, self.document)
    }
}

/// A Pod parsed from a manifest, not yet defaulted or validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedPod {
    pub pod: Pod,
    pub source: Source,
}

/// A Secret parsed from a manifest, not yet defaulted or validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSecret {
    pub secret: Secret,
    pub source: Source,
}

/// Everything a manifest holds, each kind in the file's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Objects {
    pub pods: Vec<LoadedPod>,
    pub secrets: Vec<LoadedSecret>,
}

/// A position in a file, printed `file:line:column` like a compiler does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a manifest could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: is a directory; give a manifest file")]
    Directory { file: String },
    #[error(
        "{file}: larger than {MAX_MANIFEST_BYTES} bytes (the Kubernetes API server's request limit)"
    )]
    TooLarge { file: String },
    #[error("{file}: not a manifest: not UTF-8 text (invalid byte at offset {offset})")]
    NotText { file: String, offset: usize },
    #[error(
        "{at}: collections nested deeper than {} levels",
        crate::nesting::MAX_FLOW_DEPTH
    )]
    TooDeep { at: Position },
    #[error(
        "{at}: more than {} YAML nodes (no real manifest has so many; refused to bound memory)",
        crate::nesting::MAX_NODES
    )]
    TooManyNodes { at: Position },
    #[error(
        "{at}: more than {} double-quoted scalars use the escape \\' (refused to bound parsing time; write the apostrophe unescaped)",
        crate::escapes::MAX_REWRITTEN_SCALARS
    )]
    TooManyQuoteEscapes { at: Position },
    /// `\/` in a double-quoted YAML scalar: kubectl's YAML parser refuses it.
    #[error(
        "{at}: found unknown escape character \\/ while parsing a quoted scalar (kubectl's YAML parser takes it only in JSON; write / unescaped)"
    )]
    SlashEscape { at: Position },
    /// A mapping that repeats a key, refused as the API server's strict
    /// decoding refuses it (a plain map would keep the last value silently).
    #[error("{at}: duplicate key {path:?}: the mapping already has this key")]
    DuplicateKey { at: Position, path: String },
    #[error("{file}: no objects found (the file is empty or only comments)")]
    Empty { file: String },
    /// A field Kubernetes does not have (a typo), as kubectl's strict
    /// decoding reports it, plus the closest real field.
    #[error("{at}: unknown field {path:?}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    UnknownField {
        at: Position,
        path: String,
        suggestion: Option<String>,
    },
    /// Any other parse error: YAML syntax, wrong type, bad quantity.
    #[error("{}: {message}", at.as_ref().map_or_else(|| format!("{file} (document {document})"), ToString::to_string))]
    Syntax {
        file: String,
        document: usize,
        at: Option<Position>,
        message: String,
    },
    #[error("{file} (document {document}): {missing} not set")]
    MissingTypeInfo {
        file: String,
        document: usize,
        missing: &'static str,
    },
    #[error(
        "{at}: unsupported kind {kind:?} (apiVersion {api_version:?}): minipod takes Pods and Secrets (apiVersion \"v1\", kind \"Pod\" or \"Secret\")"
    )]
    UnsupportedKind {
        at: Position,
        api_version: String,
        kind: String,
    },
    #[error("{file}: {count} more errors not shown")]
    TooManyErrors { file: String, count: usize },
}

/// Every error found in one file.
#[derive(Debug)]
pub struct LoadErrors(pub Vec<LoadError>);

/// One error a line, each with its causes (`step: cause`), since a list is
/// not a chain that `{:#}` could walk.
impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
            let mut cause = std::error::Error::source(error);
            while let Some(inner) = cause {
                write!(f, ": {inner}")?;
                cause = inner.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

impl From<LoadError> for LoadErrors {
    fn from(error: LoadError) -> Self {
        LoadErrors(vec![error])
    }
}

/// Reads and parses a manifest file (`-` reads standard input): its pods
/// (Secrets are parsed, checked and left out).
pub fn load_file(path: &Path) -> Result<Vec<LoadedPod>, LoadErrors> {
    load_objects(path).map(|objects| objects.pods)
}

/// Reads and parses a manifest file (`-` reads standard input): its pods
/// and its Secrets.
pub fn load_objects(path: &Path) -> Result<Objects, LoadErrors> {
    let file = path.display().to_string();
    let bytes = if file == "-" {
        read_bounded(std::io::stdin().lock(), &file)?
    } else {
        read_manifest_file(path)?
    };
    parse_objects(&bytes, &file)
}

/// Reads a file, refusing directories and anything over [`MAX_MANIFEST_BYTES`]
/// without reading more than that (so `/dev/zero` is refused, not read forever).
pub fn read_manifest_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    let file = path.display().to_string();
    let read_error = |source| LoadError::Read {
        file: file.clone(),
        source,
    };
    let handle = std::fs::File::open(path).map_err(read_error)?;
    if handle.metadata().map_err(read_error)?.is_dir() {
        return Err(LoadError::Directory { file });
    }
    read_bounded(handle, &file)
}

/// Reads at most [`MAX_MANIFEST_BYTES`] from `reader`.
pub fn read_bounded(reader: impl Read, file: &str) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| match source.raw_os_error() {
            Some(21) => LoadError::Directory {
                file: file.to_owned(),
            }, // EISDIR
            _ => LoadError::Read {
                file: file.to_owned(),
                source,
            },
        })?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(LoadError::TooLarge {
            file: file.to_owned(),
        });
    }
    Ok(bytes)
}

/// `apiVersion` and `kind` of one document, read before anything else.
#[derive(Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// Parses every document of a manifest and returns its pods (Secrets are
/// parsed, checked and left out). `file` names it in errors.
pub fn parse_manifests(bytes: &[u8], file: &str) -> Result<Vec<LoadedPod>, LoadErrors> {
    parse_objects(bytes, file).map(|objects| objects.pods)
}

/// Parses every document of a manifest. `file` names it in errors.
pub fn parse_objects(bytes: &[u8], file: &str) -> Result<Objects, LoadErrors> {
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotText {
        file: file.to_owned(),
        offset: e.valid_up_to(),
    })?;

    // Before the YAML parser: its time grows with nesting depth and its
    // memory with the number of nodes (see `nesting`).
    if let Err(refused) = crate::nesting::check_structure(text) {
        let position = |line, column| Position {
            file: file.to_owned(),
            line,
            column,
        };
        return Err(match refused {
            TooComplex::TooDeep { line, column } => LoadError::TooDeep {
                at: position(line, column),
            },
            TooComplex::TooManyNodes { line, column } => LoadError::TooManyNodes {
                at: position(line, column),
            },
        }
        .into());
    }

    // The escape `\'` in double-quoted scalars, which kubectl's YAML
    // library reads and ours refuses (see `escapes`).
    let rewritten = match crate::escapes::rewrite_single_quote_escapes(text) {
        Ok(rewritten) => rewritten,
        Err(refused) => {
            let at = |line, column| Position {
                file: file.to_owned(),
                line,
                column,
            };
            return Err(match refused {
                EscapeRefused::TooMany { line, column } => LoadError::TooManyQuoteEscapes {
                    at: at(line, column),
                },
                EscapeRefused::Slash { line, column } => LoadError::SlashEscape {
                    at: at(line, column),
                },
            }
            .into());
        }
    };
    let columns = &rewritten;
    let text: &str = &rewritten.text;

    // Pass 1: the type of each document. A YAML syntax error ends the stream.
    let mut kinds = Vec::new();
    let mut errors = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        match Option::<TypeMeta>::deserialize(document) {
            Ok(meta) => kinds.push(meta),
            Err(error) => {
                errors.push(syntax_error(file, index + 1, &error, columns));
                break;
            }
        }
    }

    // Pass 2: each document into its type (the same documents, in order).
    let mut objects = Objects::default();
    let mut accepted = vec![false; kinds.len()];
    for (index, (document, meta)) in yaml_serde::Deserializer::from_str(text)
        .zip(&kinds)
        .enumerate()
    {
        let number = index + 1;
        let Some(meta) = meta else { continue }; // an empty document, as kubectl skips
        let (api_version, kind) = match (&meta.api_version, &meta.kind) {
            (_, None) => {
                errors.push(LoadError::MissingTypeInfo {
                    file: file.to_owned(),
                    document: number,
                    missing: "kind",
                });
                continue;
            }
            (None, Some(_)) => {
                errors.push(LoadError::MissingTypeInfo {
                    file: file.to_owned(),
                    document: number,
                    missing: "apiVersion",
                });
                continue;
            }
            (Some(api_version), Some(kind)) => (api_version, kind),
        };
        if api_version != "v1" || !matches!(kind.as_str(), "Pod" | "Secret") {
            let at = locate_kind(document, file, columns).unwrap_or(Position {
                file: file.to_owned(),
                line: 1,
                column: 1,
            });
            errors.push(LoadError::UnsupportedKind {
                at,
                api_version: api_version.clone(),
                kind: kind.clone(),
            });
            continue;
        }
        let source = Source {
            file: file.to_owned(),
            document: number,
        };
        let parsed = if kind == "Secret" {
            Secret::deserialize(document)
                .map(|secret| objects.secrets.push(LoadedSecret { secret, source }))
        } else {
            Pod::deserialize(document).map(|pod| objects.pods.push(LoadedPod { pod, source }))
        };
        match parsed {
            Ok(()) => accepted[index] = true,
            Err(error) => errors.push(syntax_error(file, number, &error, columns)),
        }
    }

    // Pass 3: a repeated mapping key, in the documents the typed parse
    // accepted (the others already have their error). See `duplicates`.
    // (Bounded by `accepted`: after a syntax error the stream repeats it forever.)
    for (document, _) in yaml_serde::Deserializer::from_str(text)
        .zip(&accepted)
        .filter(|(_, accepted)| **accepted)
    {
        if let Err(error) = crate::duplicates::check(document)
            && let Some(at) = error.location()
            // The library puts its own path of the mapping first: `metadata.labels: duplicate key ...`.
            && let Some((_, path)) = strip_location(&error.to_string())
                .split_once(crate::duplicates::DUPLICATE_KEY)
        {
            errors.push(LoadError::DuplicateKey {
                at: Position {
                    file: file.to_owned(),
                    line: at.line(),
                    column: columns.original_column(at.line(), at.column()),
                },
                path: path.to_owned(),
            });
        }
    }

    if errors.is_empty() && objects.pods.is_empty() && objects.secrets.is_empty() {
        errors.push(LoadError::Empty {
            file: file.to_owned(),
        });
    }
    if errors.is_empty() {
        return Ok(objects);
    }
    if errors.len() > MAX_ERRORS {
        let count = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        errors.push(LoadError::TooManyErrors {
            file: file.to_owned(),
            count,
        });
    }
    Err(LoadErrors(errors))
}

/// Finds the line of a document's `kind` value: deserializing it through a
/// field that always fails makes the parser report its own position.
fn locate_kind(
    document: yaml_serde::Deserializer<'_>,
    file: &str,
    columns: &Rewritten<'_>,
) -> Option<Position> {
    // Other fields are skipped (no `deny_unknown_fields`), and only `kind`
    // is read; no `flatten`, which would buffer the document and lose positions.
    #[derive(Deserialize)]
    struct KindLocator {
        #[serde(deserialize_with = "fail_here")]
        #[allow(dead_code)] // never constructed: deserializing it always fails at `kind`
        kind: (),
    }
    // The failure must come from inside a visitor: only then does the parser
    // attach the position of the scalar it was reading.
    fn fail_here<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        struct FailVisitor;
        impl serde::de::Visitor<'_> for FailVisitor {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the kind")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
                Err(E::custom("here"))
            }
        }
        deserializer.deserialize_str(FailVisitor)
    }
    let error = KindLocator::deserialize(document).err()?;
    let location = error.location()?;
    Some(Position {
        file: file.to_owned(),
        line: location.line(),
        column: columns.original_column(location.line(), location.column()),
    })
}

/// `columns` maps the parser's positions back to the file (see `escapes`).
fn syntax_error(
    file: &str,
    document: usize,
    error: &yaml_serde::Error,
    columns: &Rewritten<'_>,
) -> LoadError {
    let at = error.location().map(|l| Position {
        file: file.to_owned(),
        line: l.line(),
        column: columns.original_column(l.line(), l.column()),
    });
    let mut message = without_values(&strip_location(&error.to_string()));
    if message == "repetition limit exceeded" {
        // The parser's guard against "billion laughs": say what it means.
        message = "YAML aliases expand to too many nodes (repetition limit exceeded)".to_owned();
    }
    if let (Some(at), Some(unknown)) = (at.clone(), UnknownField::parse(&message)) {
        return LoadError::UnknownField {
            at,
            suggestion: unknown.suggestion(),
            path: unknown.path,
        };
    }
    LoadError::Syntax {
        file: file.to_owned(),
        document,
        at,
        message,
    }
}

/// serde's type errors quote the value they found (`invalid type: integer
/// `123456`, expected a base64 string`); that value may be a secret (a
/// Secret's `data`), so only its kind is kept (`invalid type: integer, ...`),
/// as the API server's own message names only the kind
/// (`json: cannot unmarshal number into Go struct field ...`).
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = ["invalid type: ", "invalid value: "]
        .iter()
        .filter_map(|marker| rest.find(marker).map(|i| i + marker.len()))
        .min()
    {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        // The found value runs to ", expected" (or the end of the message).
        let end = rest.find(", expected").unwrap_or(rest.len());
        let found = &rest[..end];
        let kind_end = [" `", " \""]
            .iter()
            .filter_map(|quote| found.find(quote))
            .min()
            .unwrap_or(found.len());
        out.push_str(&found[..kind_end]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The YAML library writes " at line L column C" into its messages (at the
/// end, or before ", while parsing ..."); we print the position first instead.
fn strip_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let line_len = digits(rest);
    let Some(after_column) = rest[line_len..].strip_prefix(" column ") else {
        return message.to_owned();
    };
    let column_len = digits(after_column);
    if line_len == 0 || column_len == 0 {
        return message.to_owned();
    }
    format!("{}{}", &message[..start], &after_column[column_len..])
}

/// serde's "unknown field" message, taken apart:
/// `spec.initContainers[0]: unknown field `restartPolicyy`, expected `name` or `restartPolicy``.
#[derive(Debug, PartialEq, Eq)]
struct UnknownField {
    /// The full path of the unknown field, `spec.initContainers[0].restartPolicyy`.
    path: String,
    field: String,
    expected: Vec<String>,
}

impl UnknownField {
    fn parse(message: &str) -> Option<Self> {
        let (parent, rest) = match message.split_once(": unknown field `") {
            Some((parent, rest)) => (Some(parent), rest),
            None => (None, message.strip_prefix("unknown field `")?),
        };
        let (field, expected) = rest.split_once('`')?;
        let expected = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        let path = match parent {
            Some(parent) => format!("{parent}.{field}"),
            None => field.to_owned(),
        };
        Some(UnknownField {
            path,
            field: field.to_owned(),
            expected,
        })
    }

    /// The real field closest to the typo: same letters in another case, or
    /// within two edits.
    fn suggestion(&self) -> Option<String> {
        let lower = self.field.to_lowercase();
        if let Some(same) = self.expected.iter().find(|e| e.to_lowercase() == lower) {
            return Some(same.clone());
        }
        self.expected
            .iter()
            .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), candidate))
            // Two edits are a lot for a short name: `x1` is not a typo of `os`.
            .filter(|(distance, _)| *distance <= 2 && distance * 2 < lower.chars().count())
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, candidate)| candidate.clone())
    }
}

/// Levenshtein distance (insertions, deletions, substitutions), for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;
