//! A linear pre-scan that refuses YAML whose shape would make the parser
//! slow or large, before the parser sees it: collections nested too deep
//! (`[[[[...`, `{{{{...`, or `- - - - ...` on one line) and too many nodes.
//!
//! Why: the YAML scanner keeps a stack with one entry per open flow collection
//! and walks it for every token, and the loader reads a whole document before
//! the deserializer's recursion limit (128) applies. So a 200 KB line of `[`
//! costs time proportional to length × depth: minutes, measured. And the
//! loader keeps every event of a document in memory (about 130 bytes per node,
//! 300 per level of nesting, measured): a 3 MB line of `- - - ...` took 471 MB,
//! 3 MB of `- a` lines 115 MB. This scan costs one pass over the text, and a
//! manifest never needs more than a few levels of nesting or a few thousand
//! nodes.
//!
//! The scan follows YAML closely enough to skip indicators that are text:
//! inside quoted scalars (recognised only where YAML starts one), comments, and
//! block scalars (`|` / `>` and their more-indented lines). Where it guesses,
//! it guesses toward counting, so a real bomb is never hidden.

/// Deepest nesting accepted, for flow collections and for block collections
/// opened on one line (`- - -`). Kubernetes manifests in flow style or JSON
/// nest well under 20 levels; YAML's own limit is 128.
pub const MAX_FLOW_DEPTH: usize = 100;

/// Most nodes (scalars, sequences, mappings; a mapping entry counts its key
/// and its value; a document) accepted in one file, counted from the
/// indicators that start them (`-`, `?`, `:`, `[`, `{`, `,`, `---`). A large real Pod has a few
/// thousand; the API server's own limits keep real objects far below this
/// (annotations 256 KiB in all, Secret data 1 MiB). At this count the parser
/// holds about 15 MB (flat) to 30 MB (nested) of events.
pub const MAX_NODES: usize = 100_000;

/// Where the scan first found the text over a limit (1-based line, column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooComplex {
    /// Nested deeper than [`MAX_FLOW_DEPTH`].
    TooDeep { line: usize, column: usize },
    /// More than [`MAX_NODES`] nodes.
    TooManyNodes { line: usize, column: usize },
}

