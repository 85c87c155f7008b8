//! What the fake pretends about the token and the account: [`Scenario`], its names, and the
//! questions the routes ask of it.

use std::fmt;
use std::str::FromStr;

use crate::{ACCOUNT_ID, OTHER_ACCOUNT_ID};

/// A permission the token may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    ZoneRead,
    ZoneAnalyticsRead,
    DnsRead,
    AccountSettingsRead,
    AccountAnalyticsRead,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::ZoneRead,
        Permission::ZoneAnalyticsRead,
        Permission::DnsRead,
        Permission::AccountSettingsRead,
        Permission::AccountAnalyticsRead,
    ];

    /// Kebab-case name, as used in scenario names (`missing-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Permission::ZoneRead => "zone-read",
            Permission::ZoneAnalyticsRead => "zone-analytics-read",
            Permission::DnsRead => "dns-read",
            Permission::AccountSettingsRead => "account-settings-read",
            Permission::AccountAnalyticsRead => "account-analytics-read",
        }
    }
}

/// What the fake pretends about the token and the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// User-owned token with every permission; its own details are not readable.
    AllPermissions,
    /// Every API request fails with 401, code 1000.
    InvalidToken,
    /// Verifies only at `/accounts/{ACCOUNT_ID}/tokens/verify`; otherwise as `AllPermissions`.
    AccountOwnedToken,
    /// One permission lacking.
    Missing(Permission),
    /// The token belongs to [`OTHER_ACCOUNT_ID`], which also owns the zones.
    OtherAccount,
    /// Every API request fails with 429 and `retry-after: 30`.
    RateLimited,
    /// The token sees no zones.
    NoZones,
    /// Verify reports `expires_on` five days from now.
    ExpiringSoon,
    /// Verify reports status `disabled`; every other API call fails with 401.
    DisabledToken,
    /// Verify reports status `expired`; every other API call fails with 401.
    ExpiredToken,
    /// As `AllPermissions`, and `GET /user/tokens/{TOKEN_ID}` returns the token's policies.
    TokenDetailsReadable,
    /// As `AllPermissions`, but every GraphQL query answers HTTP 200 `{"data": null, "errors":
    /// [{"message": "budget exceeded, please retry later", "path": null, "extensions": {"code":
    /// "budget", "timestamp"}}]}` (see [`BUDGET_EXCEEDED_MESSAGE`]).
    GraphqlBudget,
    /// As [`Scenario::GraphqlBudget`] with `"quota exceeded, please retry later"` and code
    /// `quota` (see [`QUOTA_EXCEEDED_MESSAGE`]).
    GraphqlQuota,
    /// Every API request answers HTTP 200 with an HTML page, as a proxy or captive portal in
    /// the way does ("Attention Required!"); the docs host answers as usual.
    HtmlInsteadOfJson,
    /// Every API request answers HTTP 502 with an HTML page, as a load balancer whose backend
    /// is down does.
    HtmlBadGateway,
    /// Every API request answers HTTP 500 with an envelope carrying codes 10000 and 7000, which
    /// alone would read as a missing permission and a missing resource.
    ServerErrorWithCodes,
    /// Every API request (REST and GraphQL) answers HTTP 200 `application/json` with a body cut
    /// off mid-JSON.
    CutOffJson,
    /// Every API request fails with 429 and a `Retry-After` of 99,999,999,999 seconds, too
    /// large for a 32-bit count.
    HugeRetryAfter,
    /// Every API request is read, recorded, and its connection closed with no answer at all,
    /// as a proxy or load balancer that gives up does.
    DroppedConnection,
    /// Every API request answers HTTP 200 with a `Content-Length` of 4096 and the first 18
    /// bytes of a zone list, then the connection closes.
    DroppedMidBody,
    /// Every API request answers HTTP 200 with a `Content-Length` of 4096 and the first 18
    /// bytes of a zone list, then nothing for ten minutes: longer than the host waits between
    /// two bytes.
    TrickledBody,
    /// The docs host answers every request with HTTP 429 and `Retry-After: 12` (its own
    /// limit, Cloudflare's error 1015 page); the API answers as [`Scenario::AllPermissions`].
    DocsRateLimited,
    /// As [`Scenario::AllPermissions`], but every API answer quotes the request's
    /// `Authorization` back, as a proxy does in an error page or a debugging header: in
    /// `x-echoed-authorization`, inside `x-request-headers`, and in a JSON body as
    /// `"echo": {"authorization": …}`. The token verification answer (`/user/tokens/verify`) is
    /// sent 5 bytes at a time, with its `Content-Length`, so the token straddles the chunks
    /// read (see `echo.rs`).
    EchoesAuthorization,
}

