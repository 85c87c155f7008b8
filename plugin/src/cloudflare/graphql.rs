//! GraphQL Analytics requests and responses (`POST /client/v4/graphql`).

use crate::cloudflare::envelope::{ApiReply, Envelope};
use crate::error::classify;
use crate::http::{Request, Response};
use crate::wit_types::{Error, GraphqlProblem};
use serde_json::{Value, json};

/// The request for a query; every user value goes in `variables`, never into the text.
pub fn request(query: &str, variables: &Value) -> Request {
    let body = json!({ "query": query, "variables": variables });
    Request::graphql(body.to_string().into_bytes())
}

/// A GraphQL answer: `data` and `errors` may both be present.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub data: Value,
    pub problems: Vec<GraphqlProblem>,
}

/// One `errors[]` entry, read field by field (a `null` message must not lose the code).
fn problem(raw: &Value) -> GraphqlProblem {
    let path = raw
        .get("path")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    GraphqlProblem {
        message: raw
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        path,
        code: raw
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .map(str::to_string),
        hint: None,
    }
}

/// Reads a GraphQL response. The endpoint may answer an authentication failure with the REST
/// envelope instead of a GraphQL body: that becomes the matching API error.
pub fn parse(request: &Request, mut response: Response) -> Result<Answer, Error> {
    let parsed = serde_json::from_slice::<Value>(&response.body);
    // The body's bytes are not needed once parsed: free them before the tree is worked on
    // (a 5 MiB answer must fit the instance's memory with its tree).
    response.body = Vec::new();
    let mut value: Value = parsed.map_err(|e| {
        classify_or(
            &response,
            Error::Transport(format!(
                "{}: the response is not JSON: {e}",
                request.describe()
            )),
        )
    })?;
    if value.get("success").is_some() && value.get("data").is_none() {
        let envelope = Envelope::from_owned(value);
        let reply = ApiReply {
            request: request.describe(),
            status: response.status,
            retry_after: response.retry_after,
            envelope,
        };
        return match reply.error(None) {
            Some(e) => Err(e),
            None => Err(Error::Transport(format!(
                "{}: a REST envelope without data",
                request.describe()
            ))),
        };
    }
    // A failing status with no data (absent or null) is the status's error: a 429 with
    // `data: null` is a rate limit, whatever `errors` says.
    if !(200..300).contains(&response.status) && value.get("data").is_none_or(Value::is_null) {
        return Err(classify(
            response.status,
            &[],
            "GraphQL request failed",
            response.retry_after,
            None,
        ));
    }
    let problems = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(problem).collect())
        .unwrap_or_default();
    Ok(Answer {
        // Taken, not cloned: the data is most of the tree.
        data: value
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null),
        problems,
    })
}

/// A status that is an error by itself keeps its meaning even when the body is not JSON.
fn classify_or(response: &Response, fallback: Error) -> Error {
    if (200..300).contains(&response.status) {
        fallback
    } else {
        classify(
            response.status,
            &[],
            "GraphQL request failed",
            response.retry_after,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Result<Answer, Error> {
        parse(
            &request("{ viewer { budget } }", &json!({})),
            Response {
                status,
                retry_after: None,
                body: body.as_bytes().to_vec(),
            },
        )
    }

    #[test]
    fn variables_are_sent_apart_from_the_query() {
        let r = request(
            "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { zoneTag } } }",
            &json!({"zoneTag": "\"}) { evil"}),
        );
        let body: Value =
            serde_json::from_slice(r.body.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(body["variables"]["zoneTag"], "\"}) { evil");
        assert!(!body["query"].as_str().unwrap_or_default().contains("evil"));
    }

    #[test]
    fn keeps_data_and_errors_together() {
        let a = answer(
            200,
            r#"{"data":null,"errors":[{"message":"not authorized for that account","path":["viewer","zones",0],"extensions":{"code":"authz"}}]}"#,
        )
        .expect("graphql body");
        assert_eq!(a.data, Value::Null);
        assert_eq!(a.problems[0].code.as_deref(), Some("authz"));
        assert_eq!(a.problems[0].path, vec!["viewer", "zones", "0"]);
    }

    #[test]
    fn a_rest_envelope_becomes_an_api_error() {
        let e = answer(
            401,
            r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}"#,
        );
        assert!(matches!(e, Err(Error::Unauthorized(_))));
    }

    #[test]
    fn a_failing_status_with_null_data_is_the_statuss_error() {
        let e = answer(
            429,
            r#"{"data":null,"errors":[{"message":"slow down","extensions":{"code":"budget"}}]}"#,
        );
        assert!(matches!(e, Err(Error::RateLimited(_))), "{e:?}");
    }

    #[test]
    fn a_null_message_keeps_the_code() {
        let a = answer(
            200,
            r#"{"data":null,"errors":[{"message":null,"extensions":{"code":"budget"}}]}"#,
        )
        .expect("graphql body");
        assert_eq!(a.problems[0].code.as_deref(), Some("budget"));
    }

    #[test]
    fn null_errors_mean_none() {
        let a = answer(200, r#"{"data":{"viewer":{}},"errors":null}"#).expect("ok");
        assert!(a.problems.is_empty());
    }
}
