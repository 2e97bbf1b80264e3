//! What is wrong with an untrusted input, told without quoting it: a
//! parser's message may quote the data (a secret in a config, a terminal
//! escape), so only its kind and position are kept.

use std::io;

/// What is wrong with an input that could not be read, without a byte of
/// it: an OS error or one of minipod's own (a cap, a decompressor's fixed
/// message) as it is; a parser's message (which may quote the input) only
/// as its kind.
pub fn input_problem(error: &io::Error) -> String {
    if error.raw_os_error().is_some() {
        return error.to_string();
    }
    if let Some(inner) = error.get_ref() {
        if let Some(cap) = inner.downcast_ref::<crate::limits::CapExceeded>() {
            return cap.to_string();
        }
        if let Some(corrupt) = inner.downcast_ref::<crate::compression::Corrupt>() {
            return corrupt.to_string();
        }
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "the data ends early (truncated)".into(),
        // The parser's own message may quote the data: only its kind is told.
        kind => format!(
            "malformed data ({kind}; the parser's message is withheld, it may quote the data)"
        ),
    }
}

/// What is wrong with a JSON document and where, never its text: serde's
/// messages quote values (`invalid type: string "..."`), so only those
/// that name a field of the schema are kept.
pub fn json_problem(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", error.line(), error.column());
    match error.classify() {
        Category::Io => "cannot be read".into(),
        Category::Syntax => format!("not valid JSON (at {at})"),
        Category::Eof => format!("ends early (at {at})"),
        Category::Data => {
            // "missing field `config` at line 1 column 2": the name is the schema's.
            let message = error.to_string();
            if message.starts_with("missing field `") || message.starts_with("duplicate field `") {
                message
            } else {
                format!("a field has the wrong type or value (at {at})")
            }
        }
    }
}
