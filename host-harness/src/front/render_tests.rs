use super::*;
use crate::{GraphqlProblem, InputProblem, RateLimit, RateLimiter};

/// The error's fields as its JSON carries them.
fn body_json(error: &PluginError) -> Value {
    error_json(error)["error"].clone()
}

/// A forbidden error names the permission as the dashboard does and links the permissions page;
/// every error has `docs_url` and `hint`, null where there is none.
#[test]
fn a_forbidden_error_names_the_dashboard_permission_and_links_its_page() {
    let errors = every_error();
    let forbidden = errors
        .iter()
        .find(|e| matches!(e, PluginError::Forbidden(_)))
        .expect("every_error has a forbidden error");
    let body = body_json(forbidden);
    assert_eq!(body["kind"], "forbidden");
    assert_eq!(body["permission"], "Zone → DNS → Read");
    assert_eq!(
        body["docs_url"],
        "https://developers.cloudflare.com/fundamentals/api/reference/permissions/"
    );
    for error in &errors {
        let body = body_json(error);
        assert!(body.get("docs_url").is_some(), "{body}");
        assert!(body.get("hint").is_some(), "{body}");
    }
}

/// One of each error the contract has.
fn every_error() -> Vec<PluginError> {
    let failure = ApiFailure {
        status: 403,
        codes: vec![10000],
        message: "Authentication error".into(),
        hint: Some("Add the permission Zone → DNS → Read to the token.".into()),
        permission: Some(Permission::DnsRead),
    };
    vec![
        PluginError::InvalidInput(InputProblem {
            field: "limit".into(),
            message: "at least 1".into(),
        }),
        PluginError::NotConnected("not connected".into()),
        PluginError::ServiceDisabled(Service::DnsAnalytics),
        PluginError::Unauthorized(failure.clone()),
        PluginError::Forbidden(failure.clone()),
        PluginError::NotFound(failure.clone()),
        PluginError::PlanLimit(failure.clone()),
        PluginError::RateLimited(RateLimit {
            limiter: RateLimiter::Api,
            retry_after: Some(30),
        }),
        PluginError::RateLimited(RateLimit {
            limiter: RateLimiter::Graphql,
            retry_after: None,
        }),
        PluginError::RateLimited(RateLimit {
            limiter: RateLimiter::Docs,
            retry_after: Some(12),
        }),
        PluginError::QueryRejected(vec![GraphqlProblem {
            message: "budget exceeded".into(),
            path: vec!["viewer".into()],
            code: Some("budget".into()),
            hint: Some("Ask for a shorter range.".into()),
        }]),
        PluginError::Upstream(failure),
        PluginError::DeniedByHost("the host refused evil.test".into()),
        PluginError::Transport("connection refused".into()),
        PluginError::Internal("a bug".into()),
    ]
}

#[test]
fn a_disabled_service_is_named_as_users_know_it_with_a_hint_to_enable_it() {
    let (kind, message, hint) = error_parts(&PluginError::ServiceDisabled(Service::DnsAnalytics));
    assert_eq!(kind, "service-disabled");
    assert!(
        message.contains("DNS Analytics") && message.contains("dns-analytics"),
        "{message}"
    );
    let hint = hint.expect("a hint");
    for way in ["ENABLED_SERVICES", "--services", "connect"] {
        assert!(hint.contains(way), "{hint}");
    }
    let body = body_json(&PluginError::ServiceDisabled(Service::GraphqlAnalytics));
    assert_eq!(body["service"], "graphql-analytics");
}

#[test]
fn no_error_renders_rust_debug_text() {
    for error in every_error() {
        let (kind, message, hint) = error_parts(&error);
        assert!(
            kind.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{kind}"
        );
        for text in [
            message,
            hint.unwrap_or_default(),
            error_text(&error),
            error_json(&error).to_string(),
        ] {
            for debug in ["::", "{ ", "Some("] {
                assert!(!text.contains(debug), "{kind}: {text}");
            }
        }
    }
}

#[test]
fn errors_the_user_can_act_on_carry_a_hint() {
    for error in every_error() {
        let (kind, _, hint) = error_parts(&error);
        if kind != "invalid-input" {
            assert!(hint.is_some_and(|h| !h.is_empty()), "{kind}");
        }
    }
}

/// Each 429 names whose limit it was, in the JSON's typed fields and in words: the docs host's
/// is its own, never the API's 1,200 requests; the API's and GraphQL's name their budgets.
#[test]
fn a_rate_limit_names_whose_limit_it_was() {
    let limit = |limiter| {
        PluginError::RateLimited(RateLimit {
            limiter,
            retry_after: Some(12),
        })
    };
    let docs = body_json(&limit(RateLimiter::Docs));
    assert_eq!(docs["kind"], "rate-limited");
    assert_eq!(docs["limiter"], "docs");
    assert_eq!(docs["host"], "developers.cloudflare.com");
    assert_eq!(docs["retry_after_seconds"], 12);
    let (_, message, hint) = error_parts(&limit(RateLimiter::Docs));
    assert!(message.contains("developers.cloudflare.com"), "{message}");
    assert!(!message.contains("Cloudflare's API"), "{message}");
    assert!(hint.is_some_and(|h| h.contains("not the API's")));

    let api = body_json(&limit(RateLimiter::Api));
    assert_eq!(
        (api["limiter"].as_str(), api["host"].as_str()),
        (Some("api"), Some("api.cloudflare.com"))
    );
    assert!(
        api["hint"]
            .as_str()
            .is_some_and(|h| h.contains("1,200 requests per 5 minutes"))
    );

    let graphql = body_json(&limit(RateLimiter::Graphql));
    assert_eq!(graphql["limiter"], "graphql");
    assert_eq!(graphql["host"], "api.cloudflare.com");
    assert!(
        graphql["hint"]
            .as_str()
            .is_some_and(|h| h.contains("300 queries per 5 minutes"))
    );
}

#[test]
fn service_names_parse_as_users_write_them_and_round_trip() {
    for service in SERVICES {
        let (name, slug) = service_names(service);
        assert_eq!(parse_service(name), Some(service));
        assert_eq!(parse_service(slug), Some(service));
        assert_eq!(
            parse_service(&slug.replace('-', "_").to_uppercase()),
            Some(service)
        );
    }
    assert_eq!(
        parse_services(" Documentation, dns-analytics ,,GraphQL Analytics").ok(),
        Some(SERVICES.to_vec())
    );
    let Err(PluginError::InvalidInput(problem)) = parse_services("DNS,Docs") else {
        panic!("an unknown service is invalid input");
    };
    assert_eq!(problem.field, "enabled-services");
    assert!(
        problem.message.contains("\"DNS\"")
            && problem.message.contains("DNS Analytics (dns-analytics)")
    );
    assert_eq!(parse_services(" , ").ok(), Some(Vec::new()));
}
