//! redis.conf-family text files (redis.conf, sentinel.conf, ACL files) from minijinja templates.
//!
//! Escaping is by construction: the environment's formatter passes every `{{ value }}`
//! through `quote`, the one function that knows redis.conf's quoting rules, so no template
//! can print a raw value. Undefined variables are errors, not empty strings.

use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

/// Templates shipped in the binary; `--templates DIR` may override any of them by file name.
const EMBEDDED: &[(&str, &str)] = &[
    ("redis.conf.j2", include_str!("../../templates/redis.conf.j2")),
    ("sentinel.conf.j2", include_str!("../../templates/sentinel.conf.j2")),
    ("users.acl.j2", include_str!("../../templates/users.acl.j2")),
    ("redis-node.service.j2", include_str!("../../templates/redis-node.service.j2")),
    ("redis-sentinel.service.j2", include_str!("../../templates/redis-sentinel.service.j2")),
    ("disable-thp.service.j2", include_str!("../../templates/disable-thp.service.j2")),
    ("sysctl.conf.j2", include_str!("../../templates/sysctl.conf.j2")),
    ("redis-exporter.service.j2", include_str!("../../templates/redis-exporter.service.j2")),
];

/// Quote one argument for redis.conf / sentinel.conf (Redis splits lines with `sdssplitargs`).
/// Plain words stay as they are; anything else is double-quoted with `\"`, `\\` and `\xHH`
/// escapes, so a value can never end the line or open a second argument.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(crate::util::text::conf_plain);
    if plain {
        return arg.to_string();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Shell functions for the scripts that write a secret into a Redis config include at start
/// (the containers' `start.sh`, systemd's `auth.sh`), so that no password is ever in a
/// process's arguments: `one_line VALUE` refuses a line break (it would end the directive),
/// `conf_quote VALUE` prints the value as `quote` does (double quotes, `\` and `"` escaped),
/// `sentinel_word VALUE` refuses what Sentinel's own config rewrite cannot write back (it
/// prints `auth-pass` unquoted). `sed` reads the value from a pipe, not from its arguments.
pub const SH_CONF_QUOTE: &str = r#"one_line() { case $1 in *'
'*) echo "a password contains a line break: Redis config values are one line" >&2; exit 65 ;; esac; }
conf_quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }
sentinel_word() { case $1 in *[[:space:]\\\"\']*) echo "the Sentinel password has a space, quote or backslash: Sentinel writes auth-pass unquoted when it rewrites its config, and would not start again" >&2; exit 65 ;; esac; }
"#;

/// `{{ list | args }}`: each item quoted, joined by spaces (one redis.conf line's arguments).
fn args_filter(items: Vec<minijinja::Value>) -> Result<minijinja::Value, Error> {
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        parts.push(match item.as_str() {
            Some(s) => quote(s),
            None if item.kind() == ValueKind::Number => item.to_string(),
            None => return Err(Error::new(ErrorKind::InvalidOperation, "args takes strings and numbers")),
        });
    }
    Ok(minijinja::Value::from_safe_string(parts.join(" ")))
}

/// `{{ text | comment }}`: text for a `#` comment line; refuses anything that could end the line.
fn comment_filter(text: String) -> Result<minijinja::Value, Error> {
    if text.chars().any(char::is_control) {
        return Err(Error::new(ErrorKind::InvalidOperation, "a comment may not contain control characters"));
    }
    Ok(minijinja::Value::from_safe_string(text))
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The embedded templates, each overridable by a file of the same name in `dir`.
    pub fn new(dir: Option<&Path>) -> Result<Templates, String> {
        if let Some(d) = dir {
            if !d.is_dir() {
                return Err(format!("templates directory {} does not exist", d.display()));
            }
        }
        let overrides: Option<PathBuf> = dir.map(Path::to_path_buf);
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| e.to_string())?;
        env.set_syntax(syntax);
        env.add_filter("args", args_filter);
        env.add_filter("comment", comment_filter);
        env.set_formatter(|out, _state, value| {
            // Safe values come only from the `args` and `comment` filters, which quote or check.
            if value.is_safe() {
                return out
                    .write_str(value.as_str().unwrap_or_default())
                    .map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"));
            }
            let text = match value.kind() {
                ValueKind::Undefined | ValueKind::None => {
                    return Err(Error::new(ErrorKind::UndefinedError, "a template printed an undefined or empty value"))
                }
                ValueKind::Bool => if value.is_true() { "yes" } else { "no" }.to_string(),
                ValueKind::Number => value.to_string(),
                ValueKind::String => quote(value.as_str().unwrap_or_default()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "templates may only print strings, numbers and booleans",
                    ))
                }
            };
            out.write_str(&text).map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
        });
        env.set_loader(move |name| {
            if let Some(dir) = &overrides {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        Error::new(ErrorKind::InvalidOperation, format!("cannot read template {}: {e}", path.display()))
                    });
                }
            }
            Ok(EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, text)| text.to_string()))
        });
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| format!("template {name}: {e:#}"))?;
        let text = template.render(minijinja::value::Serde(ctx)).map_err(|e| format!("template {name}: {e:#}"))?;
        // Belt and braces: whatever a custom template does, the file holds no control characters.
        if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
            return Err(format!("template {name} produced the control character {c:?}"));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_keeps_words_and_escapes_the_rest() {
        assert_eq!(quote("allkeys-lru"), "allkeys-lru");
        assert_eq!(quote("512mb"), "512mb");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("x\ny"), "\"x\\x0ay\"");
        assert_eq!(quote("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("back\\slash"), "\"back\\\\slash\"");
    }

    #[test]
    fn printing_an_undefined_value_is_an_error() {
        let t = Templates::new(None).unwrap();
        let ctx = serde_json::json!({"sources": ["a"], "service": "s", "env": "e", "bind": ["x"], "sentinel": {"name": "s0"}});
        let e = t.render("sentinel.conf.j2", &ctx).unwrap_err();
        assert!(e.contains("undefined"), "{e}");
    }

    #[test]
    fn undefined_values_are_errors() {
        let t = Templates::new(None).unwrap();
        let e = t.render("users.acl.j2", &serde_json::json!({"users": [{"name": "a"}]})).unwrap_err();
        assert!(e.contains("undefined") || e.contains("not iterable"), "{e}");
    }
}
