//! `cf-harness audit-log verify FILE…`: walks the hash chain through the files, oldest first,
//! and stops at the first line that breaks it, saying where and what that means.

use super::{ORIGIN, hex};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;

/// What was checked, and the first break if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The files read, in the order given, up to the one holding the break.
    pub files: Vec<CheckedFile>,
    /// Lines found intact, across the files.
    pub lines: u64,
    /// The `prev` of the very first line: [`ORIGIN`] when the files begin the chain.
    pub first_prev: Option<String>,
    /// The hash of the last intact line (none when no line was).
    pub last_hash: Option<String>,
    pub broken: Option<Break>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// As given on the command line.
    pub name: String,
    /// Its intact lines.
    pub lines: u64,
}

/// The first line that does not continue the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub file: String,
    /// 1-based, within `file`.
    pub line: u64,
    pub kind: BreakKind,
    /// The line the chain expected this one to follow, when there was one.
    pub previous: Option<(String, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// Its `prev` is not the hash of the line before it in the same file.
    PrevMismatch,
    /// The first line of a file does not continue the last line of the file before it.
    FileGap,
    /// It lacks its newline, or its JSON ends early: the file or the line was cut short.
    Truncated,
    /// It is not a JSON object.
    NotJson,
    /// A JSON object without a `prev` of 64 hexadecimal characters.
    NoPrev,
}

impl BreakKind {
    /// The stable name in `--json` output.
    pub fn code(self) -> &'static str {
        match self {
            BreakKind::PrevMismatch => "prev_mismatch",
            BreakKind::FileGap => "file_gap",
            BreakKind::Truncated => "truncated",
            BreakKind::NotJson => "not_json",
            BreakKind::NoPrev => "no_prev",
        }
    }
}

impl Break {
    /// Where the chain breaks and what may have happened, for a person.
    pub fn message(&self) -> String {
        let (file, line) = (&self.file, self.line);
        match (self.kind, &self.previous) {
            (BreakKind::PrevMismatch, _) => format!(
                "{file} line {line}: its `prev` does not match line {} — line {} was edited, or \
                 a line between them was removed or reordered",
                line - 1,
                line - 1
            ),
            (BreakKind::FileGap, Some((before, before_line))) => format!(
                "{file} line {line}: its `prev` does not match the last line of {before} (line \
                 {before_line}) — a file between them was removed, the files are not given \
                 oldest first, or that line was edited"
            ),
            (BreakKind::FileGap, None) => format!(
                "{file} line {line}: its `prev` does not continue the file before it — a file \
                 between them was removed, or the files are not given oldest first"
            ),
            (BreakKind::Truncated, _) => format!(
                "{file} line {line}: the line is cut short (it is incomplete JSON or has no \
                 newline at its end) — the file was truncated, or its writer stopped in the \
                 middle of the line"
            ),
            (BreakKind::NotJson, _) => format!(
                "{file} line {line}: not a JSON object — the line was edited, or this is not an \
                 audit log"
            ),
            (BreakKind::NoPrev, _) => format!(
                "{file} line {line}: it has no `prev` hash — it was written before the log was \
                 chained (an older cf-harness), or edited"
            ),
        }
    }
}

/// A file that could not be read: a usage error, not a break.
#[derive(Debug)]
pub struct VerifyError {
    pub file: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.file.display(), self.error)
    }
}

impl std::error::Error for VerifyError {}

