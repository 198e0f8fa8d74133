//! What every terminal renderer shares: the options the caller decides (width, colour,
//! verbosity), the palette, and word wrapping of styled text at display-width boundaries.
//!
//! Nothing here looks at the environment: the command line decides whether stdout is a
//! terminal, how wide it is and whether colour is wanted, so a renderer's output depends on its
//! arguments alone (and snapshots are deterministic).

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthChar;

/// How much a terminal report shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Only what fails, and the summary.
    Quiet,
    /// Errors and warnings, the per-service table, the summary.
    #[default]
    Normal,
    /// Also notes, rules not evaluated, waivers, documentation links, infrastructure places.
    Verbose,
}

/// How a terminal report is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextOptions<'a> {
    /// Columns to fit in; `None` never wraps (a file, a pipe).
    pub width: Option<usize>,
    /// ANSI colour and bold.
    pub color: bool,
    /// How much to show.
    pub verbosity: Verbosity,
    /// Put before every path of the report so that it opens from the current directory
    /// (`fixtures/monorepo` for `tracegate check fixtures/monorepo`); `None` when the checked
    /// directory is the current one.
    pub base: Option<&'a str>,
    /// Files named as the user gave them (`--manifests rendered.yaml`): already relative to the
    /// current directory, so printed without `base`.
    pub given: &'a [String],
}

/// The palette: one style per meaning, so every renderer colours alike.
pub mod palette {
    use super::{AnsiColor, Style};

    /// An error, a failing verdict.
    pub const ERROR: Style = Style::new()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
        .bold();
    /// A warning, an unknown verdict.
    pub const WARNING: Style = Style::new()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)))
        .bold();
    /// A note.
    pub const NOTE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    /// A passing verdict.
    pub const PASS: Style = Style::new()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)))
        .bold();
    /// Names a reader scans for (services, rule IDs).
    pub const EMPHASIS: Style = Style::new().bold();
    /// Labels (`fix:`, `docs:`) and secondary text.
    pub const LABEL: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    /// Text printed as is.
    pub const PLAIN: Style = Style::new();
}

/// `text` in `style` when `color` is on.
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if color && !style.is_plain() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// A piece of a line: text in one style, after `space` blanks (dropped at a line break).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    text: String,
    style: Style,
    space: usize,
}

/// Text to wrap: pieces, each word of which may move to the next line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    pieces: Vec<Piece>,
}

impl Line {
    /// An empty line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append `text` after `space` blanks: each of its words is a piece in `style`.
    pub fn push(mut self, space: usize, text: &str, style: Style) -> Self {
        for (i, word) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
            self.pieces.push(Piece {
                text: word.to_owned(),
                style,
                space: if i == 0 { space } else { 1 },
            });
        }
        self
    }

    /// Append `text` after `space` blanks as one piece that never breaks at its spaces
    /// (a path, `error TG102`), unless it alone is wider than the line.
    pub fn push_whole(mut self, space: usize, text: &str, style: Style) -> Self {
        if !text.is_empty() {
            self.pieces.push(Piece {
                text: text.to_owned(),
                style,
                space,
            });
        }
        self
    }

    /// The lines: the first after `indent` blanks, the others after `hang`; each at most
    /// `width` columns wide when given (a piece wider than a line is cut at characters).
    pub fn wrap(&self, width: Option<usize>, indent: usize, hang: usize, color: bool) -> String {
        let mut out = String::new();
        let mut used = indent;
        let mut at_start = true;
        out.push_str(&" ".repeat(indent));
        for piece in &self.pieces {
            let w = display_width(&piece.text);
            let fits = |used: usize, extra: usize| width.is_none_or(|max| used + extra <= max);
            if !at_start && !fits(used, piece.space + w) {
                out.push('\n');
                out.push_str(&" ".repeat(hang));
                used = hang;
                at_start = true;
            }
            if !at_start {
                out.push_str(&" ".repeat(piece.space));
                used += piece.space;
            }
            // A piece wider than a whole line: cut it at characters.
            let mut rest = piece.text.as_str();
            loop {
                let room = width.map_or(usize::MAX, |max| max.saturating_sub(used));
                let mut head = split_at_width(rest, room);
                if head.len() < rest.len() {
                    // Cut after the last `/ . , ( : -` that fits, not in the middle of a word.
                    if let Some(i) = head.rfind(['/', '.', ',', '(', ':', '-']) {
                        if i > 0 {
                            head = &head[..=i];
                        }
                    }
                }
                if head.is_empty() && used <= hang {
                    // Not even one character fits on a fresh line: take one anyway.
                    let end = rest.chars().next().map_or(0, char::len_utf8);
                    head = &rest[..end];
                }
                out.push_str(&paint(head, piece.style, color));
                used += display_width(head);
                rest = &rest[head.len()..];
                if rest.is_empty() {
                    break;
                }
                out.push('\n');
                out.push_str(&" ".repeat(hang));
                used = hang;
            }
            at_start = false;
        }
        out.push('\n');
        out
    }
}

