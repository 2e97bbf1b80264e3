//! The escapes `\'` and `\/` in a double-quoted YAML scalar, read as
//! kubectl reads them.
//!
//! kubectl reads YAML with `sigs.k8s.io/yaml`, which parses with go-yaml v2
//! (`go.yaml.in/yaml/v2`, `scannerc.go`, `yaml_parser_scan_flow_scalar`).
//! Its double-quoted scalars take the escape `\'` (an apostrophe), as
//! libyaml 0.1 did; our parser (`libyaml-rs`, YAML 1.2's list) refuses it
//! with "found unknown escape character". So `command: ["sh", "-c", "echo
//! it\'s"]` runs on a cluster and was refused here.
//!
//! The fix is exact, not a guess at where quoted scalars are: only the
//! parser knows that, so the parser finds them. Its error points at the
//! backslash of the first escape it does not know; when that is `\'`, the
//! position is inside a double-quoted scalar for certain, and every `\'`
//! from there to the scalar's closing quote is rewritten `\x27` (the same
//! character, in an escape both parsers know). Then the text is parsed
//! again, up to the next such scalar. Nothing outside a double-quoted
//! scalar is touched: single-quoted, plain and block scalars keep `\'` as
//! two characters, as in go-yaml.
//!
//! The other difference goes the other way: `\/` is a YAML 1.2 (and JSON)
//! escape our parser takes and go-yaml v2 refuses, so in a YAML stream it
//! is refused here too ([`EscapeRefused::Slash`]), found the same exact way.
//!
//! JSON is not YAML here: kubectl decodes a stream that starts with `{` as
//! JSON (`k8s.io/apimachinery/pkg/util/yaml`, `YAMLOrJSONDecoder`), where
//! `\'` is an error ("invalid character '\'' in string escape code"), so a
//! JSON file is left alone and the parser's refusal stands.
//!
//! Each rewrite costs a parse up to that scalar, so the number of scalars
//! rewritten is bounded ([`MAX_REWRITTEN_SCALARS`]). Each rewrite makes its
//! line two characters longer; [`Rewritten::original_column`] maps the
//! parser's positions back, so errors point into the file as it is.

use std::borrow::Cow;

use serde::Deserialize;

/// Most double-quoted scalars using `\'` that one file may hold. Each costs
/// one more parse of the text before it; real manifests have a handful.
pub const MAX_REWRITTEN_SCALARS: usize = 100;

/// The parser's message for an escape it does not know.
const UNKNOWN_ESCAPE: &str = "found unknown escape character";

/// The text to parse, and where `\'` was rewritten in it.
#[derive(Debug)]
pub struct Rewritten<'a> {
    pub text: Cow<'a, str>,
    /// Each rewrite's (line, column) in `text`, 1-based, in text order.
    rewrites: Vec<(usize, usize)>,
}

/// Why a YAML stream's escapes are refused, and where (1-based, in the
/// original text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapeRefused {
    /// More double-quoted scalars with `\'` than [`MAX_REWRITTEN_SCALARS`]:
    /// the next one.
    TooMany { line: usize, column: usize },
    /// `\/` in a double-quoted scalar: YAML 1.2 and JSON take it, go-yaml
    /// v2 does not ("found unknown escape character"), so kubectl refuses it.
    Slash { line: usize, column: usize },
}

/// What the parser stopped at.
enum Found {
    SingleQuote,
    Slash,
}

impl Rewritten<'_> {
    /// The column in the original text of `column` on `line` of the
    /// rewritten text.
    pub fn original_column(&self, line: usize, column: usize) -> usize {
        let before = self
            .rewrites
            .iter()
            .filter(|(l, c)| *l == line && *c < column)
            .count();
        column - 2 * before
    }
}

/// Rewrites every `\'` of the double-quoted scalars of a YAML stream as
/// `\x27`; a JSON stream is returned as it is.
pub fn rewrite_single_quote_escapes(text: &str) -> Result<Rewritten<'_>, EscapeRefused> {
    let mut rewritten = Rewritten {
        text: Cow::Borrowed(text),
        rewrites: Vec::new(),
    };
    if text.trim_start().starts_with('{') {
        return Ok(rewritten);
    }
    let mut scalars = 0;
    while let Some((found, line, column)) = first_escape_to_handle(&rewritten.text) {
        let column_in_file = rewritten.original_column(line, column);
        if let Found::Slash = found {
            return Err(EscapeRefused::Slash {
                line,
                column: column_in_file,
            });
        }
        if scalars == MAX_REWRITTEN_SCALARS {
            return Err(EscapeRefused::TooMany {
                line,
                column: column_in_file,
            });
        }
        scalars += 1;
        let owned = rewritten.text.into_owned();
        let (text, rewrites) = rewrite_scalar_from(&owned, line, column);
        rewritten.text = Cow::Owned(text);
        rewritten.rewrites.extend(rewrites);
    }
    Ok(rewritten)
}

