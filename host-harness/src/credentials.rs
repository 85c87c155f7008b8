//! Where the API token comes from, and a type that never shows it.

mod redact;
mod scrub;

pub use redact::MIN_RUN as REDACT_MIN_RUN;
#[doc(hidden)]
pub use redact::fuzz_entry as fuzz_redact;
pub use redact::is_token_char;
pub use scrub::{ResponseScrub, body_marker};

use std::fmt;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

/// The longest token taken, in characters. Cloudflare's API tokens are 40 characters; newer ones
/// carry a prefix (`cfut_`, `cfat_`, …), so this leaves room for the format to grow while
/// refusing what cannot be a token (a pasted file, a key, a certificate), which Cloudflare would
/// answer with HTTP 431 rather than a word about the token.
pub const TOKEN_MAX_CHARS: usize = 255;

/// What a token is made of ([`is_token_char`]), as said to the user.
pub const TOKEN_ALPHABET: &str = "letters, digits, '_', '-' and '.'";

/// The largest token file read, in bytes: the token and some white space; a larger file is not a
/// token file (and `/dev/zero` would never end).
pub const TOKEN_FILE_MAX_BYTES: u64 = 64 * 1024;

/// The Cloudflare API token. Its `Debug` and `Display` are redacted; the only way to the value
/// is [`ApiToken::bearer_header`], used by the outbound hook.
#[derive(Clone)]
pub struct ApiToken {
    value: String,
    redactor: Arc<redact::Redactor>,
}

/// Why a token could not be taken. It never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Empty {
        source: String,
    },
    /// A character outside [`TOKEN_ALPHABET`] (a space, a quote, a control or non-ASCII
    /// character).
    Malformed {
        source: String,
    },
    /// Longer than [`TOKEN_MAX_CHARS`].
    TooLong {
        source: String,
        length: usize,
        max: usize,
    },
    Unreadable {
        source: String,
        reason: String,
    },
    /// The token file is a FIFO, a device, a directory…: reading it could block or never end.
    NotARegularFile {
        source: String,
        kind: &'static str,
    },
    /// The token file holds more than [`TOKEN_FILE_MAX_BYTES`].
    FileTooLarge {
        source: String,
        max_bytes: u64,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Empty { source } => write!(f, "the API token from {source} is empty"),
            TokenError::Malformed { source } => write!(
                f,
                "the API token from {source} contains a character other than {TOKEN_ALPHABET} \
                 (a space, a quote, a control or non-ASCII character); copy it again from the \
                 Cloudflare dashboard (it is shown once, at creation)"
            ),
            TokenError::TooLong {
                source,
                length,
                max,
            } => write!(
                f,
                "the API token from {source} is {length} characters long; a Cloudflare API \
                 token is 40 characters (at most {max} are taken): check that it is the token \
                 and nothing else"
            ),
            TokenError::Unreadable { source, reason } => {
                write!(f, "cannot read the API token from {source}: {reason}")
            }
            TokenError::NotARegularFile { source, kind } => write!(
                f,
                "cannot read the API token from {source}: it is {kind}, not a regular file; \
                 give --token-file a file holding only the token"
            ),
            TokenError::FileTooLarge { source, max_bytes } => write!(
                f,
                "cannot read the API token from {source}: it is larger than {max_bytes} bytes; \
                 a token file holds only the token"
            ),
        }
    }
}

impl std::error::Error for TokenError {}

/// A token file that users other than its owner may read: taken, with a warning (as ssh warns
/// of a private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoosePermissions {
    pub path: std::path::PathBuf,
    /// The permission bits (`0o644`).
    pub mode: u32,
}

impl fmt::Display for LoosePermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        write!(
            f,
            "the token file {path} can be read by other users (permissions {:03o}); \
             restrict it with `chmod 600 {path}`",
            self.mode
        )
    }
}