impl Scenario {
    /// Every scenario, in the order of [`Scenario::NAMES`].
    pub const ALL: &[Scenario] = &[
        Scenario::AllPermissions,
        Scenario::InvalidToken,
        Scenario::AccountOwnedToken,
        Scenario::Missing(Permission::ZoneRead),
        Scenario::Missing(Permission::ZoneAnalyticsRead),
        Scenario::Missing(Permission::DnsRead),
        Scenario::Missing(Permission::AccountSettingsRead),
        Scenario::Missing(Permission::AccountAnalyticsRead),
        Scenario::OtherAccount,
        Scenario::RateLimited,
        Scenario::NoZones,
        Scenario::ExpiringSoon,
        Scenario::DisabledToken,
        Scenario::ExpiredToken,
        Scenario::TokenDetailsReadable,
        Scenario::GraphqlBudget,
        Scenario::GraphqlQuota,
        Scenario::HtmlInsteadOfJson,
        Scenario::HtmlBadGateway,
        Scenario::ServerErrorWithCodes,
        Scenario::CutOffJson,
        Scenario::HugeRetryAfter,
        Scenario::DroppedConnection,
        Scenario::DroppedMidBody,
        Scenario::TrickledBody,
        Scenario::DocsRateLimited,
        Scenario::EchoesAuthorization,
    ];

    /// The names accepted by `FromStr` (and by `fake-cloudflare --scenario`).
    pub const NAMES: &[&str] = &[
        "all-permissions",
        "invalid-token",
        "account-owned-token",
        "missing-zone-read",
        "missing-zone-analytics-read",
        "missing-dns-read",
        "missing-account-settings-read",
        "missing-account-analytics-read",
        "other-account",
        "rate-limited",
        "no-zones",
        "expiring-soon",
        "disabled-token",
        "expired-token",
        "token-details-readable",
        "graphql-budget",
        "graphql-quota",
        "html-instead-of-json",
        "html-bad-gateway",
        "server-error-with-codes",
        "cut-off-json",
        "huge-retry-after",
        "dropped-connection",
        "dropped-mid-body",
        "trickled-body",
        "docs-rate-limited",
        "echoes-authorization",
    ];

    /// The kebab-case name of this scenario.
    pub fn name(self) -> &'static str {
        let index = Scenario::ALL
            .iter()
            .position(|s| *s == self)
            .expect("Scenario::ALL lists every scenario");
        Scenario::NAMES[index]
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown scenario name; its message lists the accepted names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown scenario {:?}; accepted: {}",
            self.0,
            Scenario::NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownScenario {}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::NAMES
            .iter()
            .position(|name| *name == s)
            .map(|index| Scenario::ALL[index])
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

pub(crate) fn permission_missing(scenario: Scenario, permission: Permission) -> bool {
    scenario == Scenario::Missing(permission)
}

/// The account that owns the token (and the zones).
pub(crate) fn token_account(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::OtherAccount => OTHER_ACCOUNT_ID,
        _ => ACCOUNT_ID,
    }
}

/// Disabled and expired tokens still verify (with their status) but may call nothing else.
pub(crate) fn token_unusable(scenario: Scenario) -> bool {
    matches!(scenario, Scenario::DisabledToken | Scenario::ExpiredToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        assert_eq!(Scenario::ALL.len(), Scenario::NAMES.len());
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(*scenario));
        }
        assert_eq!(
            "missing-dns-read".parse::<Scenario>(),
            Ok(Scenario::Missing(Permission::DnsRead))
        );
        let error = "bogus".parse::<Scenario>().expect_err("unknown name");
        assert!(error.to_string().contains("all-permissions"));
    }
}
