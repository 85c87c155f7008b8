//! BENCHMARKS ONLY: GraphQL answers grown to a target size (see
//! [`FakeCloudflare::set_graphql_inflation`](crate::FakeCloudflare::set_graphql_inflation)).

use axum::body::Body;
use axum::response::Response;
use http::{StatusCode, header};
use serde_json::Value;

use crate::rest::envelope::text_response;

/// A GraphQL answer grown by [`inflate_graphql_answer`]; anything else (not JSON, no data, a
/// `settings` lookup, introspection) is sent as it was.
pub(crate) async fn inflate_response(response: Response, target_bytes: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return text_response(StatusCode::INTERNAL_SERVER_ERROR, "unreadable answer\n");
    };
    let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if !inflate_graphql_answer(&mut answer, target_bytes) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let Ok(inflated) = serde_json::to_vec(&answer) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(inflated))
}

/// Grows a GraphQL answer (`{"data": …, "errors": …}`) until its compact JSON is at least
/// `target_bytes` long, by appending to the array under `data` with the most items (the
/// innermost on a tie) copies of its items, first to last, again and again. Returns whether it
/// changed anything: not when the answer is already that long, has no non-empty array under
/// `data`, or answers a `settings` lookup or introspection (the connector asks for those
/// before its data queries; Cloudflare's are small).
pub fn inflate_graphql_answer(answer: &mut Value, target_bytes: usize) -> bool {
    type Best = Option<(usize, String)>;
    /// Visits `child` at `pointer` + `/key`.
    fn visit(key: &str, child: &Value, pointer: &mut String, best: &mut Best) {
        let length = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        largest_array(child, pointer, best);
        pointer.truncate(length);
    }
    fn largest_array(value: &Value, pointer: &mut String, best: &mut Best) {
        match value {
            Value::Array(items) => {
                if !items.is_empty() && best.as_ref().is_none_or(|(most, _)| items.len() >= *most) {
                    *best = Some((items.len(), pointer.clone()));
                }
                for (index, item) in items.iter().enumerate() {
                    visit(&index.to_string(), item, pointer, best);
                }
            }
            Value::Object(map) => {
                for (key, child) in map {
                    visit(key, child, pointer, best);
                }
            }
            _ => {}
        }
    }
    fn has_key(value: &Value, wanted: &[&str]) -> bool {
        match value {
            Value::Array(items) => items.iter().any(|item| has_key(item, wanted)),
            Value::Object(map) => map
                .iter()
                .any(|(key, child)| wanted.contains(&key.as_str()) || has_key(child, wanted)),
            _ => false,
        }
    }

    let Some(data) = answer.get("data") else {
        return false;
    };
    if has_key(data, &["settings", "__schema", "__type"]) {
        return false;
    }
    let mut best = None;
    largest_array(data, &mut String::from("/data"), &mut best);
    let Some((_, pointer)) = best else {
        return false;
    };
    let Ok(mut size) = serde_json::to_vec(answer).map(|bytes| bytes.len()) else {
        return false;
    };
    if size >= target_bytes {
        return false;
    }
    let Some(Value::Array(items)) = answer.pointer_mut(&pointer) else {
        return false;
    };
    let originals: Vec<(Value, usize)> = items
        .iter()
        .map(|item| {
            let bytes = serde_json::to_vec(item).map_or(0, |b| b.len());
            (item.clone(), bytes)
        })
        .collect();
    // Each copy adds its own compact JSON and one comma (the array is not empty).
    for (item, bytes) in originals.iter().cycle() {
        if size >= target_bytes {
            break;
        }
        items.push(item.clone());
        size += bytes + 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_client::{NXDOMAIN_QUERY, api_get, gql, last_day, post_graphql};
    use crate::{FakeCloudflare, Scenario, ZONE_ID};

    #[test]
    fn inflation_grows_the_largest_data_array_by_cycling_its_items() {
        let rows = json!([{ "count": 1, "name": "a" }, { "count": 2, "name": "bb" }]);
        let mut answer = json!({
            "data": { "viewer": { "zones": [{ "tag": ["x"], "top": rows.clone() }] } },
            "errors": null
        });
        assert!(inflate_graphql_answer(&mut answer, 10_000));
        let body = serde_json::to_vec(&answer).expect("serializes");
        assert!(body.len() >= 10_000, "{}", body.len());
        let top = answer["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .expect("rows");
        // Just enough copies: one row fewer would be under the target.
        let last_row = serde_json::to_vec(&top[top.len() - 1]).expect("row").len();
        assert!(body.len() - last_row - 1 < 10_000);
        for (index, row) in top.iter().enumerate() {
            assert_eq!(row, &rows[index % 2], "row {index}");
        }
        assert_eq!(
            answer["data"]["viewer"]["zones"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(answer["data"]["viewer"]["zones"][0]["tag"], json!(["x"]));
        assert_eq!(answer["errors"], Value::Null);

        // Already large enough, nothing to copy, or metadata: unchanged.
        let before = answer.clone();
        assert!(!inflate_graphql_answer(&mut answer, 100));
        assert_eq!(answer, before);
        for mut unchanged in [
            json!({ "data": { "viewer": { "zones": [] } }, "errors": null }),
            json!({ "data": null, "errors": [{ "message": "budget" }] }),
            json!({ "data": { "viewer": { "zones": [{ "settings": { "f": ["a", "b"] } }] } } }),
            json!({ "data": { "__schema": { "types": [{ "name": "A" }] } } }),
        ] {
            let before = unchanged.clone();
            assert!(!inflate_graphql_answer(&mut unchanged, 10_000), "{before}");
            assert_eq!(unchanged, before);
        }
    }

    #[test]
    fn inflation_applies_to_graphql_answers_until_switched_off() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let variables = json!({ "zoneTag": ZONE_ID, "filter": last_day(), "limit": 10 });
        let normal = gql(&fake, NXDOMAIN_QUERY, variables.clone());
        let rows = normal["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .cloned()
            .expect("rows");
        assert!(!rows.is_empty());

        fake.set_graphql_inflation(Some(200_000));
        let body = json!({ "query": NXDOMAIN_QUERY, "variables": variables }).to_string();
        let reply = post_graphql(&fake, &body);
        assert_eq!(reply.status, 200);
        assert!(reply.body.len() >= 200_000, "{}", reply.body.len());
        let inflated = reply.json();
        let top = inflated["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .expect("rows");
        assert!(top.len() > 1000);
        assert_eq!(top[..rows.len()], rows[..], "the rows as they were, first");
        assert_eq!(top[rows.len()], rows[0], "then copies");
        // The REST API is not touched.
        let zones = api_get(&fake, "/zones").body;
        assert!(zones.len() < 100_000);

        fake.set_graphql_inflation(None);
        assert_eq!(gql(&fake, NXDOMAIN_QUERY, variables), normal);
    }
}
