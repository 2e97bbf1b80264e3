//! The record's JSON files: written atomically, read strictly.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::error::{RecordError, io_error, json_error};

/// Writes `value` (pretty, with a final newline) through a temporary file
/// in the same directory and a rename: a reader sees the old file or the
/// new one, never half of one.
pub fn write_json_atomically(path: &Path, value: &Value) -> Result<(), RecordError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(json_error(path))?;
    text.push(b'\n');
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut f| f.write_all(&text));
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(RecordError::Io {
            path: temporary,
            source,
        });
    }
    fs::rename(&temporary, path).map_err(io_error(path))
}

pub(super) fn read_json(path: &Path) -> Result<Value, RecordError> {
    let text = fs::read(path).map_err(io_error(path))?;
    serde_json::from_slice(&text).map_err(json_error(path))
}

pub(super) fn read_optional<T: for<'de> Deserialize<'de>>(
    path: &Path,
) -> Result<Option<T>, RecordError> {
    match fs::read(path) {
        Ok(text) => serde_json::from_slice(&text)
            .map(Some)
            .map_err(json_error(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RecordError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}
