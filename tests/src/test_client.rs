//! Test-only client: one blocking HTTP/1.1 exchange with the fake, and GraphQL helpers.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

use crate::calendar::{DAY, rfc3339, unix_now};
use crate::{API_HOST, API_PREFIX, FakeCloudflare, TOKEN};

pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("reply body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `body` posted to the GraphQL endpoint with the token.
pub(crate) fn post_graphql(fake: &FakeCloudflare, body: &str) -> Reply {
    send(
        fake,
        "POST",
        API_HOST,
        "/client/v4/graphql",
        Some(TOKEN),
        body,
    )
}

/// One blocking HTTP/1.1 exchange with `Connection: close`.
pub(crate) fn send(
    fake: &FakeCloudflare,
    method: &str,
    host: &str,
    target: &str,
    token: Option<&str>,
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(fake.addr()).expect("connect to the fake");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: cf-fake-test\r\n"
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the reply");
    let raw = String::from_utf8(raw).expect("reply is UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("reply has a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub(crate) fn api_get(fake: &FakeCloudflare, path: &str) -> Reply {
    send(
        fake,
        "GET",
        API_HOST,
        &format!("{API_PREFIX}{path}"),
        Some(TOKEN),
        "",
    )
}

/// The DNS query the analytics service is expected to send, in its variables form.
pub(crate) const NXDOMAIN_QUERY: &str = "query Top($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!, $limit: uint64!) {
    viewer { zones(filter: {zoneTag: $zoneTag}) {
        top: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: $limit, orderBy: [count_DESC, queryName_ASC]) {
            count
            avg { processingTimeUs }
            quantiles { processingTimeUsP50 processingTimeUsP90 }
            dimensions { queryName }
        }
    } }
}";

pub(crate) fn gql(fake: &FakeCloudflare, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let reply = post_graphql(fake, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// `[now - 24h, now)` as a datetime filter.
pub(crate) fn last_day() -> Value {
    let now = unix_now();
    json!({ "datetime_geq": rfc3339(now - DAY), "datetime_lt": rfc3339(now) })
}

pub(crate) fn only_error(answer: &Value) -> &Value {
    assert_eq!(answer["data"], Value::Null, "{answer}");
    let errors = answer["errors"].as_array().expect("an errors array");
    assert_eq!(errors.len(), 1, "{answer}");
    &errors[0]
}
