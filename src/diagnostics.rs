//! Diagnostics: every problem found in a contract, with the place in the source it came from.
//!
//! Loading, schema checks and semantic rules all report `Diagnostic`s instead of failing on
//! the first problem, so `validate` can show every problem at once. A `Sources` map owns the
//! text of every file read, so a diagnostic can print `file:line:column`, the line and a caret.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use serde::{Deserialize, Serialize};

/// A byte range in one of the files held by `Sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `RCTL011`; documented in the README.
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    /// Why it matters (policy findings: the risk), shown before the hint.
    pub reason: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, message: message.into(), span: None, reason: None, hint: None }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }
    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The machine-readable form of a diagnostic (`--format json`).
#[derive(Debug, Serialize)]
pub struct DiagnosticJson {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub hint: Option<String>,
}

/// The text of every file read while loading a project, indexed by `Span::file`.
#[derive(Default)]
pub struct Sources {
    files: SimpleFiles<String, String>,
    /// Byte ranges never shown in a source snippet (inline plaintext secrets).
    masked: Vec<Span>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> usize {
        self.files.add(name, text)
    }

    /// Never show the text of `span` in a snippet: it is printed as `*` (one per byte, so
    /// offsets, lines and columns stay where they were).
    pub fn mask(&mut self, span: Span) {
        self.masked.push(span);
    }

    /// The files as snippets may show them: masked ranges replaced by `*`.
    fn shown_files(&self) -> Option<SimpleFiles<String, String>> {
        if self.masked.is_empty() {
            return None;
        }
        let mut shown = SimpleFiles::new();
        let mut id = 0;
        while let Ok(f) = self.files.get(id) {
            let mut bytes = f.source().clone().into_bytes();
            for m in self.masked.iter().filter(|m| m.file == id) {
                let end = m.end.min(bytes.len());
                for b in &mut bytes[m.start.min(end)..end] {
                    if *b != b'\n' && *b != b'\r' {
                        *b = b'*';
                    }
                }
            }
            shown.add(f.name().clone(), String::from_utf8_lossy(&bytes).into_owned());
            id += 1;
        }
        Some(shown)
    }

    pub fn name(&self, file: usize) -> String {
        self.files.get(file).map(|f| f.name().clone()).unwrap_or_default()
    }

    pub fn text(&self, file: usize) -> &str {
        self.files.get(file).map(|f| f.source().as_str()).unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        let text = self.text(file);
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// `file:line:column` of a span.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.file, span.start);
        format!("{}:{}:{}", self.name(span.file), line, col)
    }

    pub fn to_json(&self, d: &Diagnostic) -> DiagnosticJson {
        let (file, line, column) = match d.span {
            Some(span) => {
                let (l, c) = self.line_col(span.file, span.start);
                (Some(self.name(span.file)), Some(l), Some(c))
            }
            None => (None, None, None),
        };
        DiagnosticJson {
            severity: d.severity,
            code: d.code,
            message: d.message.clone(),
            file,
            line,
            column,
            reason: d.reason.clone(),
            hint: d.hint.clone(),
        }
    }

    /// Human form: `error[CODE]: message`, then ` --> file:line:col`, the source line, a caret
    /// and the hint. Colour only when `color` is set.
    pub fn render(&self, d: &Diagnostic, color: bool) -> String {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_code(d.code)
        .with_message(&d.message);
        let shown = self.shown_files();
        let mut files = shown.unwrap_or_else(|| self.files.clone());
        let mut cut = false;
        if let Some(span) = d.span {
            let end = span.end.max(span.start);
            let (start, end) = match files.get(span.file).ok().map(|f| f.source().clone()) {
                Some(text) => match cut_long_line(&text, span.start, end) {
                    Some((short, start, end)) => {
                        cut = true;
                        files = replace_file(&files, span.file, short);
                        (start, end)
                    }
                    None => (span.start, end),
                },
                None => (span.start, end),
            };
            cs = cs.with_labels(vec![Label::primary(span.file, start..end)]);
        }
        let notes: Vec<String> =
            d.reason.iter().map(|r| format!("why: {r}")).chain(d.hint.iter().map(|h| format!("help: {h}"))).collect();
        cs = cs.with_notes(notes);
        let config = Config { chars: term::Chars::ascii(), ..Config::default() };
        let rendered = if color {
            let mut buf = term::termcolor::Buffer::ansi();
            term::emit_to_write_style(&mut buf, &config, &files, &cs)
                .map(|_| String::from_utf8_lossy(buf.as_slice()).into_owned())
        } else {
            term::emit_into_string(&config, &files, &cs)
        };
        // The snippet of a cut line has other columns: the location names the real one.
        let rendered = match (cut, d.span, rendered) {
            (true, Some(span), Ok(text)) => Ok(real_location(&text, &self.location(span))),
            (_, _, r) => r,
        };
        // A span outside its file would be a bug in redisctl; still show the message.
        rendered.unwrap_or_else(|_| format!("{}[{}]: {}\n", severity_word(d.severity), d.code, d.message))
    }
}