/// Where the parser stops at a `\'` or a `\/` (line, column of the
/// backslash), if it does: the first error of the stream, when it is one of
/// those. Our parser takes `\/`, so the probe reads a copy of the text with
/// each `\/` made `\q` (no escape, same length): the parser stops at one
/// only inside a double-quoted scalar.
fn first_escape_to_handle(text: &str) -> Option<(Found, usize, usize)> {
    let probe = text.replace("\\/", "\\q");
    for document in yaml_serde::Deserializer::from_str(&probe) {
        let Err(error) = serde::de::IgnoredAny::deserialize(document) else {
            continue;
        };
        if !error.to_string().starts_with(UNKNOWN_ESCAPE) {
            return None; // another error: the loader reports it
        }
        let at = error.location()?;
        let offset = byte_offset(text, at.line(), at.column())?;
        let found = if text[offset..].starts_with("\\'") {
            Found::SingleQuote
        } else if text[offset..].starts_with("\\/") {
            Found::Slash
        } else {
            return None;
        };
        return Some((found, at.line(), at.column()));
    }
    None
}

/// The byte offset of a 1-based line and column (in characters).
fn byte_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let line_start = if line == 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[line_start..];
    let within = rest
        .char_indices()
        .nth(column - 1)
        .map_or(rest.len(), |(i, _)| i);
    Some(line_start + within)
}

/// Rewrites each `\'` from the backslash at (line, column), which is inside
/// a double-quoted scalar, to that scalar's closing quote. Returns the new
/// text and the rewrites' (line, column) in it.
fn rewrite_scalar_from(text: &str, line: usize, column: usize) -> (String, Vec<(usize, usize)>) {
    let start = byte_offset(text, line, column).unwrap_or(text.len());
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..start]);
    let mut rewrites = Vec::new();
    let (mut line, mut column) = (line, column);
    let mut chars = text[start..].char_indices();
    let mut end = text.len();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            // The closing quote: the scalar ends, the rest is kept as it is.
            '"' => {
                end = start + offset;
                break;
            }
            '\\' => match chars.next() {
                Some((_, '\'')) => {
                    rewrites.push((line, column));
                    out.push_str("\\x27");
                    column += 4;
                }
                // Any other escape is the parser's to read (an escaped
                // line break included).
                Some((_, next)) => {
                    out.push('\\');
                    out.push(next);
                    (line, column) = advance(line, column + 1, next);
                }
                None => out.push('\\'),
            },
            other => {
                out.push(other);
                (line, column) = advance(line, column, other);
            }
        }
    }
    out.push_str(&text[end.min(text.len())..]);
    (out, rewrites)
}

