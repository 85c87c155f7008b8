//! Where the CLI writes: stdout and stderr with the token removed should it ever appear, and
//! each kind of failure in the one shape `render` gives it.

use super::render;
use crate::{ApiToken, CallError, PluginError};
use serde_json::Value;
use std::io::Write as _;

/// How the process ends: 0 all well, 1 a failure found or returned, 2 a usage error.
pub enum Outcome {
    Success,
    Failure,
    Usage,
}

/// Stderr with the token replaced; each log event arrives in one write.
#[derive(Clone)]
pub struct RedactingStderr(pub Option<ApiToken>);

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let text = match &self.0 {
            Some(token) => token.redact(&text),
            None => text.into_owned(),
        };
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The flag that lifts the limit a call ran into, by the call error's kind.
fn flag_hint(kind: &str) -> Option<&'static str> {
    match kind {
        "timeout" => {
            Some("Raise --timeout (seconds), or ask for less: a shorter range, a smaller limit.")
        }
        "cpu-limit" => Some("Raise --cpu-seconds, or ask for less."),
        "memory-limit" => Some("Raise --memory-mib, or ask for less."),
        "result-too-large" => {
            Some("Raise --max-result-mib, or ask for less (a smaller max_bytes, limit or range).")
        }
        _ => None,
    }
}

/// Prints to stdout, with the token removed should it ever appear.
pub struct Printer {
    pub token: Option<ApiToken>,
    pub json: bool,
}

impl Printer {
    fn redact(&self, text: &str) -> String {
        self.token
            .as_ref()
            .map_or_else(|| text.to_string(), |t| t.redact(text))
    }

    pub fn out(&self, text: &str) {
        let text = self.redact(text);
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", text.trim_end());
    }

    pub fn err(&self, text: &str) {
        eprintln!("{}", self.redact(text).trim_end());
    }

    pub fn json_value(&self, value: &Value) {
        self.out(&serde_json::to_string_pretty(value).unwrap_or_default());
    }

    /// JSON with `--json`, else the readable text.
    pub fn show(&self, json: impl FnOnce() -> Value, readable: impl FnOnce() -> String) {
        if self.json {
            self.json_value(&json());
        } else {
            self.out(&readable());
        }
    }

    /// A failure of the host itself (load, instantiate, trap, timeout): JSON on stdout with
    /// `--json`, text on stderr otherwise. `usage` exits 2, the rest 1.
    pub fn host_error(&self, kind: &str, message: &str) -> Outcome {
        let hint = flag_hint(kind);
        if self.json {
            self.json_value(&render::host_error_json(kind, message, hint));
        } else {
            self.err(&render::failure_text(kind, message, hint));
        }
        if kind == "usage" {
            Outcome::Usage
        } else {
            Outcome::Failure
        }
    }

    pub fn call_error(&self, error: &CallError) -> Outcome {
        self.host_error(error.kind(), &error.to_string())
    }

    /// A plugin error; usage errors (bad input, missing connection) exit 2, others 1.
    pub fn plugin_error(&self, error: &PluginError) -> Outcome {
        if self.json {
            self.json_value(&render::error_json(error));
        } else {
            self.err(&render::error_text(error));
        }
        match error {
            PluginError::InvalidInput(_) | PluginError::NotConnected(_) => Outcome::Usage,
            _ => Outcome::Failure,
        }
    }
}
