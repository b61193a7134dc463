//! The JSON Schema of the contract: derived from the Rust types, committed as
//! `schemas/redisctl.schema.json`, and used to validate the merged document before it is
//! deserialized, so that every structural problem is reported with its position and a
//! did-you-mean suggestion.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;

use super::merge::{pointer_escape, SpanIndex};
use crate::diagnostics::Diagnostic;
use crate::model::Contract;
use crate::util::suggest::did_you_mean;

/// The schema as committed in `schemas/redisctl.schema.json`.
pub fn schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Contract)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "https://redisctl.dev/schemas/redisctl.schema.json".into());
        obj.insert(
            "description".into(),
            "A redisctl configuration contract. The base file `redisctl.yaml` is merged with \
             `environments/<env>.yaml`: maps merge, lists replace, `null` removes a key."
                .into(),
        );
    }
    for_editors(&mut schema);
    schema
}

/// What editors (yaml-language-server) need beyond the JSON Schema: hover text as
/// `markdownDescription`, and defaults without `null`s (a `"default": null` makes completion
/// drop the key, and nulls inside a default object end up in its completion snippet).
/// `names`: `value` is a map of property names to schemas, not a schema.
fn for_editors(value: &mut Value) {
    fn walk(value: &mut Value, names: bool) {
        match value {
            Value::Object(map) if names => map.values_mut().for_each(|v| walk(v, false)),
            Value::Object(map) => {
                if map.get("default").is_some_and(Value::is_null) {
                    map.remove("default");
                }
                if let Some(default) = map.get_mut("default") {
                    prune_nulls(default);
                }
                if let Some(Value::String(d)) = map.get("description") {
                    let d = d.clone();
                    map.entry("markdownDescription").or_insert(Value::String(d));
                }
                for (key, v) in map.iter_mut() {
                    walk(v, matches!(key.as_str(), "properties" | "$defs" | "patternProperties"));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, false)),
            _ => {}
        }
    }
    walk(value, false);
}

fn prune_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(prune_nulls);
    }
}

/// The schema of an overlay (`environments/<env>.yaml`): the same properties and checks,
/// nothing required — an overlay holds only what differs; the merged document must satisfy
/// the full schema.
pub fn overlay_schema() -> Value {
    fn drop_required(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("required").is_some_and(Value::is_array) {
                    map.remove("required");
                }
                map.values_mut().for_each(drop_required);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_required),
            _ => {}
        }
    }
    /// Every property may be `null` in an overlay: that removes the key from the base.
    fn nullable_properties(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get_mut("properties") {
                    for prop in props.values_mut() {
                        let mut wrapped = serde_json::Map::new();
                        for doc in ["description", "markdownDescription"] {
                            if let Some(text) = prop.get(doc) {
                                wrapped.insert(doc.into(), text.clone());
                            }
                        }
                        let original = std::mem::take(prop);
                        wrapped.insert("anyOf".into(), serde_json::json!([original, { "type": "null" }]));
                        *prop = Value::Object(wrapped);
                    }
                }
                map.values_mut().for_each(nullable_properties);
            }
            Value::Array(items) => items.iter_mut().for_each(nullable_properties),
            _ => {}
        }
    }
    let mut schema = schema();
    drop_required(&mut schema);
    nullable_properties(&mut schema);
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "https://redisctl.dev/schemas/redisctl.overlay.schema.json".into());
        obj.insert("title".into(), "redisctl environment overlay".into());
        let about = "An environment overlay (`environments/<env>.yaml`): only what differs from `redisctl.yaml`. \
                     Maps merge, lists replace, `null` removes a key; the merged document must satisfy \
                     redisctl.schema.json.";
        obj.insert("description".into(), about.into());
        obj.insert("markdownDescription".into(), about.into());
    }
    schema
}

pub fn overlay_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&overlay_schema()).unwrap_or_default();
    text.push('\n');
    text
}

pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema the loader checks against: the committed file, embedded, which a test keeps
/// equal to the derived one (deriving it at run time cost a tenth of a `validate`).
fn root() -> &'static Value {
    static ROOT: OnceLock<Value> = OnceLock::new();
    ROOT.get_or_init(|| {
        serde_json::from_str(include_str!("../../schemas/redisctl.schema.json"))
            .expect("schemas/redisctl.schema.json is JSON (the schema test compares it with the derived one)")
    })
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(root()).expect("the derived contract schema is a valid JSON Schema")
    })
}