/// Checks that no collection nests deeper than [`MAX_FLOW_DEPTH`] and that
/// the text holds at most [`MAX_NODES`] nodes.
pub fn check_structure(text: &str) -> Result<(), TooComplex> {
    let mut nodes = 0usize;
    let mut depth = 0usize;
    let mut quote: Option<Quote> = None;
    let mut block_scalar: Option<BlockScalar> = None;

    for (line_index, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();

        if let Some(block) = &mut block_scalar {
            // Block scalar text: every line indented at least as deep as its
            // first line belongs to it (blank lines too).
            if blank {
                continue;
            }
            let content_indent = *block.content_indent.get_or_insert(indent);
            if indent >= content_indent && indent > block.parent_indent {
                continue;
            }
            block_scalar = None;
        }

        // A quoted scalar in block context cannot continue on a line indented
        // no deeper than the line it started on: if we think one is open
        // there, we were wrong (it was plain text), so stop skipping.
        if let Some(open) = &quote
            && open.in_block
            && !blank
            && indent <= open.line_indent
        {
            quote = None;
        }

        let mut previous: Option<char> = None; // the character just before
        let mut previous_significant: Option<char> = None; // the last non-blank one
        let mut closed_quote = false; // `previous` closed a quoted scalar
        let mut colon_after_quoted_key = false; // `previous` is a `:` right after one
        // Block collections opened on this line before any other text: each
        // `- ` or `? ` of `- - - x` is one more level.
        let mut compact_depth = 0usize;
        let mut only_indicators = true;
        // A document marker starts a document (a node of its own): a file of
        // `---` lines is as costly as one of nodes.
        if quote.is_none()
            && line.starts_with("---")
            && line[3..].chars().next().is_none_or(char::is_whitespace)
        {
            nodes += 1;
            if nodes > MAX_NODES {
                return Err(TooComplex::TooManyNodes {
                    line: line_index + 1,
                    column: 1,
                });
            }
        }
        let mut chars = line.char_indices().peekable();
        while let Some((offset, ch)) = chars.next() {
            if let Some(open) = &quote {
                match (open.kind, ch) {
                    (QuoteKind::Double, '\\') => {
                        chars.next(); // an escaped character, possibly a quote
                    }
                    (QuoteKind::Double, '"') | (QuoteKind::Single, '\'') => {
                        quote = None;
                        closed_quote = true;
                        previous = Some(ch);
                        previous_significant = Some(ch);
                        continue;
                    }
                    _ => {}
                }
                previous = Some(ch);
                continue;
            }
            let json_value_start = depth > 0 && colon_after_quoted_key;
            let at = |line_index: usize| (line_index + 1, line[..offset].chars().count() + 1);
            let ends_token = chars.peek().is_none_or(|(_, next)| next.is_whitespace());
            let after_space = previous.is_none_or(char::is_whitespace);
            let started = match ch {
                '-' | '?' if after_space && ends_token => 1,
                ':' if ends_token || (depth > 0 && closed_quote) => 2,
                ',' if depth > 0 => 2,
                '[' | '{' => 1,
                _ => 0,
            };
            if started > 0 {
                nodes += started;
                if nodes > MAX_NODES {
                    let (line, column) = at(line_index);
                    return Err(TooComplex::TooManyNodes { line, column });
                }
            }
            if matches!(ch, '-' | '?') && started > 0 && only_indicators {
                compact_depth += 1;
                if compact_depth > MAX_FLOW_DEPTH {
                    let (line, column) = at(line_index);
                    return Err(TooComplex::TooDeep { line, column });
                }
            } else if !ch.is_whitespace() {
                only_indicators = false;
            }
            colon_after_quoted_key = ch == ':' && closed_quote;
            closed_quote = false;
            match ch {
                '#' if previous.is_none_or(char::is_whitespace) => break, // a comment
                '"' | '\'' if json_value_start || starts_scalar(previous, previous_significant) => {
                    let kind = if ch == '"' {
                        QuoteKind::Double
                    } else {
                        QuoteKind::Single
                    };
                    quote = Some(Quote {
                        kind,
                        in_block: depth == 0,
                        line_indent: indent,
                    });
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        let (line, column) = at(line_index);
                        return Err(TooComplex::TooDeep { line, column });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = Some(ch);
            if !ch.is_whitespace() {
                previous_significant = Some(ch);
            }
        }

        if depth == 0
            && quote.is_none()
            && let Some(explicit) = block_scalar_indicator(line)
        {
            block_scalar = Some(BlockScalar {
                parent_indent: indent,
                content_indent: explicit.map(|extra| indent + extra),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteKind {
    Single,
    Double,
}

#[derive(Debug)]
struct Quote {
    kind: QuoteKind,
    /// Opened outside any flow collection.
    in_block: bool,
    line_indent: usize,
}

#[derive(Debug)]
struct BlockScalar {
    parent_indent: usize,
    content_indent: Option<usize>,
}

/// YAML starts a quoted scalar only where a node may start: at the start of a
/// line or after whitespace that follows `:`, `-`, `?`, `,`, `[`, `{`, and
/// directly after `[`, `{` or `,`. (The caller adds the JSON case, a quote
/// right after the `:` of a quoted key in a flow collection: `{"a":"b"}`.)
/// Elsewhere a quote is text: `it's`, `a:"b"`.
fn starts_scalar(previous: Option<char>, previous_significant: Option<char>) -> bool {
    match previous {
        None | Some('[' | '{' | ',') => true,
        Some(c) if c.is_whitespace() => {
            matches!(
                previous_significant,
                None | Some(':' | '-' | '?' | ',' | '[' | '{')
            )
        }
        Some(_) => false,
    }
}

/// If `line` ends (before any comment) with a block scalar header (`|`, `>`,
/// `|-`, `>+`, `|2`, ...), returns `Some(explicit indentation)`.
fn block_scalar_indicator(line: &str) -> Option<Option<usize>> {
    let content = match line.find(" #") {
        Some(index) => &line[..index],
        None => line,
    };
    let content = content.trim_end();
    let header_start = content
        .rfind(|c: char| c.is_whitespace())
        .map_or(0, |i| i + 1);
    let header = &content[header_start..];
    let mut chars = header.chars();
    if !matches!(chars.next(), Some('|' | '>')) {
        return None;
    }
    let rest: String = chars.collect();
    if !rest
        .chars()
        .all(|c| c == '+' || c == '-' || c.is_ascii_digit())
        || rest.len() > 2
    {
        return None;
    }
    let before = content[..header_start].trim_end();
    if !(before.is_empty()
        || before.ends_with(':')
        || before.ends_with('-')
        || before.ends_with("---"))
    {
        return None;
    }
    Some(
        rest.chars()
            .find_map(|c| c.to_digit(10))
            .map(|d| d as usize),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!("spec: {}x{}\n", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn ordinary_manifests_pass() {
        let yaml = "metadata: {name: web, labels: {app: web}}\nspec:\n  containers: [{name: a, image: b, args: [\"sh\", \"-c\", \"[ -f x ] && echo ok\"]}]\n";
        assert_eq!(check_structure(yaml), Ok(()));
        assert_eq!(check_structure(&nested("[", "]", MAX_FLOW_DEPTH)), Ok(()));
    }

    #[test]
    fn deep_flow_nesting_is_refused_where_it_crosses_the_limit() {
        assert_eq!(
            check_structure(&nested("[", "]", 100_000)),
            Err(TooComplex::TooDeep {
                line: 1,
                column: 7 + MAX_FLOW_DEPTH
            })
        );
        assert!(check_structure(&nested("{a: ", "}", 1000)).is_err());
        assert!(check_structure(&"[".repeat(1000)).is_err(), "unclosed");
    }

    #[test]
    fn brackets_inside_quotes_comments_and_block_scalars_are_text() {
        let many = "[".repeat(500);
        let yaml = format!(
            "a: \"{many}\"\nb: '{many}'\n# {many}\nc: x # {many}\nd: |\n  {many}\n  more {many}\n\n  {many}\ne: >-\n    {many}\nf: [\"{many}\", '{many}']\n"
        );
        assert_eq!(check_structure(&yaml), Ok(()));
    }

    #[test]
    fn json_strings_after_a_key_are_text() {
        let many = "{".repeat(500);
        let json = format!("{{\"metadata\":{{\"annotations\":{{\"last-applied\":\"{many}\"}}}}}}");
        assert_eq!(check_structure(&json), Ok(()));
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let yaml = format!("a: \"x\\\" {}\"\n", "[".repeat(500));
        assert_eq!(check_structure(&yaml), Ok(()));
    }

    #[test]
    fn a_quote_inside_plain_text_cannot_hide_a_bomb() {
        let bomb = "[".repeat(500);
        // `it's`: the quote is text, so the bomb after it still counts.
        assert!(check_structure(&format!("a: it's\nb: {bomb}\n")).is_err());
        // `a:"`: not a JSON key, so the quote is text.
        assert!(check_structure(&format!("x: [a:\"{bomb}]\n")).is_err());
        // A plain scalar continued on a line that starts with a quote: YAML
        // ends it at the next key, and so does the scan.
        assert!(check_structure(&format!("a: x\n  \"\nb: {bomb}\n")).is_err());
        // A quote inside block scalar text is skipped with the text.
        assert!(check_structure(&format!("a: |\n  \"\nb: {bomb}\n")).is_err());
    }

    #[test]
    fn block_scalar_headers_are_recognised() {
        assert_eq!(block_scalar_indicator("  script: |"), Some(None));
        assert_eq!(block_scalar_indicator("  - >-"), Some(None));
        assert_eq!(
            block_scalar_indicator("  args: |2 # two spaces"),
            Some(Some(2))
        );
        assert_eq!(block_scalar_indicator("--- |"), Some(None));
        assert_eq!(block_scalar_indicator("  a: x |"), None);
        assert_eq!(block_scalar_indicator("  a: b"), None);
    }

    #[test]
    fn a_line_of_block_indicators_is_as_deep_as_its_count() {
        let ok = format!("{}x\n", "- ".repeat(MAX_FLOW_DEPTH));
        assert_eq!(check_structure(&ok), Ok(()));
        let bomb = format!("{}x\n", "- ".repeat(1_000_000));
        assert_eq!(
            check_structure(&bomb),
            Err(TooComplex::TooDeep {
                line: 1,
                column: 2 * MAX_FLOW_DEPTH + 1
            })
        );
        assert!(check_structure(&"? ".repeat(1000)).is_err());
        // Dashes inside text are not indicators.
        assert_eq!(
            check_structure(&format!("a: {}\n", "- ".repeat(1000))),
            Ok(())
        );
    }

    #[test]
    fn nodes_are_counted_up_to_the_limit() {
        // `- a` is one node per line; `k: v` two.
        let fits = "- a\n".repeat(MAX_NODES);
        assert_eq!(check_structure(&fits), Ok(()));
        let over = "- a\n".repeat(MAX_NODES + 1);
        assert_eq!(
            check_structure(&over),
            Err(TooComplex::TooManyNodes {
                line: MAX_NODES + 1,
                column: 1
            })
        );
        let map = (0..MAX_NODES / 2 + 1)
            .map(|i| format!("k{i}: v\n"))
            .collect::<String>();
        assert!(check_structure(&map).is_err());
        let flow = format!("[{}]", "1,".repeat(MAX_NODES));
        assert!(check_structure(&flow).is_err());
        let json = format!("{{{}}}", "\"a\":1,".repeat(MAX_NODES / 2));
        assert!(check_structure(&json).is_err());
        assert!(check_structure(&"---\n".repeat(MAX_NODES + 1)).is_err());
        // Quoted, commented and block-scalar text holds no nodes.
        let text = "- a ".repeat(MAX_NODES);
        let yaml = format!("a: \"{text}\"\n# {text}\nb: |\n  {text}\n");
        assert_eq!(check_structure(&yaml), Ok(()));
    }
}
