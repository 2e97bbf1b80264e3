//! Headings, wrapped paragraphs and aligned tables.

use std::fmt::Write as _;

/// Lines are wrapped to this width where the text allows it.
pub(super) const WIDTH: usize = 100;

pub(super) fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

/// A paragraph wrapped at [`WIDTH`], every line indented.
pub(super) fn paragraph(out: &mut String, indent: &str, text: &str) {
    for line in wrap(text, WIDTH.saturating_sub(indent.len())) {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let fits = line.is_empty() || line.chars().count() + 1 + word.chars().count() <= width;
        if !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Left-aligned columns two spaces apart. Rows of one cell are headings and
/// do not widen the first column. The last cell of a row wraps at [`WIDTH`],
/// continuing under itself. Trailing spaces are trimmed.
pub(super) fn table(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows.iter().filter(|r| r.len() > 1) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        let Some((last, cells)) = row.split_last() else {
            let _ = writeln!(out);
            continue;
        };
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                widths[i] - cell.chars().count() + 2,
            ));
        }
        let start = line.chars().count();
        let wrapped = if cells.is_empty() {
            vec![last.clone()]
        } else {
            wrap(last, WIDTH.saturating_sub(start).max(30))
        };
        for (i, part) in wrapped.iter().enumerate() {
            if i == 0 {
                line.push_str(part);
                let _ = writeln!(out, "{}", line.trim_end());
            } else {
                let _ = writeln!(out, "{}{part}", " ".repeat(start));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut out = String::new();
        let rows = [
            ["a", "bb", "c"].map(String::from).to_vec(),
            ["ddd", "e", "f"].map(String::from).to_vec(),
        ];
        table(&mut out, "", &rows);
        assert_eq!(out, "a    bb  c\nddd  e   f\n");
    }

    #[test]
    fn table_wraps_the_last_column_under_itself() {
        let mut out = String::new();
        let long = "word ".repeat(40);
        table(&mut out, "", &[vec!["key".into(), long.trim_end().into()]]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines[1].starts_with("     word"), "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{out}");
    }
}
