//! The MCP transport of `cf-harness mcp`: JSON-RPC messages one per line on stdin and stdout,
//! where every line gets an answer. rmcp's own stdio transport drops a line it cannot parse
//! without a word (the client then waits forever), and answers a known method whose params do
//! not fit as an unknown one; this one answers as JSON-RPC says.
//!
//! [`check_message`] holds the checks and knows nothing of stdio, so an HTTP transport can use
//! it too; [`BoundedStdio`] adds the line framing and its size limit.

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ConstString as _, ErrorCode,
    InitializeRequestParams, InitializeResultMethod, JsonObject, ListToolsRequestMethod,
    PaginatedRequestParams, PingRequestMethod, RequestId,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::sync::{mpsc, oneshot};

/// The largest message `cf-harness mcp` takes by default, in MiB (`--max-message-mib`): far
/// above any tool call's arguments, far below what would strain the host.
pub const DEFAULT_MAX_MESSAGE_MIB: u64 = 4;

/// How deep a message may nest: serde_json's own recursion limit, which refuses deeper input
/// as a parse error (it is not settable without disabling it).
pub const MAX_DEPTH: usize = 128;

/// The most of a refused line the log shows.
const EXCERPT_CHARS: usize = 32;

/// The most of a parser's explanation a reply carries (it can quote the offending value).
const DETAIL_CHARS: usize = 200;

/// Why a message was not handed to the server, and the JSON-RPC error that answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: ErrorCode,
    /// The id the answer carries: the request's when it could be read, else null.
    pub id: Option<RequestId>,
    /// False for a notification: JSON-RPC never answers one, the log says it was dropped.
    pub answer: bool,
    pub message: String,
    pub data: Option<Value>,
    /// A few words for the log.
    pub reason: &'static str,
}

impl Refusal {
    fn new(code: ErrorCode, id: Option<RequestId>, reason: &'static str, message: String) -> Self {
        Refusal {
            code,
            id,
            answer: true,
            message,
            data: None,
            reason,
        }
    }

    /// A message longer than `max_bytes`.
    pub fn too_large(max_bytes: usize) -> Self {
        let mib = max_bytes / (1024 * 1024);
        let size = if mib > 0 && mib * 1024 * 1024 == max_bytes {
            format!("{mib} MiB")
        } else {
            format!("{max_bytes} bytes")
        };
        Refusal {
            data: Some(json!({ "max_bytes": max_bytes })),
            ..Refusal::new(
                ErrorCode::INVALID_REQUEST,
                None,
                "message too large",
                format!(
                    "the message is larger than the {size} limit and was skipped; send less, or \
                     start cf-harness mcp with a larger --max-message-mib"
                ),
            )
        }
    }

    /// The JSON-RPC error answering it (`id` null when it could not be read, as JSON-RPC 2.0
    /// asks).
    pub fn reply(&self) -> Value {
        let mut error = json!({ "code": self.code.0, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({
            "jsonrpc": "2.0",
            "id": self.id.clone().map_or(Value::Null, RequestId::into_json_value),
            "error": error,
        })
    }
}

/// Reads one line (without its `\n`) as a message for the server: `Ok(None)` for a blank line,
/// a [`Refusal`] for anything the server should not see (not UTF-8, not JSON, nested deeper than
/// [`MAX_DEPTH`], not a JSON-RPC 2.0 message, or a request whose params do not fit its method).
pub fn check_message(line: &[u8]) -> Result<Option<RxJsonRpcMessage<RoleServer>>, Refusal> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // RFC 8259 lets a parser ignore a byte order mark.
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(Refusal::new(
            ErrorCode::PARSE_ERROR,
            None,
            "not UTF-8",
            "the message is not UTF-8 text".to_string(),
        ));
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let (reason, what) = if e.to_string().starts_with("recursion limit exceeded") {
            (
                "nested too deep",
                format!("the message nests deeper than {MAX_DEPTH} levels"),
            )
        } else {
            ("not JSON", format!("the message is not JSON: {e}"))
        };
        Refusal::new(ErrorCode::PARSE_ERROR, None, reason, what)
    })?;
    let Value::Object(object) = &value else {
        return Err(Refusal::new(
            ErrorCode::INVALID_REQUEST,
            None,
            "not an object",
            "a message is one JSON-RPC object (batches are not taken)".to_string(),
        ));
    };
    let id = match object.get("id") {
        None => None,
        Some(raw) => Some(RequestId::deserialize(raw).map_err(|_| {
            Refusal::new(
                ErrorCode::INVALID_REQUEST,
                None,
                "bad id",
                "the id must be a string or an integer".to_string(),
            )
        })?),
    };
    let invalid = |reason, message: &str| {
        Refusal::new(
            ErrorCode::INVALID_REQUEST,
            id.clone(),
            reason,
            message.to_string(),
        )
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("not JSON-RPC 2.0", "\"jsonrpc\" must be \"2.0\""));
    }
    let method = match object.get("method") {
        None => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => return Err(invalid("bad method", "\"method\" must be a string")),
    };
    if let (Some(method), Some(id)) = (&method, &id)
        && let Some(detail) = params_misfit(method, object.get("params"))
    {
        return Err(Refusal::new(
            ErrorCode::INVALID_PARAMS,
            Some(id.clone()),
            "params do not fit the method",
            format!("the params of {method} do not fit: {}", bounded(&detail)),
        ));
    }
    let is_notification = method.is_some() && id.is_none();
    match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
        Ok(message) => Ok(Some(message)),
        Err(e) => {
            let detail = bounded(&e.to_string());
            let mut refusal = match method {
                Some(method) => invalid(
                    "not a request of its method",
                    &format!(
                        "the request {} is not well formed: {detail}",
                        bounded(&method)
                    ),
                ),
                None => invalid(
                    "not a message",
                    &format!("the message is not a JSON-RPC request or response: {detail}"),
                ),
            };
            refusal.answer = !is_notification;
            Err(refusal)
        }
    }
}

