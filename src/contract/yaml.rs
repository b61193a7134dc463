//! YAML with source positions.
//!
//! Contracts are parsed from saphyr-parser's event stream into a small tree whose every node
//! and key remembers its span, so later stages (schema, semantic rules) can point at the
//! exact `file:line:column`. Building the tree ourselves also lets us refuse what a config
//! file never needs and an attacker loves: duplicate keys (the last one silently winning),
//! alias bombs (a node budget bounds alias expansion), deep nesting, custom tags and
//! multi-document streams.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan, StrInput};

use crate::diagnostics::{Diagnostic, Span};

/// Largest contract file we read. Real contracts are a few KiB; anything near this is a mistake.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Nodes one file may expand to, aliases included: bounds "billion laughs" documents.
const MAX_NODES: usize = 100_000;
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

/// Parse one YAML document whose root must be a map. Errors come back as diagnostics that
/// point into `file`; duplicate keys are all reported, a syntax error stops the parse.
pub fn parse(text: &str, file: usize) -> Result<Node, Vec<Diagnostic>> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        file,
        offsets: CharOffsets::new(text),
        text,
        text_len: text.len(),
        anchors: HashMap::new(),
        nodes: 0,
        diags: Vec::new(),
    };
    match builder.document() {
        Ok(node) if builder.diags.is_empty() => Ok(node),
        Ok(_) => Err(builder.diags),
        Err(d) => {
            builder.diags.push(*d);
            Err(builder.diags)
        }
    }
}

/// saphyr reports positions in characters; diagnostics need byte offsets.
struct CharOffsets {
    /// Byte offset of each character; `None` for ASCII text where the two are equal.
    table: Option<Vec<usize>>,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect());
        CharOffsets { table }
    }
    fn byte(&self, char_index: usize, len: usize) -> usize {
        match &self.table {
            None => char_index.min(len),
            Some(t) => t.get(char_index).copied().unwrap_or(len),
        }
    }
}

type Step<T> = Result<T, Box<Diagnostic>>;