/// Check a merged document against the schema; one diagnostic per problem.
pub fn check(doc: &Value, index: &SpanIndex) -> Vec<Diagnostic> {
    // No fingerprint to compute when the cache is off.
    let print = super::known_valid::enabled().then(|| super::known_valid::fingerprint(doc));
    if print.as_deref().is_some_and(super::known_valid::contains) {
        tracing::debug!("schema check skipped: this document was found valid before (schema cache)");
        return Vec::new();
    }
    let diags = problems(doc, index);
    if let (Some(print), true) = (print, diags.is_empty()) {
        super::known_valid::insert(print);
    }
    diags
}

fn problems(doc: &Value, index: &SpanIndex) -> Vec<Diagnostic> {
    let root = root();
    let mut diags = Vec::new();
    for error in validator().iter_errors(doc) {
        let pointer = error.instance_path().to_string();
        let sensitive = holds_secret(&pointer, error.instance());
        let at = |p: &str| index.value(p);
        let shown = |v: &Value| if sensitive { "(sensitive value)".to_string() } else { short(v) };
        let here = display_path(&pointer);
        let diag = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = allowed_keys(root, &error.evaluation_path().to_string());
                for key in unexpected {
                    let child = format!("{pointer}/{}", pointer_escape(key));
                    let mut d =
                        Diagnostic::error("RCTL011", format!("unknown key `{key}` in {here}")).at(index.key(&child));
                    d = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                        _ if key == "<<" => d.hint(
                            "YAML merge keys (`<<: *anchor`) are not supported: write the keys out here, or put what \
                             environments share in redisctl.yaml (every overlay merges into it)",
                        ),
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None if !allowed.is_empty() => d.hint(format!("allowed keys here: {}", allowed.join(", "))),
                        None => d,
                    };
                    diags.push(d);
                }
                continue;
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                Diagnostic::error("RCTL012", format!("missing required key `{name}` in {here}"))
                    .at(at(&pointer))
                    .hint(format!("add `{name}:` to the base contract or to the environment overlay"))
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
                };
                let mut d = Diagnostic::error(
                    "RCTL010",
                    format!("{here} must be {}, found {}", article(&expected), kind_of(error.instance())),
                )
                .at(at(&pointer));
                if pointer.ends_with("/password") {
                    d = d.hint("inline passwords are not allowed: use `password: { fromEnv: VAR }` or `password: { fromFile: path }`");
                }
                d
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                not_one_of(&here, error.instance(), &options, sensitive).at(at(&pointer))
            }
            ValidationErrorKind::Pattern { pattern } => Diagnostic::error(
                "RCTL014",
                format!("{here}: {} does not have the allowed form `{pattern}`", shown(error.instance())),
            )
            .at(at(&pointer)),
            ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
                Diagnostic::error(
                    "RCTL015",
                    format!("{here}: {} is below the minimum {limit}", shown(error.instance())),
                )
                .at(at(&pointer))
            }
            ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
                Diagnostic::error(
                    "RCTL015",
                    format!("{here}: {} is above the maximum {limit}", shown(error.instance())),
                )
                .at(at(&pointer))
            }
            ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MaxProperties { .. }
                if pointer.ends_with("/password") =>
            {
                Diagnostic::error("RCTL016", format!("{here} needs exactly one source"))
                    .at(at(&pointer))
                    .hint("use either `fromEnv: VAR` or `fromFile: path`")
            }
            // Enums whose variants carry descriptions are `oneOf` lists of `const`s: report them
            // like plain enums, with the allowed values and a did-you-mean.
            ValidationErrorKind::OneOfNotValid { .. }
                if !const_options(root, &error.evaluation_path().to_string()).is_empty() =>
            {
                let options = const_options(root, &error.evaluation_path().to_string());
                not_one_of(&here, error.instance(), &options, sensitive).at(at(&pointer))
            }
            ValidationErrorKind::AnyOf { .. } => {
                let what = description_at(root, &error.evaluation_path().to_string())
                    .unwrap_or_else(|| "a valid value".into());
                let d = Diagnostic::error("RCTL010", format!("{here}: {} is not valid", shown(error.instance())))
                    .at(at(&pointer));
                if sensitive {
                    d.hint("secrets are references, never values: `{ fromEnv: VAR }` or `{ fromFile: path }`")
                } else {
                    d.hint(format!("expected {what}"))
                }
            }
            _ => Diagnostic::error("RCTL010", format!("{here}: {}", error.masked_with("(value)"))).at(at(&pointer)),
        };
        diags.push(diag);
    }
    diags
}