impl ApiToken {
    /// Takes a token, trimming the surrounding white space a copy and paste or a file adds.
    pub fn new(value: &str, source: &str) -> Result<Self, TokenError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(TokenError::Empty {
                source: source.to_string(),
            });
        }
        let length = value.chars().count();
        if length > TOKEN_MAX_CHARS {
            return Err(TokenError::TooLong {
                source: source.to_string(),
                length,
                max: TOKEN_MAX_CHARS,
            });
        }
        if !value.chars().all(is_token_char) {
            return Err(TokenError::Malformed {
                source: source.to_string(),
            });
        }
        Ok(ApiToken {
            value: value.to_string(),
            redactor: Arc::new(redact::Redactor::new(value)),
        })
    }

    /// From `CLOUDFLARE_API_TOKEN`, if set.
    pub fn from_env() -> Result<Option<Self>, TokenError> {
        match std::env::var("CLOUDFLARE_API_TOKEN") {
            Ok(v) => ApiToken::new(&v, "CLOUDFLARE_API_TOKEN").map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::Malformed {
                source: "CLOUDFLARE_API_TOKEN".to_string(),
            }),
        }
    }

    /// From a file holding only the token (a secret mount, for example).
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        Self::from_file_checked(path).map(|(token, _)| token)
    }

    /// As [`ApiToken::from_file`], with a warning when others may read the file. Only a regular
    /// file is opened (a FIFO would block, a device never end), and at most
    /// [`TOKEN_FILE_MAX_BYTES`] are read.
    pub fn from_file_checked(path: &Path) -> Result<(Self, Option<LoosePermissions>), TokenError> {
        let source = format!("file {}", path.display());
        let unreadable = |e: std::io::Error| TokenError::Unreadable {
            source: source.clone(),
            reason: e.to_string(),
        };
        let not_regular = |metadata: &std::fs::Metadata| TokenError::NotARegularFile {
            source: source.clone(),
            kind: file_kind(metadata),
        };
        // Checked before opening: opening a FIFO for reading blocks until a writer comes.
        let metadata = std::fs::metadata(path).map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(not_regular(&metadata));
        }
        let file = std::fs::File::open(path).map_err(unreadable)?;
        // And again on what was opened, should the path have been swapped in between.
        let metadata = file.metadata().map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(not_regular(&metadata));
        }
        let mut bytes = Vec::new();
        file.take(TOKEN_FILE_MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > TOKEN_FILE_MAX_BYTES {
            return Err(TokenError::FileTooLarge {
                source,
                max_bytes: TOKEN_FILE_MAX_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| TokenError::Malformed {
            source: source.clone(),
        })?;
        let token = ApiToken::new(&text, &source)?;
        Ok((token, loose_permissions(path, &metadata)))
    }

    /// `Bearer <token>`, marked sensitive so that `http` never prints it either.
    pub fn bearer_header(&self) -> http::HeaderValue {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.value))
            .unwrap_or_else(|_| http::HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        value
    }

    /// A keyed hash of the token (BLAKE3): what `serve` binds a session to and its logs name.
    /// Without the key it says nothing about the token; its `Eq` is constant-time.
    pub fn fingerprint(&self, key: &[u8; 32]) -> blake3::Hash {
        blake3::keyed_hash(key, self.value.as_bytes())
    }

    /// Hides the token in text about to be shown (a last line of defence for logs): as it is,
    /// in any case, percent-encoded or JSON-escaped, and any piece of it of
    /// [`REDACT_MIN_RUN`] characters or more.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// What takes the token out of one response before the guest reads it (its headers, and
    /// its body as it streams): for the answers to requests the token was added to.
    pub fn response_scrub(&self) -> ResponseScrub {
        ResponseScrub::new(&self.value, self.redactor.clone())
    }
}

/// What a path that is not a regular file is, in words.
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    let kind = metadata.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(unix)]
fn loose_permissions(path: &Path, metadata: &std::fs::Metadata) -> Option<LoosePermissions> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| LoosePermissions {
        path: path.to_path_buf(),
        mode,
    })
}