struct Builder<'a> {
    parser: Parser<'a, StrInput<'a>>,
    file: usize,
    offsets: CharOffsets,
    text: &'a str,
    text_len: usize,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    diags: Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    fn span(&self, s: YamlSpan) -> Span {
        let start = self.offsets.byte(s.start.index(), self.text_len);
        let end = self.offsets.byte(s.end.index(), self.text_len).max(start);
        Span { file: self.file, start, end }
    }

    fn scan_error(&self, e: ScanError) -> Box<Diagnostic> {
        let marker = self.offsets.byte(e.marker().index(), self.text_len);
        let tab = tab_before(self.text, marker);
        let start = tab.unwrap_or(marker);
        let span = Span { file: self.file, start, end: start };
        let mut d = Diagnostic::error("RCTL001", format!("invalid YAML: {}", e.info())).at(Some(span));
        let says_tab = e.info().split(|c: char| !c.is_ascii_alphabetic()).any(|w| w == "tab" || w == "tabs");
        let unprintable = self.text[marker..].chars().next().filter(|c| c.is_control() && !"\t\n\r".contains(*c));
        if let Some(c) = unprintable {
            let what =
                if c == '\0' { "a NUL byte".to_string() } else { format!("the control character U+{:04X}", c as u32) };
            d = d.hint(format!(
                "the file holds {what} here (binary data, or a bad copy and paste); YAML files are text: remove it"
            ));
        } else if tab.is_some() || says_tab {
            d = d.hint("YAML does not allow tabs here (indentation must be spaces); replace the tab with spaces");
        }
        Box::new(d)
    }

    fn next(&mut self) -> Step<(Event<'a>, Span)> {
        match self.parser.next_event() {
            Some(Ok((ev, span))) => {
                let span = self.span(span);
                Ok((ev, span))
            }
            Some(Err(e)) => Err(self.scan_error(e)),
            None => Err(Box::new(Diagnostic::error("RCTL001", "invalid YAML: unexpected end of input"))),
        }
    }

    fn document(&mut self) -> Step<Node> {
        let file_start = Span { file: self.file, start: 0, end: 0 };
        loop {
            match self.next()? {
                (Event::StreamStart, _) => continue,
                (Event::StreamEnd, _) => {
                    return Err(Box::new(
                        Diagnostic::error("RCTL004", "the file is empty")
                            .at(Some(file_start))
                            .hint("a contract file must be a YAML map; write `{}` for an overlay that changes nothing"),
                    ))
                }
                (Event::DocumentStart(_), _) => break,
                (_, span) => {
                    return Err(Box::new(
                        Diagnostic::error("RCTL001", "invalid YAML: expected a document").at(Some(span)),
                    ))
                }
            }
        }
        let (ev, span) = self.next()?;
        let root = self.node(ev, span, 0)?;
        match self.next()? {
            (Event::DocumentEnd, _) => {}
            (_, span) => {
                return Err(Box::new(
                    Diagnostic::error("RCTL001", "invalid YAML: expected the end of the document").at(Some(span)),
                ))
            }
        }
        match self.next()? {
            (Event::StreamEnd, _) => {}
            (_, span) => {
                return Err(Box::new(
                    Diagnostic::error("RCTL001", "a contract file holds exactly one YAML document")
                        .at(Some(span))
                        .hint("remove the `---` separator and the second document"),
                ))
            }
        }
        if !matches!(root.value, Value::Map(_)) {
            return Err(Box::new(
                Diagnostic::error("RCTL010", format!("the top level must be a map, found a {}", root.kind()))
                    .at(Some(root.span))
                    .hint("start the file with keys such as `apiVersion: redisctl/v1`"),
            ));
        }
        Ok(root)
    }

    fn count(&mut self, n: usize, span: Span) -> Step<()> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(Box::new(
                Diagnostic::error("RCTL003", format!("the document expands to more than {MAX_NODES} nodes"))
                    .at(Some(span))
                    .hint("this looks like an alias bomb (\"billion laughs\"); write the values out instead of nesting aliases"),
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, span: Span, depth: usize) -> Step<Node> {
        if depth > MAX_DEPTH {
            return Err(Box::new(
                Diagnostic::error("RCTL003", format!("nesting deeper than {MAX_DEPTH} levels")).at(Some(span)),
            ));
        }
        self.count(1, span)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let force_string = match tag {
                    None => false,
                    Some(t) if t.is_yaml_core_schema() && t.suffix == "str" => true,
                    Some(t) => {
                        return Err(Box::new(
                            Diagnostic::error(
                                "RCTL001",
                                format!("YAML tag `{}{}` is not supported", t.handle, t.suffix),
                            )
                            .at(Some(span))
                            .hint("remove the tag; quote the value if it must be a string"),
                        ))
                    }
                };
                let value = if style == ScalarStyle::Plain && !force_string {
                    plain_scalar(&text).map_err(|msg| Box::new(Diagnostic::error("RCTL010", msg).at(Some(span))))?
                } else {
                    Value::String(text.into_owned())
                };
                (Node { value, span }, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                self.reject_tag(tag.as_deref(), span)?;
                let mut items = Vec::new();
                let end = loop {
                    let (ev, s) = self.next()?;
                    if let Event::SequenceEnd = ev {
                        break s;
                    }
                    items.push(self.node(ev, s, depth + 1)?);
                };
                (Node { value: Value::Seq(items), span: join(span, end) }, anchor)
            }
            Event::MappingStart(anchor, tag) => {
                self.reject_tag(tag.as_deref(), span)?;
                let mut entries: Vec<(Key, Node)> = Vec::new();
                let end = loop {
                    let (ev, s) = self.next()?;
                    if let Event::MappingEnd = ev {
                        break s;
                    }
                    let key = self.key(ev, s)?;
                    let (ev, s) = self.next()?;
                    let value = self.node(ev, s, depth + 1)?;
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                        let line = self.text[..first.span.start].matches('\n').count() + 1;
                        self.diags.push(
                            Diagnostic::error("RCTL002", format!("duplicate key `{}`", key.name))
                                .at(Some(key.span))
                                .hint(format!("`{}` is already set on line {line}; keep one of them", key.name)),
                        );
                        continue;
                    }
                    entries.push((key, value));
                };
                (Node { value: Value::Map(entries), span: join(span, end) }, anchor)
            }
            Event::Alias(id) => {
                let target = self.anchors.get(&id).cloned().ok_or_else(|| {
                    Box::new(Diagnostic::error("RCTL001", "invalid YAML: alias to an unknown anchor").at(Some(span)))
                })?;
                self.count(size(&target), span)?;
                (Node { value: target.value, span }, 0)
            }
            _ => return Err(Box::new(Diagnostic::error("RCTL001", "invalid YAML: unexpected token").at(Some(span)))),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn key(&mut self, ev: Event<'a>, span: Span) -> Step<Key> {
        match ev {
            Event::Scalar(text, _, _, _) if !text.is_empty() => Ok(Key { name: text.into_owned(), span }),
            _ => Err(Box::new(
                Diagnostic::error("RCTL001", "map keys must be non-empty plain strings")
                    .at(Some(span))
                    .hint("contract keys are names such as `maxmemory`; complex or empty keys are not supported"),
            )),
        }
    }

    fn reject_tag(&self, tag: Option<&saphyr_parser::Tag>, span: Span) -> Step<()> {
        match tag {
            Some(t) => Err(Box::new(
                Diagnostic::error("RCTL001", format!("YAML tag `{}{}` is not supported", t.handle, t.suffix))
                    .at(Some(span)),
            )),
            None => Ok(()),
        }
    }
}

