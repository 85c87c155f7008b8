//! The MCP prompt `troubleshoot-connection`: the connection page's troubleshooting list, point
//! by point, as steps an agent takes with this connector's tools (`verify` first, whose hints
//! say what to change), optionally for one service.

use super::render;
use crate::Service;
use rmcp::ErrorData;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, Prompt, PromptArgument, PromptMessage, Role,
};

pub const TROUBLESHOOT: &str = "troubleshoot-connection";

const INTRO: &str = "Troubleshoot this Cloudflare connection with the user, step by step:

1. Call `verify`. It checks that the API token is valid and active (not revoked, not expired), \
that the Account ID matches the account the token was created for, and every permission the \
enabled services need. For each check that is not ok, tell the user its hint: it names what to \
change (My Profile -> API Tokens in the dashboard) and links the page that explains it.
2. A failed token check: the token is wrong (copied whole, no spaces?), revoked or expired; \
Cloudflare shows a token once, so a lost one is replaced by a new token.
3. A failed account check: the Account ID must be the one the token was created for (Account \
home, or a domain's Overview page, right sidebar under API).";

const DNS: &str = "DNS Analytics:
- All four permissions are needed: Zone -> Zone -> Read, Zone -> Analytics -> Read, Zone -> \
DNS -> Read, Account -> Account Settings -> Read; verify names any that is missing.
- The token's Zone Resources must include the zones queried: `dns_list_zones` lists the zones \
it can read.
- An empty report can be honest: the zone may have no traffic (no DNS queries) in the range (`dns_report` \
says so in its notes), and a new zone's analytics may take up to 24 hours to appear.
- Whether a name is proxied through Cloudflare (orange cloud): `dns_records` shows `proxied`.";

const GRAPHQL: &str = "GraphQL Analytics:
- Account -> Account Analytics -> Read and Zone -> Analytics -> Read are needed; verify names \
any that is missing.
- Check a query's names against the schema: `graphql_schema_search` finds datasets and fields, \
`graphql_describe_type` lists a type's fields.
- Query within the allowed time range: `graphql_dataset_limits` gives a dataset's limits for \
the zone or account.";

const DOCS: &str = "Documentation needs no permission: `docs_search` and `docs_read` look up \
anything else in Cloudflare's developer docs.";

fn service_argument() -> PromptArgument {
    PromptArgument::new("service")
        .with_title("Service")
        .with_description(format!(
            "Only this service's steps: {}",
            render::accepted_services()
        ))
        .with_required(false)
}

/// The prompts this server offers.
pub fn list() -> Vec<Prompt> {
    vec![Prompt::new(
        TROUBLESHOOT,
        Some(
            "Walk through verify's checks and their fixes, the connection page's troubleshooting \
             list, for every enabled service or one",
        ),
        Some(vec![service_argument()]),
    )]
}

/// One prompt's messages.
pub fn get(request: &GetPromptRequestParams) -> Result<GetPromptResult, ErrorData> {
    if request.name != TROUBLESHOOT {
        return Err(ErrorData::invalid_params(
            format!(
                "no prompt {:?}; this server has {TROUBLESHOOT}",
                request.name
            ),
            None,
        ));
    }
    let service = match request.arguments.as_ref().and_then(|a| a.get("service")) {
        None => None,
        Some(value) => {
            let named = value.as_str().and_then(render::parse_service);
            Some(named.ok_or_else(|| {
                ErrorData::invalid_params(
                    format!(
                        "service: not a service; accepted: {}",
                        render::accepted_services()
                    ),
                    None,
                )
            })?)
        }
    };
    let mut text = INTRO.to_string();
    for (of, part) in [
        (Service::DnsAnalytics, DNS),
        (Service::GraphqlAnalytics, GRAPHQL),
        (Service::Documentation, DOCS),
    ] {
        if service.is_none_or(|s| s == of) {
            text.push_str("\n\n");
            text.push_str(part);
        }
    }
    let mut result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]);
    result.description = Some("Troubleshoot the Cloudflare connection".to_string());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(arguments: serde_json::Value) -> GetPromptRequestParams {
        serde_json::from_value(serde_json::json!({ "name": TROUBLESHOOT, "arguments": arguments }))
            .expect("params")
    }

    fn text(result: &GetPromptResult) -> String {
        serde_json::to_value(&result.messages)
            .expect("JSON")
            .to_string()
    }

    #[test]
    fn the_prompt_covers_every_point_of_the_connection_pages_list() {
        let all = text(&get(&request(serde_json::json!({}))).expect("the prompt"));
        for point in [
            "revoked",
            "Account ID matches",
            "Analytics -> Read",
            "traffic",
            "24 hours",
            "Account Settings",
            "Zone Resources",
            "orange cloud",
            "Account Analytics",
            "schema",
            "time range",
        ] {
            assert!(all.contains(point), "{point}");
        }
        let dns =
            text(&get(&request(serde_json::json!({ "service": "DNS Analytics" }))).expect("dns"));
        assert!(dns.contains("orange cloud") && !dns.contains("graphql_schema_search"));
        assert!(get(&request(serde_json::json!({ "service": "Workers" }))).is_err());
    }
}