/// Keys whose values are secrets (or references to them).
const SECRET_KEYS: &[&str] = &["password", "previousPassword", "authToken", "previousPasswords"];

/// Whether a value at `pointer` may hold a secret: under a secret key, or holding one.
fn holds_secret(pointer: &str, instance: &Value) -> bool {
    fn inside(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| SECRET_KEYS.contains(&k.as_str()) || inside(v)),
            Value::Array(a) => a.iter().any(inside),
            _ => false,
        }
    }
    pointer.split('/').any(|segment| SECRET_KEYS.contains(&segment)) || inside(instance)
}

/// "`x` is not one of a, b, c", with a did-you-mean when the value is a near miss; a value that
/// may hold a secret is never shown.
fn not_one_of(here: &str, instance: &Value, options: &[String], sensitive: bool) -> Diagnostic {
    if sensitive {
        return Diagnostic::error("RCTL013", format!("{here}: (sensitive value) is not one of {}", options.join(", ")))
            .hint("secrets are references, never values: `{ fromEnv: VAR }` or `{ fromFile: path }`");
    }
    let value = instance.as_str().map(String::from).unwrap_or_else(|| short(instance));
    let d = Diagnostic::error("RCTL013", format!("{here}: `{value}` is not one of {}", options.join(", ")));
    match did_you_mean(&value, options.iter().map(String::as_str)) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d,
    }
}

/// `/redis/config/maxmemory` → "`redis.config.maxmemory`"; the root is "the contract".
pub fn display_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the contract".into();
    }
    let dotted: Vec<String> = pointer[1..].split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
    format!("`{}`", dotted.join("."))
}

fn article(t: &str) -> String {
    match t {
        "object" => "a map".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        other => format!("a {other}"),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// The schema object an evaluation path (`/properties/redis/$ref/additionalProperties`) ends in,
/// minus its last keyword, following `$ref`s from the root.
fn schema_at<'a>(root: &'a Value, evaluation_path: &str) -> Option<&'a Value> {
    let segments: Vec<&str> = evaluation_path.split('/').skip(1).collect();
    let mut node = root;
    for seg in &segments[..segments.len().saturating_sub(1)] {
        node = if *seg == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix("#")?;
            root.pointer(target)?
        } else {
            node.get(seg.replace("~1", "/").replace("~0", "~"))?
        };
    }
    if let Some(target) = node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        node = root.pointer(target)?;
    }
    Some(node)
}

/// The string constants of a `oneOf` made only of `const` alternatives (an enum with
/// documented variants); empty for any other schema.
fn const_options(root: &Value, evaluation_path: &str) -> Vec<String> {
    let alternatives = schema_at(root, evaluation_path).and_then(|s| s.get("oneOf")).and_then(Value::as_array);
    let Some(alternatives) = alternatives else { return Vec::new() };
    let options: Vec<String> = alternatives.iter().filter_map(|a| a.get("const")?.as_str().map(String::from)).collect();
    if options.len() == alternatives.len() {
        options
    } else {
        Vec::new()
    }
}

fn allowed_keys(root: &Value, evaluation_path: &str) -> Vec<String> {
    schema_at(root, evaluation_path)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn description_at(root: &Value, evaluation_path: &str) -> Option<String> {
    let node = schema_at(root, evaluation_path)?;
    // An optional value (`anyOf: [{$ref: Size}, {type: null}]`): what is expected is described
    // by the referenced type ("a memory size: ..."), not by the field ("Redis `maxmemory` per node").
    let referenced = node
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|alts| alts.iter().find_map(|a| a.get("$ref")?.as_str()?.strip_prefix('#')))
        .and_then(|target| root.pointer(target)?.get("description")?.as_str());
    let desc = referenced.or_else(|| node.get("description")?.as_str())?;
    let first = desc.split(". ").next().unwrap_or(desc).trim_end_matches('.');
    // "A memory size" → "a memory size", but "Redis ..." stays capitalised.
    Some(match first.split_once(' ') {
        Some(("A" | "An" | "The", rest)) => {
            format!("{} {rest}", first.split(' ').next().unwrap_or_default().to_lowercase())
        }
        _ => first.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_matches_the_types() {
        let committed = include_str!("../../schemas/redisctl.schema.json");
        assert!(
            committed == super::schema_text(),
            "schemas/redisctl.schema.json is stale: run `cargo run -- schema > schemas/redisctl.schema.json`"
        );
    }
}