/// The tab a YAML error on this line is most likely about: the first tab of the line's
/// indentation, or a tab right before the error position. The parser reports the position
/// where it gave up, which is often just after the tab (or on a later token of the line).
fn tab_before(text: &str, offset: usize) -> Option<usize> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    if let Some(i) = indent.find('\t') {
        return Some(line_start + i);
    }
    let before = text[line_start..offset].trim_end_matches('\t');
    (before.len() < offset - line_start).then_some(line_start + before.len())
}

fn join(a: Span, b: Span) -> Span {
    Span { file: a.file, start: a.start, end: b.end.max(a.end) }
}

fn size(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + size(v)).sum(),
        _ => 0,
    }
}

/// The YAML 1.2 core schema for plain scalars: null, booleans, integers, floats, else string.
/// (`yes`/`no` stay strings, which is what redis.conf means by them.)
fn plain_scalar(s: &str) -> Result<Value, String> {
    Ok(match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ if is_int(s) => {
            if let Ok(i) = s.parse::<i64>() {
                Value::Number(i.into())
            } else if let Ok(u) = s.parse::<u64>() {
                Value::Number(u.into())
            } else {
                return Err(format!("integer `{s}` is out of range"));
            }
        }
        _ if is_float(s) => match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => Value::Number(n),
            None => return Err(format!("number `{s}` is out of range")),
        },
        _ => Value::String(s.to_string()),
    })
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(int) && frac.is_none_or(digits) && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Node {
        parse(text, 0).expect("valid yaml")
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let n = map("a: 1\nb: yes\nc: true\nd: '1'\ne: ~\nf: 1.5\ng: 512mb\n");
        assert_eq!(n.get("a").unwrap().value, Value::Number(1.into()));
        assert_eq!(n.get("b").unwrap().value, Value::String("yes".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("d").unwrap().value, Value::String("1".into()));
        assert_eq!(n.get("e").unwrap().value, Value::Null);
        assert!(matches!(n.get("f").unwrap().value, Value::Number(_)));
        assert_eq!(n.get("g").unwrap().value, Value::String("512mb".into()));
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "redis:\n  version: \"7.0\"\n";
        let n = map(text);
        let v = n.get("redis").unwrap().get("version").unwrap();
        assert_eq!(&text[v.span.start..v.span.end], "\"7.0\"");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let errs = parse("a: 1\nb: 2\na: 3\n", 0).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, "RCTL002");
        assert_eq!(errs[0].span.unwrap().start, 10);
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            doc.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let errs = parse(&doc, 0).unwrap_err();
        assert_eq!(errs[0].code, "RCTL003");
    }

    #[test]
    fn empty_and_non_map_documents_are_rejected() {
        assert_eq!(parse("", 0).unwrap_err()[0].code, "RCTL004");
        assert_eq!(parse("# only a comment\n", 0).unwrap_err()[0].code, "RCTL004");
        assert_eq!(parse("- a\n", 0).unwrap_err()[0].code, "RCTL010");
        assert_eq!(parse("a: 1\n---\nb: 2\n", 0).unwrap_err()[0].code, "RCTL001");
    }

    #[test]
    fn tab_errors_point_at_the_tab() {
        for (text, tab) in [("a:\n\tb: 1\n", 3), ("a:\n  b:\n\t- 1\n", 8), ("a:\n\t\tb: 1\n", 3), ("a:\n  b:\t1\n", 7)]
        {
            let errs = parse(text, 0).unwrap_err();
            assert_eq!(errs[0].span.unwrap().start, tab, "{text:?}: {}", errs[0].message);
            assert!(errs[0].hint.as_deref().is_some_and(|h| h.contains("tabs")), "{text:?}");
        }
    }

    #[test]
    fn huge_integers_are_errors_not_floats() {
        assert_eq!(parse("a: 99999999999999999999999\n", 0).unwrap_err()[0].code, "RCTL010");
    }
}
