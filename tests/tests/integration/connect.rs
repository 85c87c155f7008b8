//! `connect`: validation, what it returns, and the environment fallback.

use crate::common::{ALL_SERVICES, connected, harness, sandbox};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, Scenario};
use host_harness::{ConnectOptions, InputProblem, Permission, PluginError, Service};
use serde_json::Value;

fn options(account_id: &str, services: &[Service]) -> ConnectOptions {
    ConnectOptions {
        account_id: account_id.to_string(),
        enabled_services: services.to_vec(),
    }
}

fn invalid_field(result: Result<impl std::fmt::Debug, PluginError>) -> String {
    match result {
        Err(PluginError::InvalidInput(InputProblem { field, .. })) => field,
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_returns_services_permissions_and_hosts() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    let upper = ACCOUNT_ID.to_uppercase();
    let info = instance
        .connect(&options(
            &upper,
            &[
                Service::GraphqlAnalytics,
                Service::Documentation,
                Service::DnsAnalytics,
            ],
        ))
        .await
        .expect("no trap")
        .expect("valid");
    assert_eq!(info.account_id, ACCOUNT_ID);
    assert_eq!(info.source, "connect");
    let services: Vec<Service> = info.services.iter().map(|s| s.service).collect();
    assert_eq!(services, ALL_SERVICES);
    let permissions = |i: usize| {
        info.services[i]
            .permissions
            .iter()
            .map(|p| p.permission)
            .collect::<Vec<_>>()
    };
    assert!(permissions(0).is_empty());
    assert_eq!(
        permissions(1),
        [
            Permission::ZoneRead,
            Permission::ZoneAnalyticsRead,
            Permission::DnsRead,
            Permission::AccountSettingsRead
        ]
    );
    assert_eq!(
        permissions(2),
        [
            Permission::AccountAnalyticsRead,
            Permission::ZoneAnalyticsRead
        ]
    );
    assert_eq!(
        info.hosts,
        ["api.cloudflare.com", "developers.cloudflare.com"]
    );
    assert!(fake.requests().is_empty(), "connect sends no request");
}

#[tokio::test]
async fn connect_rejects_bad_account_ids_and_empty_services() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    for bad in [
        "",
        "   ",
        "1234",
        "01a7362d577a6c3019a474fd6f48582",
        "01a7362d577a6c3019a474fd6f4858231",
        "0xa7362d577a6c3019a474fd6f485823",
        "zone.example.com",
    ] {
        let result = instance
            .connect(&options(bad, &[Service::DnsAnalytics]))
            .await
            .expect("no trap");
        assert_eq!(invalid_field(result), "account-id", "{bad:?}");
    }
    let result = instance
        .connect(&options(ACCOUNT_ID, &[]))
        .await
        .expect("no trap");
    assert_eq!(invalid_field(result), "enabled-services");
}

#[tokio::test]
async fn connect_tool_accepts_the_names_users_know() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    for names in [
        r#"["Documentation", "DNS Analytics", "GraphQL Analytics"]"#,
        r#"["documentation", "dns-analytics", "graphql-analytics"]"#,
        r#"["DOCUMENTATION", "dns analytics", "GraphqlAnalytics"]"#,
    ] {
        let args = format!(r#"{{"account_id": "{ACCOUNT_ID}", "enabled_services": {names}}}"#);
        let json = instance
            .call_tool("connect", &args)
            .await
            .expect("no trap")
            .expect(names);
        let info: Value = serde_json::from_str(&json).expect("JSON result");
        let services: Vec<&str> = info["services"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|s| s["service"].as_str())
            .collect();
        assert_eq!(
            services,
            ["documentation", "dns-analytics", "graphql-analytics"],
            "{names}"
        );
    }
}

#[tokio::test]
async fn connect_tool_rejects_unknown_services_and_arguments() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    let cases = [
        (
            format!(r#"{{"account_id": "{ACCOUNT_ID}", "enabled_services": ["DNS", "Docs"]}}"#),
            "enabled_services[0]",
        ),
        (
            format!(r#"{{"account_id": "{ACCOUNT_ID}", "enabled_services": []}}"#),
            "enabled_services",
        ),
        (
            format!(
                r#"{{"account_id": "{ACCOUNT_ID}", "enabled_services": ["Documentation"], "token": "x"}}"#
            ),
            "token",
        ),
        (
            r#"{"enabled_services": ["Documentation"]}"#.to_string(),
            "account_id",
        ),
        ("[1, 2]".to_string(), "arguments"),
        ("{not json".to_string(), "arguments"),
    ];
    for (args, field) in cases {
        let result = instance.call_tool("connect", &args).await.expect("no trap");
        assert_eq!(invalid_field(result), field, "{args}");
    }
    let result = instance
        .call_tool("delete_zone", "{}")
        .await
        .expect("no trap");
    assert_eq!(invalid_field(result), "name");
}

#[tokio::test]
async fn without_connect_the_granted_environment_is_used() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.guest_env = vec![
        ("CLOUDFLARE_ACCOUNT_ID".into(), ACCOUNT_ID.into()),
        (
            "ENABLED_SERVICES".into(),
            "Documentation, GraphQL Analytics".into(),
        ),
    ];
    let mut instance = harness().instantiate(&config).await.expect("instantiates");
    let report = instance
        .verify()
        .await
        .expect("no trap")
        .expect("connected from the environment");
    assert_eq!(report.account_id, ACCOUNT_ID);
    let services: Vec<Service> = report.services.iter().map(|s| s.service).collect();
    assert_eq!(
        services,
        [Service::Documentation, Service::GraphqlAnalytics]
    );
}

#[tokio::test]
async fn without_connect_or_environment_verify_is_not_connected() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    let result = instance.verify().await.expect("no trap");
    assert!(
        matches!(result, Err(PluginError::NotConnected(_))),
        "{result:?}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn tool_list_has_every_operation_with_schemas() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = harness()
        .instantiate(&sandbox(&fake))
        .await
        .expect("instantiates");
    // Before a connection, only `connect` and `verify`.
    let tools = instance.list_tools().await.expect("no trap");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["connect", "verify"]);

    let mut instance = connected(&sandbox(&fake), &ALL_SERVICES).await;
    let tools = instance.list_tools().await.expect("no trap");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "verify",
            "docs_search",
            "docs_read",
            "docs_products",
            "dns_list_zones",
            "dns_get_zone",
            "dns_records",
            "dns_report",
            "dns_timeseries",
            "graphql_query",
            "graphql_dataset_limits",
            "graphql_schema_search",
            "graphql_describe_type",
            "graphql_http_traffic",
            "graphql_top_http",
            "graphql_firewall_events"
        ]
    );
    for tool in &tools {
        assert!(tool.read_only, "{}", tool.name);
        assert_eq!(
            tool.service.is_none(),
            tool.name == "verify",
            "{}",
            tool.name
        );
        let schema: Value = serde_json::from_str(&tool.input_schema).expect("schema is JSON");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert!(!tool.description.is_empty());
    }
}
