//! GraphQL Analytics requests and responses (`POST /client/v4/graphql`).

use crate::cloudflare::envelope::{ApiReply, Envelope, not_an_answer, what_came_back};
use crate::error::classify;
use crate::http::{Request, Response};
use crate::wit_types::{Error, GraphqlProblem, RateLimit, RateLimiter};
use serde_json::{Value, json};

mod cut;
mod tree;

pub use cut::{ListCut, Step};
pub use tree::Keep;

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
    /// The lists of `data` cut to what [`Keep`] kept (none for [`Keep::FirstItems`]).
    pub cuts: Vec<ListCut>,
}

/// How many `errors[]` entries an answer keeps, and how much of each message: an upstream that
/// answers a thousand errors, or one that quotes a whole query back, stays a readable error.
const MAX_PROBLEMS: usize = 20;
const MAX_PROBLEM_CHARS: usize = 1000;

/// A message cut to [`MAX_PROBLEM_CHARS`] characters, saying how much was left out.
fn bounded_message(text: &str) -> String {
    let mut chars = text.chars();
    let mut kept: String = chars.by_ref().take(MAX_PROBLEM_CHARS).collect();
    let rest = chars.count();
    if rest > 0 {
        kept.push_str(&format!("… ({rest} more characters)"));
    }
    kept
}

/// The `errors[]` entries, at most [`MAX_PROBLEMS`] of them and a last one that counts the rest.
fn problems(list: &[Value]) -> Vec<GraphqlProblem> {
    let mut kept: Vec<GraphqlProblem> = list.iter().take(MAX_PROBLEMS).map(problem).collect();
    if list.len() > MAX_PROBLEMS {
        kept.push(GraphqlProblem {
            message: format!("{} more errors left out", list.len() - MAX_PROBLEMS),
            path: Vec::new(),
            code: None,
            hint: None,
        });
    }
    kept
}

/// One `errors[]` entry, read field by field (a `null` message must not lose the code).
fn problem(raw: &Value) -> GraphqlProblem {
    let path = raw
        .get("path")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .take(MAX_PROBLEMS)
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    GraphqlProblem {
        message: bounded_message(
            raw.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        path,
        code: raw
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .map(bounded_message),
        hint: None,
    }
}

/// Reads a GraphQL response. The endpoint may answer an authentication failure with the REST
/// envelope instead of a GraphQL body: that becomes the matching API error.
pub fn parse(request: &Request, response: Response) -> Result<Answer, Error> {
    parse_kept(request, response, Keep::FirstItems(usize::MAX))
}

/// [`parse`], building only what `keep` keeps: the rest is read past, never built. A report
/// that needs 10,001 rows of a 5 MiB answer builds the tree of those rows only; a query cut to
/// 256 KiB builds the rows that fit.
pub fn parse_kept(request: &Request, mut response: Response, keep: Keep) -> Result<Answer, Error> {
    // A success status over what is not JSON (a proxy's page, a cut-off or non-UTF-8 body) is
    // no answer at all, said as the REST reads say it.
    let (mut value, cuts) = match tree::read(&response.body, keep) {
        Ok(read) => read,
        Err(_) => {
            let what = what_came_back(request.host, &response);
            let error = not_an_answer(response.status, format!("{}: {what}", request.describe()));
            return Err(classify_or(&response, error));
        }
    };
    // The body's bytes are not needed once parsed: free them before the tree is worked on
    // (a 5 MiB answer must fit the instance's memory with its tree).
    response.body = Vec::new();
    // JSON that is neither a GraphQL body nor an envelope (`[1, 2]`, `{}`) is not an answer.
    if value.get("data").is_none()
        && value.get("errors").is_none()
        && value.get("success").is_none()
    {
        let error = not_an_answer(
            response.status,
            format!(
                "{}: {} answered JSON without data or errors, not a GraphQL response",
                request.describe(),
                request.host
            ),
        );
        return Err(classify_or(&response, error));
    }
    if value.get("success").is_some() && value.get("data").is_none() {
        let envelope = Envelope::from_owned(value);
        let reply = ApiReply {
            request: request.describe(),
            status: response.status,
            rate_limit: request.rate_limit(response.retry_after),
            envelope,
            not_an_envelope: None,
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
        return Err(status_error(&response));
    }
    let problems = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| problems(list))
        .unwrap_or_default();
    Ok(Answer {
        // Taken, not cloned: the data is most of the tree.
        data: value
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null),
        problems,
        cuts,
    })
}

/// A status that is an error by itself keeps its meaning even when the body is not JSON.
fn classify_or(response: &Response, fallback: Error) -> Error {
    if (200..300).contains(&response.status) {
        fallback
    } else {
        status_error(response)
    }
}

