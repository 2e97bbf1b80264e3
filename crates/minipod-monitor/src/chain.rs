//! An error and its causes as one line, for where an error leaves the
//! program as text: a Kubernetes status or event message, an answer on
//! `monitor.sock`, a log line. Each error's own message names only its own
//! step (its cause is its `source()`), so the causes are joined here, once,
//! as anyhow's `{:#}` joins them.

use std::error::Error;

/// `error`, then each of its causes, separated by `": "`.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the record")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn each_cause_appears_once_after_the_step() {
        let error = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(error_chain(&error), "reading the record: disk on fire");
    }
}