/// The position after `ch` at (line, column).
fn advance(line: usize, column: usize, ch: char) -> (usize, usize) {
    if ch == '\n' {
        (line + 1, 1)
    } else {
        (line, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> yaml_serde::Value {
        let rewritten = rewrite_single_quote_escapes(text).unwrap();
        yaml_serde::from_str(&rewritten.text).unwrap()
    }

    #[test]
    fn an_escaped_apostrophe_in_double_quotes_is_an_apostrophe() {
        let v = value("a: \"it\\'s\"\nb: [\"x\\'y\", \"z\\\\'\"]\n");
        assert_eq!(v["a"], "it's");
        assert_eq!(v["b"][0], "x'y");
        // `\\` is an escaped backslash; the `'` after it is a plain character.
        assert_eq!(v["b"][1], "z\\'");
    }

    #[test]
    fn other_scalars_keep_backslash_apostrophe_as_two_characters() {
        let text = "a: \"it\\'s\"\nb: it\\'s \"q\\'\"\nc: 'it\\''s'\nd: |\n  it\\'s \"x\\'\"\n# \"\\'\"\ne: \"x\\'\"\n";
        let v = value(text);
        assert_eq!(v["a"], "it's");
        assert_eq!(v["b"], "it\\'s \"q\\'\"");
        assert_eq!(v["c"], "it\\'s");
        assert_eq!(v["d"], "it\\'s \"x\\'\"\n");
        assert_eq!(v["e"], "x'");
    }

    #[test]
    fn a_multi_line_scalar_is_rewritten_to_its_end() {
        let v = value("a: \"one\\'\n  two\\' \\\n  three\\'\"\nb: x\\'\n");
        assert_eq!(v["a"], "one' two' three'");
        assert_eq!(v["b"], "x\\'");
    }

    #[test]
    fn a_json_stream_is_left_alone_as_kubectl_reads_it_as_json() {
        let text = "{\"a\": \"it\\'s\"}";
        let rewritten = rewrite_single_quote_escapes(text).unwrap();
        assert_eq!(rewritten.text, text);
        assert!(yaml_serde::from_str::<yaml_serde::Value>(&rewritten.text).is_err());
    }

    #[test]
    fn unknown_escapes_stay_errors() {
        let rewritten = rewrite_single_quote_escapes("a: \"\\q\\'\"\n").unwrap();
        assert!(yaml_serde::from_str::<yaml_serde::Value>(&rewritten.text).is_err());
    }

    #[test]
    fn columns_map_back_to_the_file() {
        // `\'` at columns 6 and 12 of line 1; `\x27` moves what follows by 2 each.
        let rewritten = rewrite_single_quote_escapes("a: [\"\\'\", \"\\'\", x]\n").unwrap();
        assert_eq!(rewritten.text, "a: [\"\\x27\", \"\\x27\", x]\n");
        assert_eq!(rewritten.original_column(1, 6), 6);
        assert_eq!(rewritten.original_column(1, 14), 12);
        assert_eq!(rewritten.original_column(1, 21), 17);
        assert_eq!(rewritten.original_column(2, 21), 21);
    }

    #[test]
    fn the_number_of_rewritten_scalars_is_bounded() {
        let text = "- \"\\'\"\n".repeat(MAX_REWRITTEN_SCALARS + 1);
        let refused = rewrite_single_quote_escapes(&text).unwrap_err();
        assert_eq!(
            refused,
            EscapeRefused::TooMany {
                line: MAX_REWRITTEN_SCALARS + 1,
                column: 4
            }
        );
        let text = "- \"\\'\"\n".repeat(MAX_REWRITTEN_SCALARS);
        assert!(rewrite_single_quote_escapes(&text).is_ok());
    }
}

#[cfg(test)]
mod slash_tests {
    use super::*;

    #[test]
    fn an_escaped_slash_in_double_quotes_is_refused_as_kubectl_refuses_it() {
        assert_eq!(
            rewrite_single_quote_escapes("a: \"it\\'s\"\nb: \"x\\\\\\/y\"\n").unwrap_err(),
            EscapeRefused::Slash { line: 2, column: 8 }
        );
        // Column 12 of line 1 in the file, after a `\'` rewritten on it.
        assert_eq!(
            rewrite_single_quote_escapes("a: [\"\\'\", \"\\/\"]\n").unwrap_err(),
            EscapeRefused::Slash {
                line: 1,
                column: 12
            }
        );
    }

    #[test]
    fn a_slash_after_an_escaped_backslash_or_outside_double_quotes_is_text() {
        let text = "a: \"x\\\\/y\"\nb: x\\/y\nc: 'x\\/y'\nd: |\n  x\\/y\n";
        let rewritten = rewrite_single_quote_escapes(text).unwrap();
        assert_eq!(rewritten.text, text);
        let v: yaml_serde::Value = yaml_serde::from_str(&rewritten.text).unwrap();
        assert_eq!(v["a"], "x\\/y");
        assert_eq!(v["b"], "x\\/y");
        assert_eq!(v["c"], "x\\/y");
        assert_eq!(v["d"], "x\\/y\n");
    }

    #[test]
    fn an_escaped_slash_in_json_is_json() {
        let text = "{\"a\": \"x\\/y\"}";
        let rewritten = rewrite_single_quote_escapes(text).unwrap();
        let v: yaml_serde::Value = yaml_serde::from_str(&rewritten.text).unwrap();
        assert_eq!(v["a"], "x/y");
    }
}
