//! Editors, for real (#16 item 2): yaml-language-server (npm, installed by
//! scripts/install-test-peers.sh into .node-peers/) driven over the Language Server Protocol
//! on the repository's own files. Overlays show no false diagnostic (they name the overlay
//! schema), a typo in an overlay does show one, completion at the top level of an overlay offers
//! every top-level key, and hovering a key shows the schema's text.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{repo_root, KillOnDrop};

struct Server {
    _child: KillOnDrop,
    input: ChildStdin,
    messages: Receiver<Value>,
    next_id: u64,
}

fn send(input: &mut ChildStdin, msg: &Value) {
    let body = msg.to_string();
    write!(input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    input.flush().unwrap();
}

impl Server {
    fn start() -> Server {
        let bin = repo_root().join(".node-peers/node_modules/.bin/yaml-language-server");
        assert!(bin.exists(), "{} is missing: run scripts/install-test-peers.sh", bin.display());
        let mut child = Command::new(bin)
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if output.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if output.read_exact(&mut body).is_err() {
                return;
            }
            if let Ok(msg) = serde_json::from_slice(&body) {
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut server = Server { _child: KillOnDrop(child), input, messages, next_id: 1 };
        let root = format!("file://{}", repo_root().display());
        server.request(
            "initialize",
            json!({ "processId": null, "rootUri": root, "capabilities": {
                "textDocument": { "completion": { "completionItem": { "snippetSupport": true } },
                                  "hover": { "contentFormat": ["markdown", "plaintext"] },
                                  "publishDiagnostics": {} },
                "workspace": { "configuration": true } } }),
        );
        server.notify("initialized", json!({}));
        server.notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": { "yaml": { "validate": true, "hover": true, "completion": true } } }),
        );
        server
    }

    fn notify(&mut self, method: &str, params: Value) {
        send(&mut self.input, &json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Wait for a message `want` accepts, answering the server's own requests meanwhile
    /// (`workspace/configuration` with the settings above, anything else with null).
    fn wait(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.messages.recv_timeout(left).unwrap_or_else(|_| panic!("no {what} within 30 s"));
            if let (Some(id), Some(method)) = (msg.get("id"), msg["method"].as_str()) {
                let result = match method {
                    "workspace/configuration" => {
                        let n = msg["params"]["items"].as_array().map_or(1, Vec::len);
                        json!(vec![json!({ "validate": true, "hover": true, "completion": true }); n])
                    }
                    _ => Value::Null,
                };
                send(&mut self.input, &json!({ "jsonrpc": "2.0", "id": id, "result": result }));
                continue;
            }
            if want(&msg) {
                return msg;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        send(&mut self.input, &json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait(method, |m| m["id"] == id && m.get("method").is_none())["result"].clone()
    }

    /// Open `rel` (under the repository root) with `text`; the diagnostics the server publishes.
    fn open(&mut self, rel: &str, text: &str) -> Vec<String> {
        let uri = format!("file://{}", repo_root().join(rel).display());
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
        );
        let msg = self.wait("diagnostics", |m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri.as_str()
        });
        msg["params"]["diagnostics"].as_array().unwrap().iter().map(|d| d["message"].to_string()).collect()
    }
}

#[test]
fn yaml_language_server_checks_completes_and_explains_the_repositorys_files() {
    let mut server = Server::start();
    for rel in ["redisctl.yaml", "environments/local.yaml", "environments/staging.yaml", "environments/production.yaml"]
    {
        let text = std::fs::read_to_string(repo_root().join(rel)).unwrap();
        let diags = server.open(rel, &text);
        assert!(diags.is_empty(), "{rel}: {diags:?}");
    }

    // A typo in an overlay is still flagged (in a buffer of its own, next to the real files).
    let typo = "# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\ntopolgy:\n  mode: cluster\n";
    let diags = server.open("environments/editor-typo.yaml", typo);
    assert!(diags.iter().any(|d| d.contains("topolgy")), "{diags:?}");

    // Completion at the top level of an empty overlay: every top-level key of the contract.
    let empty = "# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\n\n";
    server.open("environments/editor-empty.yaml", empty);
    let uri = format!("file://{}", repo_root().join("environments/editor-empty.yaml").display());
    let completion = server.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 0 } }),
    );
    let items = completion["items"].as_array().or(completion.as_array()).cloned().unwrap_or_default();
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schemas/redisctl.overlay.schema.json")).unwrap(),
    )
    .unwrap();
    let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let missing: Vec<&&String> = keys.iter().filter(|k| !labels.contains(&k.as_str())).collect();
    assert!(missing.is_empty(), "completion lacks {missing:?}; offered {labels:?}");

    // Hover over `target:` in the local overlay: the schema's text.
    let local = format!("file://{}", repo_root().join("environments/local.yaml").display());
    let text = std::fs::read_to_string(repo_root().join("environments/local.yaml")).unwrap();
    let line = text.lines().position(|l| l.starts_with("target:")).unwrap();
    let hover = server.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": local }, "position": { "line": line, "character": 2 } }),
    );
    // yaml-language-server shows the key's documentation, or that of the value it matched
    // (`process`, one of `target`'s documented values): text from the schema either way.
    let shown = hover["contents"].to_string();
    assert!(
        shown.contains("Where the environment runs") || shown.contains("Local redis-server processes"),
        "{hover:#}"
    );
}