#[cfg(not(unix))]
fn loose_permissions(_path: &Path, _metadata: &std::fs::Metadata) -> Option<LoosePermissions> {
    None
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken([REDACTED])")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "cfut_secret_value_123";

    #[test]
    fn debug_and_display_never_show_the_token() {
        let token = ApiToken::new(SECRET, "test").expect("valid");
        assert!(!format!("{token:?}").contains(SECRET));
        assert!(!format!("{token}").contains(SECRET));
        assert!(!format!("{:?}", token.bearer_header()).contains(SECRET));
    }

    #[test]
    fn surrounding_white_space_is_trimmed_and_inner_rejected() {
        let token = ApiToken::new(&format!("  {SECRET}\n"), "test").expect("valid");
        assert_eq!(
            token.bearer_header().to_str().expect("ascii"),
            format!("Bearer {SECRET}")
        );
        assert_eq!(
            ApiToken::new(" \n", "test").err(),
            Some(TokenError::Empty {
                source: "test".into()
            })
        );
        assert!(ApiToken::new("abcdé", "test").is_err(), "non-ASCII");
        let err = ApiToken::new("abc def", "test").expect_err("space inside");
        assert!(matches!(err, TokenError::Malformed { .. }));
        assert!(!err.to_string().contains("abc def"));
    }

    #[test]
    fn redact_hides_the_token_in_text() {
        let token = ApiToken::new(SECRET, "test").expect("valid");
        assert_eq!(token.redact(&format!("x {SECRET} y")), "x [REDACTED] y");
        assert_eq!(
            token.redact(&format!("x {} y", SECRET.to_ascii_uppercase())),
            "x [REDACTED] y"
        );
    }

    #[test]
    fn a_token_longer_than_any_cloudflare_token_is_refused_saying_the_rule() {
        let longest = "a".repeat(TOKEN_MAX_CHARS);
        assert!(ApiToken::new(&longest, "test").is_ok());
        let too_long = format!("{longest}b");
        let err = ApiToken::new(&too_long, "test").expect_err("too long");
        assert_eq!(
            err,
            TokenError::TooLong {
                source: "test".into(),
                length: TOKEN_MAX_CHARS + 1,
                max: TOKEN_MAX_CHARS
            }
        );
        assert!(!err.to_string().contains(&too_long));
    }

    #[test]
    fn only_the_tokens_alphabet_is_taken() {
        for good in [
            SECRET,
            "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY",
            "v1.abc-DEF_9",
        ] {
            assert!(ApiToken::new(good, "test").is_ok(), "{good}");
        }
        for bad in ["abc+def", "abc/def=", "\"abc\"", "abc;def", "ab\u{0}c"] {
            let err = ApiToken::new(bad, "test").expect_err(bad);
            assert!(
                matches!(err, TokenError::Malformed { .. }),
                "{bad}: {err:?}"
            );
        }
    }

    #[cfg(unix)]
    mod files {
        use super::*;
        use std::os::unix::fs::PermissionsExt as _;
        use std::path::PathBuf;

        fn temp_path(name: &str) -> PathBuf {
            let path = std::env::temp_dir().join(format!("cf-token-{}-{name}", std::process::id()));
            let _ = std::fs::remove_file(&path);
            path
        }

        fn write(name: &str, content: &[u8], mode: u32) -> PathBuf {
            let path = temp_path(name);
            std::fs::write(&path, content).expect("written");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        }

        #[test]
        fn a_private_token_file_is_read_without_a_warning() {
            let path = write("private", format!("{SECRET}\n").as_bytes(), 0o600);
            let (token, warning) = ApiToken::from_file_checked(&path).expect("read");
            assert_eq!(
                token.bearer_header().to_str().expect("ascii"),
                format!("Bearer {SECRET}")
            );
            assert_eq!(warning, None);
            let _ = std::fs::remove_file(&path);
        }

        #[test]
        fn a_token_file_others_can_read_is_taken_with_a_warning_naming_the_fix() {
            let path = write("loose", SECRET.as_bytes(), 0o644);
            let (_, warning) = ApiToken::from_file_checked(&path).expect("read");
            let warning = warning.expect("a warning");
            assert_eq!(warning.mode, 0o644);
            assert_eq!(warning.path, path);
            assert!(!warning.to_string().contains(SECRET));
            let _ = std::fs::remove_file(&path);
        }

        #[test]
        fn dev_zero_is_refused_as_not_a_regular_file() {
            let err = ApiToken::from_file(Path::new("/dev/zero")).expect_err("refused");
            assert!(
                matches!(
                    err,
                    TokenError::NotARegularFile {
                        kind: "a device",
                        ..
                    }
                ),
                "{err:?}"
            );
        }

        #[test]
        fn a_directory_is_refused_as_not_a_regular_file() {
            let err = ApiToken::from_file(&std::env::temp_dir()).expect_err("refused");
            assert!(
                matches!(
                    err,
                    TokenError::NotARegularFile {
                        kind: "a directory",
                        ..
                    }
                ),
                "{err:?}"
            );
        }

        #[test]
        fn a_fifo_is_refused_without_blocking() {
            let path = temp_path("fifo");
            let made = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("mkfifo runs");
            assert!(made.success());
            // Opening it for reading would block until a writer comes: it is never opened.
            let err = ApiToken::from_file(&path).expect_err("refused");
            assert!(
                matches!(
                    err,
                    TokenError::NotARegularFile {
                        kind: "a FIFO (named pipe)",
                        ..
                    }
                ),
                "{err:?}"
            );
            let _ = std::fs::remove_file(&path);
        }

        #[test]
        fn a_token_file_over_the_cap_is_refused_as_too_large() {
            let path = write("large", &vec![b'a'; 1024 * 1024], 0o600);
            let err = ApiToken::from_file(&path).expect_err("refused");
            assert_eq!(
                err,
                TokenError::FileTooLarge {
                    source: format!("file {}", path.display()),
                    max_bytes: TOKEN_FILE_MAX_BYTES
                }
            );
            let _ = std::fs::remove_file(&path);
            // At the cap, the file is read (and judged as a token: too long).
            let path = write("at-cap", &vec![b'a'; TOKEN_FILE_MAX_BYTES as usize], 0o600);
            let err = ApiToken::from_file(&path).expect_err("refused");
            assert!(matches!(err, TokenError::TooLong { .. }), "{err:?}");
            let _ = std::fs::remove_file(&path);
        }

        #[test]
        fn a_token_file_that_is_not_utf8_is_malformed() {
            let path = write("binary", b"\xff\xfe token", 0o600);
            let err = ApiToken::from_file(&path).expect_err("refused");
            assert!(matches!(err, TokenError::Malformed { .. }), "{err:?}");
            let _ = std::fs::remove_file(&path);
        }
    }
}
