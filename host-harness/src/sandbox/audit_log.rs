//! `--audit-log PATH`: one JSON line per plugin call (the function and its arguments, token-like
//! values redacted, the outcome and duration) followed by one line per outbound request the call
//! made (method, host, path, query, status, bytes, duration, the policy decision). Never the
//! token, never an `Authorization` value: the records hold neither, and every line also passes
//! through the token's redaction before it is written.
//!
//! The lines form a hash chain: each begins with `"prev"`, the SHA-256 (hex) of the exact bytes
//! of the line before it (without its newline); the first line of a new log has [`ORIGIN`]
//! (64 zeros). Opening an existing log reads its last line to go on with the chain. With a
//! size limit ([`AuditLog::open_with`], `--audit-log-max-mib`) a full PATH is renamed `PATH.1`
//! (older ones shifting to `PATH.2`, `PATH.3`, …; none is ever deleted) and the new PATH's
//! first line names the last line of `PATH.1`, so the chain runs through every file.
//! [`verify`] checks it.
//!
//! The log belongs to the [`SandboxConfig`](crate::sandbox::SandboxConfig): every instance made from it
//! (a CLI run, an MCP session and the fresh instances it makes after a failure) writes to it,
//! and the chain's state sits under the same lock as the file, so they keep one chain.
//! Instances write it, so it lives in the sandbox layer, not in `audit` (which only reads
//! components and sits above the sandbox).

mod verify;

pub use verify::{Break, BreakKind, CheckedFile, VerifyError, VerifyReport, verify};

use crate::credentials::ApiToken;
use crate::outbound::OutboundRecord;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `prev` of the first line of a new log: no line came before it.
pub const ORIGIN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The size past which a log is rotated when no limit is given: none, the file only grows.
pub const DEFAULT_MAX_BYTES: Option<u64> = None;

/// How much of a file's end is read at a time when looking for its last line.
const TAIL_CHUNK: u64 = 64 * 1024;

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

/// An append-only JSON-lines file whose lines are chained by their hashes.
pub struct AuditLog {
    chain: Mutex<Chain>,
    token: Option<ApiToken>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// The file and where the chain stands in it; one lock holds both.
struct Chain {
    path: PathBuf,
    file: File,
    /// The SHA-256 of the last line written (its bytes without the newline), or zeros.
    last: [u8; 32],
    /// The file's length, to decide when to rotate.
    size: u64,
    /// The file ends in a line without its newline: the next write begins with one.
    partial: bool,
    max_bytes: Option<u64>,
    /// A write failed: the file's end is read again before the next one.
    stale: bool,
}

impl AuditLog {
    /// Opens (creating or appending to) the log, without rotation ([`DEFAULT_MAX_BYTES`]); the
    /// file is private to the user.
    pub fn open(path: &Path, token: Option<ApiToken>) -> std::io::Result<AuditLog> {
        AuditLog::open_with(path, token, DEFAULT_MAX_BYTES)
    }

