//! Where the API token comes from, and a type that never shows it.

use std::fmt;
use std::path::Path;

/// The Cloudflare API token. Its `Debug` and `Display` are redacted; the only way to the value
/// is [`ApiToken::bearer_header`], used by the outbound hook.
#[derive(Clone)]
pub struct ApiToken(String);

/// Why a token could not be taken. It never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Empty {
        source: String,
    },
    /// Spaces, control or non-ASCII characters inside: the value cannot be an HTTP header.
    Malformed {
        source: String,
    },
    Unreadable {
        source: String,
        reason: String,
    },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Empty { source } => write!(f, "the API token from {source} is empty"),
            TokenError::Malformed { source } => write!(
                f,
                "the API token from {source} contains spaces, control or non-ASCII characters; copy it again \
                 from the Cloudflare dashboard (it is shown once, at creation)"
            ),
            TokenError::Unreadable { source, reason } => {
                write!(f, "cannot read the API token from {source}: {reason}")
            }
        }
    }
}

impl std::error::Error for TokenError {}

impl ApiToken {
    /// Takes a token, trimming the surrounding white space a copy and paste or a file adds.
    pub fn new(value: &str, source: &str) -> Result<Self, TokenError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(TokenError::Empty {
                source: source.to_string(),
            });
        }
        // An HTTP header carries visible ASCII only.
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(TokenError::Malformed {
                source: source.to_string(),
            });
        }
        Ok(ApiToken(value.to_string()))
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
        let source = format!("file {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Unreadable {
            source: source.clone(),
            reason: e.to_string(),
        })?;
        ApiToken::new(&text, &source)
    }

    /// `Bearer <token>`, marked sensitive so that `http` never prints it either.
    pub fn bearer_header(&self) -> http::HeaderValue {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.0))
            .unwrap_or_else(|_| http::HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        value
    }

    /// Hides the token in text about to be shown (a last line of defence for logs).
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "[REDACTED]")
    }
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
    }
}
