//! Rendering for humans and scripts: aligned tables fitted to the terminal, records,
//! and escaping of server-supplied text (RELIABILITY H12).

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

/// How output should look, decided once from the environment.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colours allowed (stdout is a terminal and `NO_COLOR` is unset).
    pub color: bool,
    /// Width available for tables.
    pub width: usize,
}

impl Style {
    /// Detects terminal, width and `NO_COLOR`.
    pub fn detect() -> Style {
        let is_tty = io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = if is_tty {
            console::Term::stdout()
                .size_checked()
                .map(|(_, w)| usize::from(w))
                .unwrap_or(120)
        } else {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(usize::MAX)
        };
        Style {
            color: is_tty && !no_color,
            width,
        }
    }

    /// Bold text when colours are allowed.
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            console::style(s).bold().to_string()
        } else {
            s.to_owned()
        }
    }

    /// Yellow text (warnings) when colours are allowed.
    pub fn warn(&self, s: &str) -> String {
        if self.color {
            console::style(s).yellow().to_string()
        } else {
            s.to_owned()
        }
    }

    /// Green text (success) when colours are allowed.
    pub fn ok(&self, s: &str) -> String {
        if self.color {
            console::style(s).green().to_string()
        } else {
            s.to_owned()
        }
    }
}

/// Escapes control characters (ESC, CR, bidi overrides ...) in text that came from a
/// server, so it cannot move the cursor, rewrite the line or set the clipboard.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Like [`escape`], for a single table cell: newlines and tabs become spaces.
pub fn escape_cell(s: &str) -> String {
    escape(s).replace(['\n', '\t'], " ")
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Display width of a string (characters; good enough for the text archives return).
fn width_of(s: &str) -> usize {
    console::measure_text_width(s)
}

fn truncate_to(s: &str, width: usize) -> String {
    if width_of(s) <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Renders rows as aligned columns fitted to `style.width`: wide columns are
/// truncated (with `…`) so that every column stays visible when possible.
pub fn render_table(style: &Style, header: &[String], rows: &[Vec<String>]) -> String {
    let ncols = header.len();
    if ncols == 0 {
        return String::new();
    }
    let mut widths: Vec<usize> = header.iter().map(|h| width_of(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(ncols) {
            widths[i] = widths[i].max(width_of(cell));
        }
    }
    fit_widths(&mut widths, style.width, 2);
    // When even the narrowest columns do not fit, show the columns that do and say so,
    // rather than wrapping every line.
    let mut shown = ncols;
    let mut used = 0usize;
    for (i, w) in widths.iter().enumerate() {
        let extra = if i == 0 { *w } else { w + 2 };
        if i > 0 && used + extra > style.width {
            shown = i;
            break;
        }
        used += extra;
    }
    widths.truncate(shown);
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String], bold: bool| {
        let mut text = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            let cell = truncate_to(cell, *w);
            let pad = w.saturating_sub(width_of(&cell));
            text.push_str(&cell);
            if i + 1 < shown {
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        let text = text.trim_end().to_owned();
        out.push_str(&if bold { style.bold(&text) } else { text });
        out.push('\n');
    };
    line(&mut out, header, true);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule, false);
    for row in rows {
        line(&mut out, row, false);
    }
    if shown < ncols {
        let _ = writeln!(
            out,
            "({} more columns not shown: {}; use --format records or csv)",
            ncols - shown,
            header[shown..].join(", ")
        );
    }
    out
}

/// Shrinks the widest columns until the total (with `gap` between columns) fits.
fn fit_widths(widths: &mut [usize], total: usize, gap: usize) {
    let min_col = 6;
    let needed = |w: &[usize]| w.iter().sum::<usize>() + gap * w.len().saturating_sub(1);
    while needed(widths) > total {
        let Some((idx, &max)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
            return;
        };
        if max <= min_col {
            return;
        }
        let excess = needed(widths) - total;
        widths[idx] = max
            .saturating_sub(excess)
            .max(min_col)
            .max(max / 2)
            .min(max - 1);
    }
}

/// Renders one block per record, `name = value`, like ESO's notebooks print `dbo.raw` rows.
pub fn render_records(header: &[String], rows: &[Vec<String>]) -> String {
    let name_width = header.iter().map(|h| width_of(h)).max().unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        out.push_str(&"=".repeat(name_width + 40));
        out.push('\n');
        for (name, value) in header.iter().zip(row) {
            let _ = writeln!(out, "{name:<name_width$} = {value}");
        }
    }
    out
}

/// Writes to stdout, turning a broken pipe into success (`eso query ... | head`).
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(width: usize) -> Style {
        Style {
            color: false,
            width,
        }
    }

    #[test]
    fn escapes_terminal_controls() {
        let hostile = "job failed\x1b]52;c;ZXZpbA==\x07\rnow\u{202e}txt";
        let escaped = escape(hostile);
        assert!(!escaped.contains('\x1b'));
        assert!(!escaped.contains('\r'));
        assert!(!escaped.contains('\u{202e}'));
        assert!(escaped.contains("\\u{1b}"));
    }

    #[test]
    fn table_fits_width() {
        let header = vec!["dp_id".to_owned(), "description".to_owned()];
        let rows = vec![vec![
            "SPHER.2016-09-26T03:04:09.308".to_owned(),
            "x".repeat(200),
        ]];
        let text = render_table(&plain(60), &header, &rows);
        for line in text.lines() {
            assert!(width_of(line) <= 60, "{line:?} is wider than 60");
        }
        assert!(text.contains('…'));
    }

    #[test]
    fn too_many_columns_are_dropped_with_a_note() {
        let header: Vec<String> = (0..40).map(|i| format!("column_{i}")).collect();
        let rows = vec![
            header
                .iter()
                .map(|_| "value".to_owned())
                .collect::<Vec<_>>(),
        ];
        let text = render_table(&plain(80), &header, &rows);
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[..lines.len() - 1] {
            assert!(width_of(line) <= 80, "{line:?} is wider than 80");
        }
        assert!(lines[lines.len() - 1].contains("more columns not shown"));
        assert!(text.contains("column_39"));
    }

    #[test]
    fn records_show_every_field() {
        let header = vec!["a".to_owned(), "long_name".to_owned()];
        let rows = vec![vec!["1".to_owned(), "two".to_owned()]];
        let text = render_records(&header, &rows);
        assert!(text.contains("a         = 1"));
        assert!(text.contains("long_name = two"));
    }
}
