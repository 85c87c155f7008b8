//! Cutting an answer's `data` to a size while it is read: its lists are sized from the bytes
//! ([`measure`], nothing built), the cut is planned on those sizes ([`plan`]), and only the rows
//! kept are then built (`tree::read`). A 5 MiB answer cut to 256 KiB never holds its whole tree.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::tree::Skip;

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A list of `data` cut at a row boundary: its path from `data`, the rows kept and received.
#[derive(Clone, Debug, PartialEq)]
pub struct ListCut {
    pub path: Vec<Step>,
    pub kept: usize,
    pub received: usize,
}

impl ListCut {
    /// The path as a result shows it: `viewer.zones[0].top`.
    pub fn path_text(&self) -> String {
        let mut text = String::new();
        for step in &self.path {
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
}

/// What [`measure`] found in `data`: the length of its compact JSON (as the tree built from it
/// would serialize) and every list of two or more objects with the size of each row.
#[derive(Debug, Default)]
pub struct Measured {
    pub size: usize,
    lists: Vec<List>,
    /// An object repeats a key: the tree keeps the last value, so sizes read from the bytes are
    /// not the tree's.
    pub repeats_a_key: bool,
}

#[derive(Debug)]
struct List {
    path: Vec<Step>,
    size: usize,
    rows: Vec<usize>,
}

/// Sizes the `data` member of a JSON document from its bytes, checking them as strictly as
/// building the tree would. `None` when the document is not an object with `data`.
pub fn measure(body: &[u8]) -> serde_json::Result<Option<Measured>> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let measured = deserializer.deserialize_any(Document)?;
    deserializer.end()?;
    Ok(measured)
}

/// Plans the cut that brings `data` within `max_bytes`: the largest lists first (among equal
/// sizes, the first in the document), each cut at a row boundary, dropping rows from the end
/// until the whole fits. A list is larger than any list in its rows, so its size is still exact
/// when its turn comes; a list inside rows already dropped is gone.
pub fn plan(measured: &Measured, max_bytes: usize) -> Vec<ListCut> {
    let mut size = measured.size;
    let mut order: Vec<&List> = measured.lists.iter().collect();
    order.sort_by_key(|list| std::cmp::Reverse(list.size));
    let mut cuts: Vec<ListCut> = Vec::new();
    // The rows kept of each list cut so far, by path: a list is looked up by its own path's
    // prefixes, not against every cut (which made thousands of cuts quadratic).
    let mut kept_at: HashMap<&[Step], usize> = HashMap::new();
    for list in order {
        if size <= max_bytes {
            break;
        }
        if dropped(&kept_at, &list.path) {
            continue;
        }
        let received = list.rows.len();
        // Each row costs its JSON and a comma.
        let mut kept = received;
        while kept > 0 && size > max_bytes {
            kept -= 1;
            size -= list.rows[kept] + usize::from(kept > 0);
        }
        kept_at.insert(&list.path, kept);
        cuts.push(ListCut {
            path: list.path.clone(),
            kept,
            received,
        });
    }
    cuts
}

/// Whether a cut already planned drops a row that holds `path`: at each step into a row, the
/// list before it may be cut above that row.
fn dropped(kept_at: &HashMap<&[Step], usize>, path: &[Step]) -> bool {
    path.iter().enumerate().any(|(depth, step)| match step {
        Step::Index(row) => kept_at.get(&path[..depth]).is_some_and(|kept| row >= kept),
        Step::Key(_) => false,
    })
}

/// The length of a string as JSON, quotes and escapes included (as serde_json writes it).
pub fn json_string_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

fn digits(mut n: u64) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// The top of the document: `data` is measured, the rest is read past.
struct Document;

impl<'de> Visitor<'de> for Document {
    type Value = Option<Measured>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a GraphQL response")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<Measured> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "data" {
                map.next_value_seed(Skip)?;
                continue;
            }
            let repeated = found.is_some();
            let mut measured = Measured::default();
            let mut path = Vec::new();
            measured.size = map
                .next_value_seed(Measuring {
                    path: &mut path,
                    found: &mut measured,
                })?
                .size;
            measured.repeats_a_key |= repeated;
            found = Some(measured);
        }
        Ok(found)
    }
}

/// Measures one value at `path`, recording its lists in `found`.
struct Measuring<'a> {
    path: &'a mut Vec<Step>,
    found: &'a mut Measured,
}

/// A value's compact JSON length, and whether it is an object (a list's row).
struct Sized {
    size: usize,
    is_object: bool,
}

fn scalar<E>(size: usize) -> Result<Sized, E> {
    Ok(Sized {
        size,
        is_object: false,
    })
}

impl<'de> DeserializeSeed<'de> for Measuring<'_> {
    type Value = Sized;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Sized, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measuring<'_> {
    type Value = Sized;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Sized, E> {
        scalar(if v { 4 } else { 5 })
    }

    fn visit_i64<E>(self, v: i64) -> Result<Sized, E> {
        scalar(usize::from(v < 0) + digits(v.unsigned_abs()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Sized, E> {
        scalar(digits(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Sized, E> {
        // As the tree holds it: a finite float, written by serde_json's own formatter.
        scalar(Number::from_f64(v).map_or(4, |n| n.to_string().len()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Sized, E> {
        scalar(json_string_len(v))
    }

    fn visit_unit<E>(self) -> Result<Sized, E> {
        scalar(4)
    }

    fn visit_none<E>(self) -> Result<Sized, E> {
        scalar(4)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Sized, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sized, A::Error> {
        let mut rows = Vec::new();
        let mut all_objects = true;
        loop {
            self.path.push(Step::Index(rows.len()));
            let item = seq.next_element_seed(Measuring {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            let Some(item) = item else { break };
            all_objects &= item.is_object;
            rows.push(item.size);
        }
        let size = 2 + rows.len().saturating_sub(1) + rows.iter().sum::<usize>();
        if rows.len() > 1 && all_objects {
            self.found.lists.push(List {
                path: self.path.clone(),
                size,
                rows,
            });
        }
        scalar(size)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sized, A::Error> {
        let mut keys = BTreeSet::new();
        let mut size = 2;
        while let Some(key) = map.next_key::<String>()? {
            size += json_string_len(&key) + 1 + usize::from(!keys.is_empty());
            self.path.push(Step::Key(key));
            size += map
                .next_value_seed(Measuring {
                    path: &mut *self.path,
                    found: &mut *self.found,
                })?
                .size;
            if let Some(Step::Key(key)) = self.path.pop()
                && !keys.insert(key)
            {
                self.found.repeats_a_key = true;
            }
        }
        Ok(Sized {
            size,
            is_object: true,
        })
    }
}