/// Checks the chain through `files`, oldest first (`log.2 log.1 log`). The first line may
/// follow any hash (the older files may have been archived): [`VerifyReport::begins_chain`]
/// says whether it is the start.
pub fn verify(files: &[PathBuf]) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport {
        files: Vec::new(),
        lines: 0,
        first_prev: None,
        last_hash: None,
        broken: None,
    };
    let mut expected: Option<String> = None;
    let mut previous: Option<(String, u64)> = None;
    for (index, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let failed = |error| VerifyError {
            file: path.clone(),
            error,
        };
        let file = File::open(path).map_err(failed)?;
        // A FIFO or a device such as /dev/zero could block or never end.
        if !file.metadata().map_err(failed)?.is_file() {
            return Err(failed(std::io::Error::other("not a regular file")));
        }
        let mut reader = BufReader::new(file);
        let mut checked = CheckedFile {
            name: name.clone(),
            lines: 0,
        };
        let mut buffer = Vec::new();
        let mut number = 0;
        loop {
            buffer.clear();
            if reader.read_until(b'\n', &mut buffer).map_err(failed)? == 0 {
                break;
            }
            number += 1;
            let complete = buffer.last() == Some(&b'\n');
            if complete {
                buffer.pop();
            }
            let kind = match line_prev(&buffer, complete) {
                Err(kind) => Some(kind),
                Ok(prev) => match &expected {
                    None => {
                        report.first_prev = Some(prev);
                        None
                    }
                    Some(hash) if *hash == prev => None,
                    Some(_) if number == 1 && index > 0 => Some(BreakKind::FileGap),
                    Some(_) => Some(BreakKind::PrevMismatch),
                },
            };
            if let Some(kind) = kind {
                report.files.push(checked);
                report.broken = Some(Break {
                    file: name,
                    line: number,
                    kind,
                    previous,
                });
                return Ok(report);
            }
            let hash = hex(&Sha256::digest(&buffer));
            expected = Some(hash.clone());
            report.last_hash = Some(hash);
            previous = Some((name.clone(), number));
            checked.lines += 1;
            report.lines += 1;
        }
        report.files.push(checked);
    }
    Ok(report)
}

/// The line's `prev`, or why it has none.
fn line_prev(line: &[u8], complete: bool) -> Result<String, BreakKind> {
    if !complete {
        return Err(BreakKind::Truncated);
    }
    let value: Value = serde_json::from_slice(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => BreakKind::Truncated,
        _ => BreakKind::NotJson,
    })?;
    let Value::Object(map) = value else {
        return Err(BreakKind::NotJson);
    };
    match map.get("prev").and_then(Value::as_str) {
        Some(prev) if prev.len() == 64 && prev.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(prev.to_ascii_lowercase())
        }
        _ => Err(BreakKind::NoPrev),
    }
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }

    /// Whether the first line is the first of a log (`prev` is 64 zeros); `None` with no line.
    pub fn begins_chain(&self) -> Option<bool> {
        self.first_prev.as_deref().map(|p| p == ORIGIN)
    }

    /// `--json`: `ok`, `files[]` (`file`, `lines`), `lines`, `begins_chain`, `first_prev`,
    /// `last_hash`, and `break` (`file`, `line`, `kind`, `message`, `previous`) or null.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok(),
            "files": self.files.iter().map(|f| json!({"file": f.name, "lines": f.lines})).collect::<Vec<_>>(),
            "lines": self.lines,
            "begins_chain": self.begins_chain(),
            "first_prev": self.first_prev,
            "last_hash": self.last_hash,
            "break": self.broken.as_ref().map(|b| json!({
                "file": b.file,
                "line": b.line,
                "kind": b.kind.code(),
                "message": b.message(),
                "previous": b.previous.as_ref().map(|(file, line)| json!({"file": file, "line": line})),
            })),
        })
    }

    /// The readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(broken) = &self.broken {
            out.push_str("audit log chain broken\n");
            out.push_str(&format!("  {}\n", broken.message()));
            out.push_str(&format!(
                "  before it: {} intact",
                count(self.lines, "line")
            ));
            if let Some(hash) = &self.last_hash {
                out.push_str(&format!(", the last hashed {hash}"));
            }
            out.push('\n');
            return out;
        }
        out.push_str(&format!(
            "audit log chain intact: {}, {}\n",
            count(self.files.len() as u64, "file"),
            count(self.lines, "line")
        ));
        let width = self.files.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for file in &self.files {
            out.push_str(&format!(
                "  {:width$}  {}\n",
                file.name,
                count(file.lines, "line")
            ));
        }
        match (self.begins_chain(), &self.first_prev) {
            (Some(true), _) => out.push_str("  begins the chain: its first `prev` is 64 zeros\n"),
            (Some(false), Some(prev)) => out.push_str(&format!(
                "  continues a chain begun in an older file (its first `prev` is {prev}): give \
                 the older files first to check them too\n"
            )),
            _ => {}
        }
        if let Some(hash) = &self.last_hash {
            out.push_str(&format!("  last hash {hash}\n"));
            out.push_str(
                "  Lines cut from the end of the newest file leave no break: compare this last \
                 hash with one kept elsewhere.\n",
            );
        }
        out
    }
}

/// "1 line", "3 lines".
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