/// Columns `text` takes on a terminal.
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Columns `text` takes on a terminal once its ANSI escapes are stripped.
pub fn visible_width(text: &str) -> usize {
    display_width(&anstream::adapter::strip_str(text).to_string())
}

/// The longest prefix of `text` at most `room` columns wide.
fn split_at_width(text: &str, room: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > room {
            return &text[..i];
        }
    }
    text
}

/// A line of a comfy-table table (presets with `┆` between cells and `│` at the borders) with
/// the cell of `column` painted in the style `style_of` gives its text (trimmed); other lines
/// and cells as they are. Tables are painted after layout: comfy-table's own cell styling goes
/// through crossterm, which reads `NO_COLOR` itself and would not obey `--color always`.
pub fn paint_cell(
    line: &str,
    column: usize,
    color: bool,
    style_of: impl Fn(&str) -> Option<Style>,
) -> String {
    if !color {
        return line.to_owned();
    }
    let mut cells: Vec<String> = line.split('┆').map(str::to_owned).collect();
    let Some(cell) = cells.get_mut(column) else {
        return line.to_owned();
    };
    let word = cell.trim().trim_matches('│').trim().to_owned();
    match style_of(&word) {
        Some(style) if !word.is_empty() => {
            *cell = cell.replacen(&word, &paint(&word, style, true), 1);
            cells.join("┆")
        }
        _ => line.to_owned(),
    }
}

/// `n word` or `n words`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &Line, width: usize, indent: usize, hang: usize) -> String {
        line.wrap(Some(width), indent, hang, false)
    }

    #[test]
    fn wraps_at_word_boundaries_with_a_hanging_indent() {
        let line = Line::new().push_whole(0, "fix:", palette::LABEL).push(
            1,
            "Set the W3C propagator at start-up before any span",
            palette::PLAIN,
        );
        assert_eq!(
            plain(&line, 24, 4, 9),
            "    fix: Set the W3C\n         propagator at\n         start-up before\n         any span\n"
        );
        // Unwrapped: one line, single spaces between words.
        assert_eq!(
            line.wrap(None, 0, 9, false),
            "fix: Set the W3C propagator at start-up before any span\n"
        );
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut_and_nothing_exceeds_the_width() {
        let line = Line::new()
            .push_whole(
                0,
                "services/a-very-long-directory-name/main.go:12",
                palette::PLAIN,
            )
            .push(2, "message", palette::PLAIN);
        let out = plain(&line, 20, 0, 4);
        for l in out.lines() {
            assert!(display_width(l) <= 20, "{l:?} in {out}");
        }
        assert_eq!(
            out.replace(['\n', ' '], ""),
            "services/a-very-long-directory-name/main.go:12message"
        );
    }

    #[test]
    fn paint_cell_paints_one_cell_of_a_table_line() {
        let line = "│ pass ┆ pass ┆ no │";
        let style = |w: &str| (w == "pass").then_some(palette::PASS);
        assert_eq!(
            paint_cell(line, 1, true, style),
            "│ pass ┆ \u{1b}[1m\u{1b}[32mpass\u{1b}[0m ┆ no │"
        );
        // the last cell, with its border; nothing when the style says no or colour is off
        let no = |w: &str| (w == "no").then_some(palette::ERROR);
        assert_eq!(
            paint_cell(line, 2, true, no),
            "│ pass ┆ pass ┆ \u{1b}[1m\u{1b}[31mno\u{1b}[0m │"
        );
        assert_eq!(paint_cell(line, 0, true, no), line);
        assert_eq!(paint_cell(line, 1, false, style), line);
        assert_eq!(paint_cell("└──┴──┘", 1, true, style), "└──┴──┘");
    }

    #[test]
    fn wide_characters_count_twice() {
        let line = Line::new().push(0, "日本語 日本語", palette::PLAIN);
        assert_eq!(plain(&line, 8, 0, 0), "日本語\n日本語\n");
    }

    #[test]
    fn colour_wraps_each_piece_and_nothing_when_off() {
        let line = Line::new()
            .push_whole(0, "error TG102", palette::ERROR)
            .push(2, "a b", palette::PLAIN);
        let coloured = line.wrap(Some(80), 0, 0, true);
        assert_eq!(coloured, "\u{1b}[1m\u{1b}[31merror TG102\u{1b}[0m  a b\n");
        assert_eq!(line.wrap(Some(80), 0, 0, false), "error TG102  a b\n");
    }
}