/// The error a failing status says by itself (a 429 is GraphQL's own rate limit).
fn status_error(response: &Response) -> Error {
    classify(
        response.status,
        &[],
        "GraphQL request failed",
        RateLimit {
            limiter: RateLimiter::Graphql,
            retry_after: response.retry_after,
        },
        None,
    )
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
                content_type: None,
            },
        )
    }

    #[test]
    fn a_capped_parse_keeps_the_first_items_of_every_array_and_reads_past_the_rest() {
        let body = r#"{"data":{"rows":[{"a":[1,2,3]},{"a":[]},{"a":[4]}],"total":[{"n":1.5}]},
                       "errors":[{"message":"m","path":["x",0,"y"]}]}"#;
        let capped = parse_kept(
            &request("{ x }", &json!({})),
            Response {
                status: 200,
                retry_after: None,
                body: body.as_bytes().to_vec(),
                content_type: None,
            },
            Keep::FirstItems(2),
        )
        .expect("graphql body");
        assert_eq!(
            capped.data,
            json!({"rows": [{"a": [1, 2]}, {"a": []}], "total": [{"n": 1.5}]})
        );
        assert_eq!(capped.problems[0].path, vec!["x", "0"]);
    }

    fn capped_value(body: &[u8], max_items: usize) -> serde_json::Result<Value> {
        tree::read(body, Keep::FirstItems(max_items)).map(|(value, _)| value)
    }

    #[test]
    fn an_uncapped_parse_reads_what_serde_json_reads() {
        for body in [
            r#"{"data":{"viewer":{"zones":[{"a":null,"b":true,"c":-3,"d":18446744073709551615,"e":"\u00e9\n","f":1e-3,"g":{}}]}}}"#,
            r#"[[[]],{"k":[{"k":"v"}]}]"#,
            r#""text""#,
        ] {
            let expected: Value = serde_json::from_str(body).expect("valid JSON");
            assert_eq!(
                capped_value(body.as_bytes(), usize::MAX).expect("parses"),
                expected
            );
        }
        for bad in [r#"{"a":1} trailing"#, r#"{"a":"#, "[1,]", "NaN", "1e400"] {
            assert!(capped_value(bad.as_bytes(), usize::MAX).is_err(), "{bad}");
            assert!(capped_value(bad.as_bytes(), 0).is_err(), "{bad} (capped)");
            assert!(
                tree::read(bad.as_bytes(), Keep::DataFitting(0)).is_err(),
                "{bad} (cut)"
            );
        }
        // What the cap reads past is checked as strictly: invalid UTF-8, a number out of range.
        for bad in [
            &b"[1, \"\xe8\xe8\"]"[..],
            b"[1, {\"\xff\": 2}]",
            b"[1, [1e400]]",
        ] {
            assert!(capped_value(bad, usize::MAX).is_err());
            assert!(
                capped_value(bad, 1).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
            let in_data = [&b"{\"data\":"[..], bad, b"}"].concat();
            assert!(tree::read(&in_data, Keep::DataFitting(0)).is_err());
        }
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

    /// An HTML page, a cut-off body, non-UTF-8 bytes or JSON without data or errors under a
    /// 200 is an `upstream` error saying what came back, never an empty answer.
    #[test]
    fn a_success_status_over_anything_but_a_graphql_body_is_an_upstream_error() {
        let cases: [&[u8]; 4] = [
            b"<!DOCTYPE html><html><title>Attention Required!</title>",
            br#"{"data":{"viewer":{"zones":[{"#,
            &[0xff, 0xfe, b'{'],
            b"[1, 2]",
        ];
        for body in cases {
            let outcome = parse(
                &request("{ viewer { budget } }", &json!({})),
                Response {
                    status: 200,
                    retry_after: None,
                    body: body.to_vec(),
                    content_type: Some("text/html".to_string()),
                },
            );
            match outcome {
                Err(Error::Upstream(f)) => {
                    assert_eq!(f.status, 200);
                    assert!(f.hint.is_some());
                }
                other => panic!(
                    "{}: expected upstream, got {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
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
        // GraphQL's own limit, not the API's.
        assert!(
            matches!(
                e,
                Err(Error::RateLimited(RateLimit {
                    limiter: RateLimiter::Graphql,
                    ..
                }))
            ),
            "{e:?}"
        );
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
    fn many_or_long_errors_are_kept_bounded() {
        let errors: Vec<Value> = (0..50)
            .map(|i| json!({ "message": format!("{i} {}", "x".repeat(100_000)), "path": ["viewer"] }))
            .collect();
        let body = json!({ "data": null, "errors": errors }).to_string();
        let a = answer(200, &body).expect("an answer with errors");
        assert_eq!(a.problems.len(), MAX_PROBLEMS + 1);
        assert!(a.problems[..MAX_PROBLEMS].iter().all(|p| {
            p.message.chars().count() < MAX_PROBLEM_CHARS + 40
                && p.message.ends_with("more characters)")
        }));
        assert_eq!(a.problems[MAX_PROBLEMS].message, "30 more errors left out");
    }

    #[test]
    fn null_errors_mean_none() {
        let a = answer(200, r#"{"data":{"viewer":{}},"errors":null}"#).expect("ok");
        assert!(a.problems.is_empty());
    }
}
