//! `--audit-log PATH`: one JSON line per plugin call (the function and its arguments, token-like
//! values redacted, the outcome and duration) followed by one line per outbound request the call
//! made (method, host, path, query, status, bytes, duration, the policy decision). Never the
//! token, never an `Authorization` value: the records hold neither, and every line also passes
//! through the token's redaction before it is written.
//!
//! The log belongs to the [`SandboxConfig`](crate::sandbox::SandboxConfig): every instance made from it
//! (a CLI run, an MCP session and the fresh instances it makes after a failure) writes to it.
//! Instances write it, so it lives in the sandbox layer, not in `audit` (which only reads
//! components and sits above the sandbox).

use crate::credentials::ApiToken;
use crate::outbound::OutboundRecord;
use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Argument names whose values are never logged, whatever they hold.
const SECRET_NAMES: &[&str] = &[
    "token",
    "api_token",
    "authorization",
    "password",
    "secret",
    "api_key",
    "key",
];

/// An append-only JSON-lines file.
pub struct AuditLog {
    file: Mutex<File>,
    token: Option<ApiToken>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Opens (creating or appending to) the log; the file is private to the user.
    pub fn open(path: &Path, token: Option<ApiToken>) -> std::io::Result<AuditLog> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        Ok(AuditLog {
            file: Mutex::new(options.open(path)?),
            token,
        })
    }

    /// Writes one call (its arguments redacted here) and the requests it made. A failed write
    /// is logged on stderr and does not fail the call.
    pub fn record_call(
        &self,
        function: &str,
        arguments: &Value,
        outcome: &str,
        duration: Duration,
        requests: &[OutboundRecord],
    ) {
        let arguments = redact_value(arguments, None);
        let mut lines = vec![json!({
            "type": "call",
            "time": unix_seconds(),
            "function": function,
            "arguments": arguments,
            "outcome": outcome,
            "duration_ms": duration.as_millis() as u64,
            "requests": requests.len(),
        })];
        lines.extend(requests.iter().map(|record| {
            let mut line = serde_json::to_value(record).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut line {
                map.insert("type".into(), json!("request"));
                map.insert("function".into(), json!(function));
            }
            line
        }));
        let mut text = String::new();
        for line in lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        if let Some(token) = &self.token {
            text = token.redact(&text);
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
            tracing::error!(%error, "cannot write the audit log");
        }
    }
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

/// A copy of the arguments with secrets replaced: values under secret-like names, and in every
/// string the words that look like API tokens (see [`redact_words`]).
pub fn redact_value(value: &Value, name: Option<&str>) -> Value {
    if name.is_some_and(is_secret_name) {
        return json!("[REDACTED]");
    }
    match value {
        Value::String(s) => Value::String(redact_words(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(v, None)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(v, Some(k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.contains(&folded.as_str())
}

/// `text` with each word that looks like an API token replaced by `[REDACTED]`: a word is a
/// run of token alphabet (letters, digits, `_`, `-`) that starts with `cfut_` or `cfat_`, or is
/// 40 characters or longer. Account and zone IDs (32 hex) and ordinary words stay.
pub fn redact_words(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        if word.len() >= 40 || word.starts_with("cfut_") || word.starts_with("cfat_") {
            out.push_str("[REDACTED]");
        } else {
            out.push_str(word);
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let arguments = json!({
            "zone": "example.com",
            "account_id": "01a7362d577a6c3019a474fd6f485823",
            "token": "anything at all",
            "Authorization": "Bearer x",
            "note": "cfut_abc",
            "nested": [{ "value": "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY" }],
            "query": "query { viewer { zones { zoneTag } } }",
        });
        let redacted = redact_value(&arguments, None);
        assert_eq!(redacted["zone"], "example.com");
        assert_eq!(redacted["account_id"], "01a7362d577a6c3019a474fd6f485823");
        assert_eq!(redacted["token"], "[REDACTED]");
        assert_eq!(redacted["Authorization"], "[REDACTED]");
        assert_eq!(redacted["note"], "[REDACTED]");
        assert_eq!(redacted["nested"][0]["value"], "[REDACTED]");
        assert_eq!(redacted["query"], arguments["query"]);
    }

    #[test]
    fn token_like_words_inside_text_are_redacted() {
        let token = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
        assert_eq!(
            redact_words(&format!(
                "ZoneQuery {{ name: Some(\"{token}\"), page: None }}"
            )),
            "ZoneQuery { name: Some(\"[REDACTED]\"), page: None }"
        );
        assert_eq!(redact_words("Bearer cfut_x1"), "Bearer [REDACTED]");
        assert_eq!(
            redact_words("zone 023e105f4ecef8ad9ca31a8372d0c353, example.com"),
            "zone 023e105f4ecef8ad9ca31a8372d0c353, example.com"
        );
        assert_eq!(redact_words("é ü"), "é ü");
    }

    #[test]
    fn the_log_is_private_and_holds_calls_then_their_requests() {
        let path = std::env::temp_dir().join(format!("cf-audit-unit-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let token =
            ApiToken::new("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY", "test").expect("token");
        let log = AuditLog::open(&path, Some(token)).expect("opens");
        log.record_call(
            "call-tool",
            &json!({ "name": "x", "arguments": { "api_token": "t" } }),
            "ok",
            Duration::from_millis(3),
            &[],
        );
        let text = std::fs::read_to_string(&path).expect("written");
        let line: Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["type"], "call");
        assert_eq!(line["function"], "call-tool");
        assert_eq!(line["arguments"]["arguments"]["api_token"], "[REDACTED]");
        assert_eq!(line["requests"], 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_file(&path);
    }
}
