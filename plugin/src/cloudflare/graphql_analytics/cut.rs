//! Cutting a result to size: the largest lists first, at a row boundary, saying what was cut.

use crate::wit_analytics::Cut;
use serde_json::Value;
/// Cuts the largest lists of `data` at a row boundary until its JSON fits `max_bytes`, and
/// says what was cut and how to ask for less.
///
/// The lists (of two or more objects) are found and sized in one pass, then cut largest first:
/// a list is larger than any list in its rows, so its size is still exact when its turn comes,
/// and dropping rows shrinks the whole by exactly their JSON and commas. Nothing is serialized
/// again per cut, which made a result of many small lists quadratic.
pub fn cut_to_size(data: &mut Value, max_bytes: usize) -> Vec<Cut> {
    let mut lists = Vec::new();
    let mut size = json_size(data, &mut Vec::new(), &mut lists);
    debug_assert_eq!(size, data.to_string().len());
    let mut cuts = Vec::new();
    // Largest first; among equal sizes, the first in the document.
    lists.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    for (steps, _) in lists {
        if size <= max_bytes {
            break;
        }
        // A list inside rows that an earlier cut dropped is gone.
        let Some(list) = at_steps(data, &steps).and_then(Value::as_array_mut) else {
            continue;
        };
        let received = list.len();
        // Each row costs its JSON and a comma; drop from the end until the whole fits.
        let mut keep = received;
        while keep > 0 && size > max_bytes {
            keep -= 1;
            let row = list.get(keep).map_or(0, |row| row.to_string().len());
            size -= row + usize::from(keep > 0);
        }
        list.truncate(keep);
        cuts.push(Cut {
            path: path_text(&steps),
            rows_returned: keep as u32,
            rows_received: received as u32,
            advice: format!(
                "{keep} of {received} rows fit in {max_bytes} bytes; ask for fewer rows (a \
                 smaller limit), a shorter range, or add a filter; or raise max-bytes"
            ),
        });
    }
    debug_assert_eq!(size, data.to_string().len());
    cuts
}

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Step<K> {
    Key(K),
    Index(usize),
}

/// The length of `value`'s compact JSON, added up from its parts; every list of two or more
/// objects is recorded in `lists` with its path and its length.
pub(super) fn json_size<'a>(
    value: &'a Value,
    steps: &mut Vec<Step<&'a str>>,
    lists: &mut Vec<(Vec<Step<String>>, usize)>,
) -> usize {
    match value {
        Value::Object(map) => {
            let mut size = 2 + map.len().saturating_sub(1);
            for (key, item) in map {
                steps.push(Step::Key(key.as_str()));
                size += json_string_len(key) + 1 + json_size(item, steps, lists);
                steps.pop();
            }
            size
        }
        Value::Array(items) => {
            let mut size = 2 + items.len().saturating_sub(1);
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                size += json_size(item, steps, lists);
                steps.pop();
            }
            if items.len() > 1 && items.iter().all(Value::is_object) {
                let owned = steps
                    .iter()
                    .map(|step| match step {
                        Step::Key(key) => Step::Key(key.to_string()),
                        Step::Index(i) => Step::Index(*i),
                    })
                    .collect();
                lists.push((owned, size));
            }
            size
        }
        Value::String(text) => json_string_len(text),
        scalar => scalar.to_string().len(),
    }
}

/// The length of a string as JSON, quotes and escapes included (as serde_json writes it).
pub(super) fn json_string_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

pub(super) fn at_steps<'a>(value: &'a mut Value, steps: &[Step<String>]) -> Option<&'a mut Value> {
    steps.iter().try_fold(value, |current, step| match step {
        Step::Key(key) => current.get_mut(key.as_str()),
        Step::Index(i) => current.get_mut(*i),
    })
}

/// A path as the result shows it: `viewer.zones[0].top`.
pub(super) fn path_text(steps: &[Step<String>]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}