/// Why `params` do not fit `method`, for the requests this server answers.
fn params_misfit(method: &str, params: Option<&Value>) -> Option<String> {
    fn misfit<T: DeserializeOwned>(params: Option<&Value>) -> Option<String> {
        T::deserialize(params.unwrap_or(&Value::Null))
            .err()
            .map(|e| e.to_string())
    }
    if method == CallToolRequestMethod::VALUE {
        misfit::<CallToolRequestParams>(params)
    } else if method == ListToolsRequestMethod::VALUE {
        misfit::<Option<PaginatedRequestParams>>(params)
    } else if method == InitializeResultMethod::VALUE {
        misfit::<InitializeRequestParams>(params)
    } else if method == PingRequestMethod::VALUE {
        misfit::<Option<JsonObject>>(params)
    } else {
        None
    }
}

fn bounded(text: &str) -> String {
    match text.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The start of a refused line, for the log: a few characters, control characters escaped.
pub fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(EXCERPT_CHARS * 4)]);
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if text.chars().count() > EXCERPT_CHARS || line.len() > EXCERPT_CHARS * 4 {
        out.push('…');
    }
    out
}

/// The `mcp_message` fuzz target (`fuzz/`), and the replay of its kept inputs: any line is
/// read or refused without a panic; what is read can be written back; a refusal is a JSON-RPC
/// error whose words stay short whatever the line held.
#[doc(hidden)]
pub fn fuzz_entry(line: &[u8]) {
    match check_message(line) {
        Ok(Some(message)) => {
            serde_json::to_string(&message).expect("a message read can be written");
        }
        Ok(None) => {}
        Err(refusal) => {
            let reply = refusal.reply();
            assert_eq!(reply["jsonrpc"], "2.0");
            assert!(reply["error"]["code"].is_i64(), "{reply}");
            let words = reply["error"]["message"].as_str().unwrap_or_default();
            assert!(words.len() <= 2 * 1024, "{} bytes of message", words.len());
        }
    }
}

fn log_refusal(refusal: &Refusal, line: Option<&[u8]>) {
    let excerpt = line.map(excerpt).unwrap_or_default();
    tracing::warn!(
        code = refusal.code.0,
        reason = refusal.reason,
        answered = refusal.answer,
        excerpt = %excerpt,
        "MCP message refused"
    );
}

/// One line for stdout, and who waits for it to be written.
struct Outgoing {
    bytes: Vec<u8>,
    written: Option<oneshot::Sender<std::io::Result<()>>>,
}

/// Newline-delimited JSON-RPC over a reader and a writer (stdin and stdout), each incoming line
/// at most `max_bytes`: a longer one is answered with a [`Refusal::too_large`] as soon as it
/// passes the limit and skipped to its newline without being kept.
pub struct BoundedStdio<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    max_bytes: usize,
    /// Skipping the rest of a line already refused.
    discarding: bool,
    /// An answer not yet queued (kept here: `receive` may be cancelled while it waits).
    pending: Option<Vec<u8>>,
    out: Option<mpsc::Sender<Outgoing>>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

