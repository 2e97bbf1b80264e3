//! An error and its causes as one line of text, for where an error leaves
//! Rust: a Kubernetes event or status message. Each `#[error]` message
//! names its own step only, so the chain shows every cause once.

/// `error` and each of its sources, joined with `": "`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
