//! Query strings, pagination and the v4 envelope (`success`, `errors`, `result`,
//! `result_info`) of every REST answer, errors included.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::{Value, json};

pub(crate) const INVALID_TOKEN_FIXTURE: &str =
    include_str!("../../fixtures/error_1000_invalid_api_token.live.json");
pub(crate) const AUTH_ERROR_FIXTURE: &str =
    include_str!("../../fixtures/error_10000_authentication_error.live.json");

// ---------------------------------------------------------------------------------------------
// Query strings and pagination

pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(query: Option<&str>) -> QueryParams {
        let pairs = query.and_then(|q| decode_query(q).ok()).unwrap_or_default();
        QueryParams(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(page, per_page)`, or the message for a 400 when either is out of range.
    pub(crate) fn pagination(
        &self,
        default_per_page: u64,
        min_per_page: u64,
        max_per_page: u64,
    ) -> Result<(u64, u64), String> {
        let page = match self.get("page") {
            None => 1,
            Some(raw) => match raw.parse::<u64>() {
                Ok(page) if page >= 1 => page,
                _ => return Err("page must be a number of at least 1".to_owned()),
            },
        };
        let per_page = match self.get("per_page") {
            None => default_per_page,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (min_per_page..=max_per_page).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "per_page must be between {min_per_page} and {max_per_page}"
                    ));
                }
            },
        };
        Ok((page, per_page))
    }
}

/// Decodes `a=1&b=x%20y` with axum's form decoding (the same rules as a real query string).
pub(crate) fn decode_query(query: &str) -> Result<Vec<(String, String)>, ()> {
    let uri: http::Uri = format!("/?{query}").parse().map_err(|_| ())?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|axum::extract::Query(pairs)| pairs)
        .map_err(|_| ())
}

pub(crate) fn paginated(items: Vec<Value>, page: u64, per_page: u64) -> Response {
    let total_count = items.len() as u64;
    let total_pages = total_count.div_ceil(per_page);
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let page_items: Vec<Value> = items.into_iter().skip(skip).take(take).collect();
    let result_info = json!({
        "page": page,
        "per_page": per_page,
        "count": page_items.len(),
        "total_count": total_count,
        "total_pages": total_pages
    });
    success(Value::Array(page_items), Some(result_info))
}

// ---------------------------------------------------------------------------------------------
// Responses

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

pub(crate) fn raw_json_response(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

pub(crate) fn text_response(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) fn success(result: Value, result_info: Option<Value>) -> Response {
    let mut body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    if let Some(info) = result_info {
        body["result_info"] = info;
    }
    json_response(StatusCode::OK, body)
}

pub(crate) fn envelope_error(status: StatusCode, code: u32, message: &str) -> Response {
    envelope_errors(status, &[(code, message)])
}

pub(crate) fn envelope_errors(status: StatusCode, errors: &[(u32, &str)]) -> Response {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(code, message)| json!({ "code": code, "message": message }))
        .collect();
    json_response(
        status,
        json!({ "success": false, "errors": errors, "messages": [], "result": null }),
    )
}

pub(crate) fn bad_request(message: &str) -> Response {
    envelope_error(StatusCode::BAD_REQUEST, 1001, message)
}

pub(crate) fn invalid_token() -> Response {
    raw_json_response(StatusCode::UNAUTHORIZED, INVALID_TOKEN_FIXTURE)
}

pub(crate) fn unauthorized() -> Response {
    envelope_error(
        StatusCode::FORBIDDEN,
        9109,
        "Unauthorized to access requested resource",
    )
}

pub(crate) fn no_route() -> Response {
    envelope_error(StatusCode::NOT_FOUND, 7000, "No route for that URI")
}

/// `path` is the request path below `/client/v4`, as Cloudflare echoes it.
pub(crate) fn zone_not_found(path: &str) -> Response {
    let message = format!("Could not route to {path}, perhaps your object identifier is invalid?");
    envelope_errors(
        StatusCode::NOT_FOUND,
        &[(7003, &message), (7000, "No route for that URI")],
    )
}

pub(crate) fn parse_fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are valid JSON")
}