/// What reading one line gave.
enum LineRead {
    Line,
    TooLarge,
    Eof,
    Failed(std::io::Error),
}

impl BoundedStdio<tokio::io::Stdin> {
    pub fn stdio(max_bytes: usize) -> Self {
        BoundedStdio::new(tokio::io::stdin(), tokio::io::stdout(), max_bytes)
    }
}

impl<R: AsyncRead + Unpin + Send> BoundedStdio<R> {
    /// Writes go through one task, in the order they were queued, each line whole.
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(
        read: R,
        write: W,
        max_bytes: usize,
    ) -> Self {
        let (out, queue) = mpsc::channel(64);
        BoundedStdio {
            read: BufReader::with_capacity(64 * 1024, read),
            line: Vec::new(),
            max_bytes,
            discarding: false,
            pending: None,
            out: Some(out),
            writer: Some(tokio::spawn(write_lines(write, queue))),
        }
    }

    /// One `\n`-terminated line into `self.line`, never more than `max_bytes` of it. What was
    /// read stays in `self`, so a cancelled call resumes where it stopped.
    async fn read_line(&mut self) -> LineRead {
        loop {
            let (consumed, done) = {
                let available = match self.read.fill_buf().await {
                    Ok(available) => available,
                    Err(e) => return LineRead::Failed(e),
                };
                if available.is_empty() {
                    return LineRead::Eof;
                }
                let newline = available.iter().position(|b| *b == b'\n');
                let take = newline.map_or(available.len(), |at| at + 1);
                if self.discarding {
                    if newline.is_some() {
                        self.discarding = false;
                    }
                    (take, None)
                } else if self.line.len() + newline.unwrap_or(take) > self.max_bytes {
                    self.line.clear();
                    self.discarding = newline.is_none();
                    (take, Some(LineRead::TooLarge))
                } else {
                    match newline {
                        Some(at) => {
                            self.line.extend_from_slice(&available[..at]);
                            (take, Some(LineRead::Line))
                        }
                        None => {
                            self.line.extend_from_slice(available);
                            (take, None)
                        }
                    }
                }
            };
            self.read.consume(consumed);
            if let Some(done) = done {
                return done;
            }
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut write: W, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(outgoing) = queue.recv().await {
        let result = async {
            write.write_all(&outgoing.bytes).await?;
            write.flush().await
        }
        .await;
        let failed = result.is_err();
        if let Some(written) = outgoing.written {
            let _ = written.send(result);
        }
        if failed {
            break;
        }
    }
}

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the output is closed")
}

fn line_of(value: &impl serde::Serialize) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl<R: AsyncRead + Unpin + Send> Transport<RoleServer> for BoundedStdio<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        let bytes = line_of(&item);
        async move {
            let out = out.ok_or_else(closed)?;
            let (written, done) = oneshot::channel();
            out.send(Outgoing {
                bytes: bytes?,
                written: Some(written),
            })
            .await
            .map_err(|_| closed())?;
            done.await.map_err(|_| closed())?
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            if self.pending.is_some() {
                let permit = self.out.as_ref()?.reserve().await.ok()?;
                if let Some(bytes) = self.pending.take() {
                    permit.send(Outgoing {
                        bytes,
                        written: None,
                    });
                }
            }
            let refusal = match self.read_line().await {
                LineRead::Line => {
                    let checked = check_message(&self.line);
                    let refusal = match checked {
                        Ok(Some(message)) => {
                            self.line.clear();
                            return Some(message);
                        }
                        Ok(None) => None,
                        Err(refusal) => {
                            log_refusal(&refusal, Some(&self.line));
                            Some(refusal)
                        }
                    };
                    self.line.clear();
                    refusal
                }
                LineRead::TooLarge => {
                    let refusal = Refusal::too_large(self.max_bytes);
                    log_refusal(&refusal, None);
                    Some(refusal)
                }
                LineRead::Eof => return None,
                LineRead::Failed(error) => {
                    tracing::error!(%error, "cannot read the MCP input");
                    return None;
                }
            };
            if let Some(refusal) = refusal.filter(|r| r.answer) {
                self.pending = line_of(&refusal.reply()).ok();
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Dropping the queue's sender lets the writer finish what is queued, then end.
        drop(self.out.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &[u8]) -> Refusal {
        check_message(line).expect_err("refused")
    }

    #[test]
    fn good_messages_pass_and_blank_lines_are_skipped() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"verify","arguments":{}}}"#;
        assert!(matches!(check_message(call), Ok(Some(_))));
        let list = br#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#;
        assert!(matches!(check_message(list), Ok(Some(_))));
        let note =
            br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#;
        assert!(matches!(check_message(note), Ok(Some(_))));
        assert!(matches!(check_message(b"  \r"), Ok(None)));
    }

    #[test]
    fn unparsable_lines_are_parse_errors_without_an_id() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for line in [
            &b"{not json"[..],
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xff\"}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\0ng\"}",
            br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#,
            deep.as_bytes(),
        ] {
            let refusal = refused(line);
            assert_eq!(refusal.code, ErrorCode::PARSE_ERROR, "{}", excerpt(line));
            assert_eq!(refusal.id, None);
            assert!(refusal.answer);
            assert_eq!(refusal.reply()["id"], Value::Null);
        }
    }

    #[test]
    fn params_that_do_not_fit_their_method_are_invalid_params_with_the_id() {
        for (params, id) in [
            (json!("x"), json!(7)),
            (json!({ "name": "verify", "arguments": 5 }), json!("s")),
            (json!({ "name": 3 }), json!(8)),
        ] {
            let line =
                json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params });
            let refusal = refused(line.to_string().as_bytes());
            assert_eq!(refusal.code, ErrorCode::INVALID_PARAMS, "{line}");
            assert_eq!(refusal.reply()["id"], id);
        }
        let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": "x" });
        assert_eq!(
            refused(list.to_string().as_bytes()).code,
            ErrorCode::INVALID_PARAMS
        );
    }

    #[test]
    fn messages_that_are_not_json_rpc_are_invalid_requests() {
        for line in [
            &br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#[..],
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            br#"5"#,
        ] {
            let refusal = refused(line);
            assert_eq!(refusal.code, ErrorCode::INVALID_REQUEST);
            assert_eq!(refusal.id, None);
        }
        let refusal = refused(br#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#);
        assert_eq!(refusal.code, ErrorCode::INVALID_REQUEST);
        assert_eq!(refusal.id, Some(RequestId::Number(3)));
        let refusal = refused(br#"{"jsonrpc":"2.0","id":4,"method":7}"#);
        assert_eq!(refusal.id, Some(RequestId::Number(4)));
    }

    #[test]
    fn a_malformed_notification_is_not_answered() {
        let refusal =
            refused(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":"x"}"#);
        assert!(!refusal.answer);
    }

    #[test]
    fn the_too_large_answer_names_the_limit() {
        let refusal = Refusal::too_large(4 * 1024 * 1024);
        assert_eq!(refusal.code, ErrorCode::INVALID_REQUEST);
        assert_eq!(
            refusal.reply()["error"]["data"]["max_bytes"],
            4 * 1024 * 1024
        );
        assert_eq!(refusal.reply()["id"], Value::Null);
    }

    #[test]
    fn the_excerpt_is_short_and_escaped() {
        let long = format!("\u{1}{}", "x".repeat(10_000));
        let excerpt = excerpt(long.as_bytes());
        assert!(excerpt.starts_with("\\u{1}"));
        assert!(excerpt.chars().count() <= EXCERPT_CHARS + 6);
    }

    /// Lines over the limit are answered as soon as they pass it, skipped to their newline, and
    /// the next line is read as usual.
    #[tokio::test]
    async fn a_line_over_the_limit_is_answered_and_skipped() {
        let mut input = vec![b'x'; 300];
        input.push(b'\n');
        input.extend_from_slice(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        input.push(b'\n');
        let (out_write, out_read) = tokio::io::duplex(64 * 1024);
        let mut transport = BoundedStdio::new(&input[..], out_write, 100);
        let message = transport.receive().await.expect("the ping");
        assert!(matches!(message, rmcp::model::JsonRpcMessage::Request(_)));
        assert!(transport.receive().await.is_none(), "end of input");
        transport.close().await.expect("closed");
        let mut reader = BufReader::new(out_read);
        let mut reply = String::new();
        reader.read_line(&mut reply).await.expect("a reply");
        let reply: Value = serde_json::from_str(&reply).expect("JSON");
        assert_eq!(reply["error"]["code"], ErrorCode::INVALID_REQUEST.0);
        assert_eq!(reply["error"]["data"]["max_bytes"], 100);
    }
}