/// How much of a long source line a snippet shows around the span (bytes on each side).
const CONTEXT: usize = 60;
/// Lines longer than this are cut in snippets: a 1 MB value must not print a 2 MB error.
const LONG_LINE: usize = 240;

/// `text` with the line holding `start` cut to the span (at most `LONG_LINE` bytes of it) and
/// `CONTEXT` bytes around it, marked `...`; the span's new offsets. `None` when the line is short.
fn cut_long_line(text: &str, start: usize, end: usize) -> Option<(String, usize, usize)> {
    let start = start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    if line_end - line_start <= LONG_LINE {
        return None;
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let end = floor(end.clamp(start, line_end).min(start + LONG_LINE));
    let from = floor(start.saturating_sub(CONTEXT).max(line_start));
    let to = floor((end + CONTEXT).min(line_end));
    let lead = if from > line_start { "..." } else { "" };
    let tail = if to < line_end { "..." } else { "" };
    let short = format!("{}{lead}{}{tail}{}", &text[..line_start], &text[from..to], &text[line_end..]);
    let new_start = line_start + lead.len() + (start - from);
    Some((short, new_start, new_start + (end - start)))
}

fn replace_file(files: &SimpleFiles<String, String>, id: usize, text: String) -> SimpleFiles<String, String> {
    let mut out = SimpleFiles::new();
    let mut i = 0;
    while let Ok(f) = files.get(i) {
        out.add(f.name().clone(), if i == id { text.clone() } else { f.source().clone() });
        i += 1;
    }
    out
}

/// Put `location` into the (first) ` --> ` line of a rendered diagnostic.
fn real_location(rendered: &str, location: &str) -> String {
    let mut done = false;
    let lines = rendered.split('\n').map(|l| match l.find("--> ") {
        Some(at) if !done && l[..at].trim().is_empty() => {
            done = true;
            format!("{}--> {location}", &l[..at])
        }
        _ => l.to_string(),
    });
    lines.collect::<Vec<_>>().join("\n")
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The outcome of checking something that can fail in many places at once.
pub type Diagnostics = Vec<Diagnostic>;

pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_line_is_cut_around_the_span_and_keeps_its_real_location() {
        let mut sources = Sources::default();
        let value = "x".repeat(1_000_000);
        let text = format!("a: 1\nbig: {value}BAD{value}\n");
        let file = sources.add("f.yaml".into(), text.clone());
        let at = text.find("BAD").unwrap();
        let d = Diagnostic::error("RCTL001", "bad").at(Some(Span { file, start: at, end: at + 3 }));
        let shown = sources.render(&d, false);
        assert!(shown.len() < 2_000, "{} bytes", shown.len());
        assert!(shown.contains(&format!("--> f.yaml:2:{}", 6 + value.len())), "{shown}");
        assert!(shown.contains("...") && shown.contains("BAD"), "{shown}");
        let short = Diagnostic::error("RCTL001", "bad").at(Some(Span { file, start: 0, end: 1 }));
        assert!(sources.render(&short, false).contains("--> f.yaml:1:1"));
    }

    use super::*;

    #[test]
    fn masked_ranges_never_reach_a_snippet() {
        let mut sources = Sources::default();
        let text = "users:\n  - password: Hunter2-Secret\n";
        let file = sources.add("c.yaml".into(), text.into());
        let start = text.find("Hunter2").unwrap();
        let span = Span { file, start, end: start + "Hunter2-Secret".len() };
        sources.mask(span);
        let out = sources.render(&Diagnostic::error("RCTL010", "inline password").at(Some(span)), false);
        assert!(!out.contains("Hunter2"), "{out}");
        assert!(out.contains("c.yaml:2:15") && out.contains("password: **************"), "{out}");
    }
}
