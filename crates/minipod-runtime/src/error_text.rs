//! An error and its causes as one line of text, for where an error leaves
//! Rust: a Kubernetes event or status message. Each `#[error]` message
//! names its own step only, so the chain shows every cause once.

/// `error` and each of its sources, joined with `": "`. A cause whose text
/// already ends the line is not repeated: an error of another crate may
/// still print its source in its own message.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {0}")]
    struct Step(&'static str, #[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("reading {0}: {1}")]
    struct OldStyle(&'static str, #[source] std::io::Error);

    #[test]
    fn each_cause_is_printed_once() {
        let io = || std::io::Error::other("denied");
        assert_eq!(chain(&Step("x", io())), "reading x: denied");
        assert_eq!(chain(&OldStyle("x", io())), "reading x: denied");
        assert_eq!(chain(&io()), "denied");
    }
}
