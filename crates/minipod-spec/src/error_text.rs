//! An error and its causes as one line of text, the way Kubernetes shows
//! them: `step: cause: cause`, as Go's wrapped errors print
//! (`fmt.Errorf("...: %w", err)`). This is the one place an error becomes
//! text, for where it leaves Rust: a Pod's status message, an Event, an API
//! `Status`, a socket answer, a log line.
//!
//! It relies on the rule every error type of this workspace follows: each
//! `#[error]` message names its own step only and never repeats its
//! `#[source]`, so each cause appears once. Binaries print the same chain
//! with anyhow's `{:#}`.

/// `error` and each of its sources, joined with `": "`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the record")]
    struct Reading(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("starting pod {0}")]
    struct Starting(&'static str, #[source] Reading);

    #[test]
    fn each_cause_appears_once_in_order() {
        let error = Starting("web", Reading(std::io::Error::other("disk on fire")));
        assert_eq!(
            error_chain(&error),
            "starting pod web: reading the record: disk on fire"
        );
    }

    #[test]
    fn an_error_without_a_cause_is_its_message() {
        assert_eq!(
            error_chain(&std::io::Error::other("no such file")),
            "no such file"
        );
    }
}