    /// Opens the log, rotating it once the next line would take it past `max_bytes` (`None`:
    /// never). The chain goes on from the file's last line (or, when PATH is empty or missing,
    /// from `PATH.1`'s). One `AuditLog` per file: two writing one file break its chain.
    pub fn open_with(
        path: &Path,
        token: Option<ApiToken>,
        max_bytes: Option<u64>,
    ) -> std::io::Result<AuditLog> {
        Ok(AuditLog {
            chain: Mutex::new(Chain::open(path, max_bytes)?),
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
        // Redacted before `prev` is added: the hash is never touched by the redaction.
        let bodies: Vec<String> = lines
            .iter()
            .map(|line| {
                let text = line.to_string();
                match &self.token {
                    Some(token) => token.redact(&text),
                    None => text,
                }
            })
            .collect();
        let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = chain.append(&bodies) {
            tracing::error!(%error, "cannot write the audit log");
        }
    }
}

impl Chain {
    fn open(path: &Path, max_bytes: Option<u64>) -> std::io::Result<Chain> {
        let file = open_append(path)?;
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            // A pipe or a device (`/dev/stderr`): nothing to read back, nothing to rename.
            return Ok(Chain {
                path: path.to_path_buf(),
                file,
                last: [0; 32],
                size: 0,
                partial: false,
                max_bytes: None,
                stale: false,
            });
        }
        let size = metadata.len();
        let (last, partial) = if size > 0 {
            let tail = last_line(path)?;
            (tail.hash, tail.partial)
        } else {
            // An empty PATH after a rotation goes on from the file rotated last.
            match last_line(&rotated(path, 1)) {
                Ok(tail) => (tail.hash, false),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ([0; 32], false),
                Err(e) => return Err(e),
            }
        };
        Ok(Chain {
            path: path.to_path_buf(),
            file,
            last,
            size,
            partial,
            max_bytes,
            stale: false,
        })
    }

    /// Appends one line per body (a JSON object), each with its `prev`, rotating first when a
    /// line would take the file past the limit.
    fn append(&mut self, bodies: &[String]) -> std::io::Result<()> {
        if self.stale {
            *self = Chain::open(&self.path, self.max_bytes)?;
        }
        let mut buffer = Vec::new();
        if self.partial {
            buffer.push(b'\n');
        }
        for body in bodies {
            let line = chained(&self.last, body);
            let written = self.size + buffer.len() as u64;
            let after = written + line.len() as u64 + 1;
            if self.max_bytes.is_some_and(|max| written > 0 && after > max) {
                self.write(&mut buffer)?;
                if let Err(error) = self.rotate() {
                    tracing::error!(%error, path = %self.path.display(), "cannot rotate the audit log; it goes on growing");
                }
            }
            self.last = Sha256::digest(line.as_bytes()).into();
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        self.write(&mut buffer)
    }

    fn write(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(buffer).and_then(|()| self.file.flush());
        if result.is_err() {
            // Part of it may be on disk: read where the file ends before writing again.
            self.stale = true;
        } else {
            self.size += buffer.len() as u64;
            self.partial = false;
        }
        buffer.clear();
        result
    }

    /// `PATH.N` → `PATH.N+1` for every rotated file, oldest first, `PATH` → `PATH.1`, and a new
    /// `PATH`. Nothing is deleted. The chain's state is untouched: the new file's first line
    /// names the last line of `PATH.1`.
    fn rotate(&mut self) -> std::io::Result<()> {
        let mut newest_free = 1;
        while rotated(&self.path, newest_free).exists() {
            newest_free += 1;
        }
        for n in (1..newest_free).rev() {
            std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1))?;
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        let file = open_append(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = file;
        self.partial = false;
        Ok(())
    }
}

/// The log's file, created private to the user.
fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// `PATH.n`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The line written for `body` (a JSON object) after the line hashed `prev`: `prev` first.
fn chained(prev: &[u8; 32], body: &str) -> String {
    let prev = hex(prev);
    match body.strip_prefix('{') {
        Some(rest) if rest != "}" => format!("{{\"prev\":\"{prev}\",{rest}"),
        _ => format!("{{\"prev\":\"{prev}\",\"record\":{body}}}"),
    }
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's last line: its hash, and whether it lacks its newline.
struct Tail {
    hash: [u8; 32],
    partial: bool,
}

/// Reads back from the end of a non-empty file to the start of its last line, then hashes the
/// line (without its newline). A file ending without a newline has a partial last line, hashed
/// as it is: the next line chains to it, and `verify` reports it as cut short.
fn last_line(path: &Path) -> std::io::Result<Tail> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Tail {
            hash: [0; 32],
            partial: false,
        });
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    let partial = last[0] != b'\n';
    let end = if partial { len } else { len - 1 };
    // The start of the last line: just after the newline before `end`, or the file's start.
    let mut start = 0;
    let mut cursor = end;
    let mut chunk = Vec::new();
    'scan: while cursor > 0 {
        let from = cursor.saturating_sub(TAIL_CHUNK);
        chunk.resize((cursor - from) as usize, 0);
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            start = from + at as u64 + 1;
            break 'scan;
        }
        cursor = from;
    }
    file.seek(SeekFrom::Start(start))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut (&mut file).take(end - start), &mut hasher)?;
    Ok(Tail {
        hash: hasher.finalize().into(),
        partial,
    })
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

    /// A folder of its own for one test.
    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cf-audit-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp folder");
        dir
    }

    fn record(log: &AuditLog, n: usize) {
        for i in 0..n {
            log.record_call(
                "call-tool",
                &json!({ "name": "zones", "arguments": { "page": i } }),
                "ok",
                Duration::from_millis(1),
                &[],
            );
        }
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("readable")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn sha(line: &str) -> String {
        hex(&Sha256::digest(line.as_bytes()))
    }

    fn write_lines(path: &Path, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).expect("written");
    }

    fn broken(files: &[PathBuf]) -> Break {
        let report = verify(files).expect("readable");
        match &report.broken {
            Some(found) => found.clone(),
            None => panic!("no break found: {}", report.to_text()),
        }
    }

    #[test]
    fn each_line_names_the_hash_of_the_line_before_it_from_64_zeros() {
        let dir = folder("chain");
        let path = dir.join("log");
        let log = AuditLog::open(&path, None).expect("opens");
        record(&log, 3);
        let lines = lines(&path);
        assert_eq!(lines.len(), 3);
        let prevs: Vec<String> = lines
            .iter()
            .map(|l| {
                assert!(l.starts_with("{\"prev\":\""), "prev comes first: {l}");
                let value: Value = serde_json::from_str(l).expect("JSON line");
                value["prev"].as_str().expect("prev").to_string()
            })
            .collect();
        assert_eq!(prevs, [ORIGIN.to_string(), sha(&lines[0]), sha(&lines[1])]);
        let report = verify(std::slice::from_ref(&path)).expect("readable");
        assert!(report.ok(), "{}", report.to_text());
        assert_eq!(report.lines, 3);
        assert_eq!(report.begins_chain(), Some(true));
        assert_eq!(report.last_hash.as_deref(), Some(sha(&lines[2]).as_str()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reopening_a_log_goes_on_with_its_chain() {
        let dir = folder("reopen");
        let path = dir.join("log");
        record(&AuditLog::open(&path, None).expect("opens"), 2);
        record(&AuditLog::open(&path, None).expect("opens again"), 2);
        let lines = lines(&path);
        let third: Value = serde_json::from_str(&lines[2]).expect("JSON line");
        assert_eq!(third["prev"], sha(&lines[1]));
        let report = verify(std::slice::from_ref(&path)).expect("readable");
        assert!(report.ok(), "{}", report.to_text());
        assert_eq!(report.lines, 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_log_ending_in_a_partial_line_is_continued_on_a_new_line_and_reported_cut_short() {
        let dir = folder("partial");
        let path = dir.join("log");
        record(&AuditLog::open(&path, None).expect("opens"), 2);
        let mut file = OpenOptions::new().append(true).open(&path).expect("opens");
        file.write_all(b"{\"prev\":\"00").expect("written");
        drop(file);
        record(&AuditLog::open(&path, None).expect("opens again"), 1);
        let lines = lines(&path);
        assert_eq!(lines.len(), 4, "the partial line stays a line of its own");
        let last: Value = serde_json::from_str(&lines[3]).expect("a whole line after it");
        assert_eq!(last["prev"], sha(&lines[2]));
        let found = broken(std::slice::from_ref(&path));
        assert_eq!((found.line, found.kind), (3, BreakKind::Truncated));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_by_size_keeps_one_chain_through_every_file_and_deletes_none() {
        let dir = folder("rotate");
        let path = dir.join("log");
        let log = AuditLog::open_with(&path, None, Some(1_000)).expect("opens");
        record(&log, 9);
        drop(log);
        let mut files: Vec<PathBuf> = (1..)
            .map(|n| rotated(&path, n))
            .take_while(|p| p.exists())
            .collect();
        assert!(
            files.len() >= 2,
            "9 lines of ~230 bytes fill several 1,000-byte files"
        );
        files.reverse();
        files.push(path.clone());
        let mut total = 0;
        for file in &files {
            let size = std::fs::metadata(file).expect("exists").len();
            assert!(size <= 1_000, "{} is {size} bytes", file.display());
            total += lines(file).len();
        }
        assert_eq!(total, 9);
        let first_of_new: Value = serde_json::from_str(&lines(&path)[0]).expect("JSON line");
        let rotated_last = lines(&rotated(&path, 1)).pop().expect("a line");
        assert_eq!(first_of_new["prev"], sha(&rotated_last));
        let report = verify(&files).expect("readable");
        assert!(report.ok(), "{}", report.to_text());
        assert_eq!((report.lines, report.begins_chain()), (9, Some(true)));
        // Reopened with PATH empty (a crash just after a rotation), it goes on from PATH.1.
        std::fs::write(&path, "").expect("emptied");
        record(
            &AuditLog::open_with(&path, None, Some(1_000)).expect("opens"),
            1,
        );
        let first: Value = serde_json::from_str(&lines(&path)[0]).expect("JSON line");
        let before = lines(&rotated(&path, 1)).pop().expect("a line");
        assert_eq!(first["prev"], sha(&before));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instances_sharing_one_log_keep_one_chain_through_rotation() {
        let dir = folder("shared");
        let path = dir.join("log");
        let log =
            std::sync::Arc::new(AuditLog::open_with(&path, None, Some(2_000)).expect("opens"));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || record(&log, 25))
            })
            .collect();
        for writer in writers {
            writer.join().expect("no panic");
        }
        drop(log);
        let mut files: Vec<PathBuf> = (1..)
            .map(|n| rotated(&path, n))
            .take_while(|p| p.exists())
            .collect();
        files.reverse();
        files.push(path.clone());
        let report = verify(&files).expect("readable");
        assert!(report.ok(), "{}", report.to_text());
        assert_eq!(report.lines, 100);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn verify_names_the_line_after_an_edit_a_removal_or_a_swap() {
        let dir = folder("tamper");
        let path = dir.join("log");
        record(&AuditLog::open(&path, None).expect("opens"), 5);
        let original = lines(&path);
        let check = |lines: Vec<String>| {
            write_lines(&path, &lines);
            broken(std::slice::from_ref(&path))
        };

        let mut edited = original.clone();
        edited[1] = edited[1].replace("\"outcome\":\"ok\"", "\"outcome\":\"no\"");
        assert_ne!(edited[1], original[1]);
        let found = check(edited);
        assert_eq!((found.line, found.kind), (3, BreakKind::PrevMismatch));
        assert_eq!(found.previous, Some((path.display().to_string(), 2)));
        assert!(
            found
                .message()
                .contains("line 3: its `prev` does not match line 2")
        );

        let mut removed = original.clone();
        removed.remove(2);
        let found = check(removed);
        assert_eq!((found.line, found.kind), (3, BreakKind::PrevMismatch));

        let mut swapped = original.clone();
        swapped.swap(1, 2);
        let found = check(swapped);
        assert_eq!((found.line, found.kind), (2, BreakKind::PrevMismatch));

        let mut cut = original.join("\n");
        cut.truncate(cut.len() - 10);
        std::fs::write(&path, cut).expect("written");
        let found = broken(std::slice::from_ref(&path));
        assert_eq!((found.line, found.kind), (5, BreakKind::Truncated));

        let no_newline = original.join("\n");
        std::fs::write(&path, no_newline).expect("written");
        let found = broken(std::slice::from_ref(&path));
        assert_eq!((found.line, found.kind), (5, BreakKind::Truncated));

        let mut garbled = original.clone();
        garbled[3] = "not json at all".into();
        assert_eq!(check(garbled).kind, BreakKind::NotJson);

        let mut unchained = original.clone();
        unchained[0] = r#"{"type":"call"}"#.into();
        let found = check(unchained);
        assert_eq!((found.line, found.kind), (1, BreakKind::NoPrev));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn verify_names_a_file_removed_from_the_middle_of_the_rotation() {
        let dir = folder("gap");
        let path = dir.join("log");
        record(
            &AuditLog::open_with(&path, None, Some(200)).expect("opens"),
            4,
        );
        let (oldest, middle) = (rotated(&path, 3), rotated(&path, 2));
        assert!(
            oldest.exists() && !rotated(&path, 4).exists(),
            "one line a file"
        );
        let all = [
            oldest.clone(),
            middle.clone(),
            rotated(&path, 1),
            path.clone(),
        ];
        assert!(verify(&all).expect("readable").ok());
        let found = broken(&[oldest.clone(), rotated(&path, 1), path.clone()]);
        assert_eq!(found.file, rotated(&path, 1).display().to_string());
        assert_eq!((found.line, found.kind), (1, BreakKind::FileGap));
        assert_eq!(found.previous, Some((oldest.display().to_string(), 1)));
        // Given newest first, the files do not chain either.
        let found = broken(&[path.clone(), rotated(&path, 1)]);
        assert_eq!(found.kind, BreakKind::FileGap);
        // The newer files alone hold, and say the chain began earlier.
        let report = verify(&[rotated(&path, 1), path.clone()]).expect("readable");
        assert!(report.ok());
        assert_eq!(report.begins_chain(), Some(false));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error_naming_it() {
        let dir = folder("missing");
        let error = verify(&[dir.join("nothing")]).expect_err("no such file");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read {}: ", dir.join("nothing").display()))
        );
        let error = verify(std::slice::from_ref(&dir)).expect_err("a folder");
        assert_eq!(
            error.to_string(),
            format!("cannot read {}: not a regular file", dir.display())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
