//! Overlay merge and conversion of the spanned tree to JSON.
//!
//! Rules (documented in the README): maps merge key by key, recursively; lists and scalars
//! in the overlay replace the base's; a key set to `null` in the overlay removes it.
//! Every merged node keeps the span of the file it came from, so a diagnostic about a
//! merged value points at the overlay when the overlay set it and at the base otherwise.

use std::collections::HashMap;

use super::yaml::{Key, Node, Value};
use crate::diagnostics::Span;

pub fn merge(base: Node, overlay: Node) -> Node {
    match (base.value, overlay.value) {
        (Value::Map(mut entries), Value::Map(over)) => {
            for (key, value) in over {
                let existing = entries.iter().position(|(k, _)| k.name == key.name);
                match (existing, value.value) {
                    (Some(i), Value::Null) => {
                        entries.remove(i);
                    }
                    (None, Value::Null) => {}
                    (Some(i), v) => {
                        let (_, old) = entries.remove(i);
                        let merged = merge(old, Node { value: v, span: value.span });
                        entries.insert(i, (key, merged));
                    }
                    (None, v) => entries.push((key, Node { value: v, span: value.span })),
                }
            }
            Node { value: Value::Map(entries), span: base.span }
        }
        (_, value) => Node { value, span: overlay.span },
    }
}

/// Where each JSON pointer of the merged document came from.
#[derive(Debug, Default)]
pub struct SpanIndex {
    values: HashMap<String, Span>,
    keys: HashMap<String, Span>,
}

impl SpanIndex {
    /// The span of the value at `pointer`, or of its nearest existing ancestor.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        let mut p = pointer;
        loop {
            if let Some(s) = self.values.get(p) {
                return Some(*s);
            }
            p = &p[..p.rfind('/')?];
        }
    }

    /// The span of the value at `pointer`, only if the document has that value.
    pub fn exact(&self, pointer: &str) -> Option<Span> {
        self.values.get(pointer).copied()
    }

    /// The span of the key naming `pointer` (falls back to the value's span).
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.keys.get(pointer).copied().or_else(|| self.value(pointer))
    }
}

pub fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

pub fn to_json(node: &Node, index: &mut SpanIndex) -> serde_json::Value {
    convert(node, String::new(), index)
}

fn convert(node: &Node, pointer: String, index: &mut SpanIndex) -> serde_json::Value {
    let value = match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => {
            items.iter().enumerate().map(|(i, item)| convert(item, format!("{pointer}/{i}"), index)).collect()
        }
        Value::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (Key { name, span }, value) in entries {
                let child = format!("{pointer}/{}", pointer_escape(name));
                index.keys.insert(child.clone(), *span);
                map.insert(name.clone(), convert(value, child, index));
            }
            serde_json::Value::Object(map)
        }
    };
    index.values.insert(pointer, node.span);
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::yaml::parse;

    #[test]
    fn maps_merge_lists_replace_null_removes() {
        let base = parse("a: {x: 1, y: 2}\nl: [1, 2]\ngone: 1\n", 0).unwrap();
        let over = parse("a: {y: 3, z: 4}\nl: [9]\ngone: null\n", 1).unwrap();
        let mut index = SpanIndex::default();
        let json = to_json(&merge(base, over), &mut index);
        assert_eq!(json, serde_json::json!({"a": {"x": 1, "y": 3, "z": 4}, "l": [9]}));
        assert_eq!(index.value("/a/x").unwrap().file, 0);
        assert_eq!(index.value("/a/y").unwrap().file, 1);
        assert_eq!(index.value("/l/0").unwrap().file, 1);
        assert_eq!(index.value("/a/missing").unwrap().file, 0);
    }
}
