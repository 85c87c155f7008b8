//! Building an answer's JSON tree with only the items kept: the rest is read past as strictly as
//! building it would be, never built.

use super::cut::{self, ListCut, Step};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::fmt;

/// What a read keeps of an answer.
#[derive(Clone, Copy, Debug)]
pub enum Keep {
    /// The first items of every array (a report that asked for 10,001 rows builds those only).
    FirstItems(usize),
    /// As many rows of `data`'s lists as fit its compact JSON in this many bytes, cut as
    /// [`cut::plan`] says.
    DataFitting(usize),
}

/// The JSON document in `body` as a [`Value`] holding what `keep` keeps, and the cuts made.
pub fn read(body: &[u8], keep: Keep) -> serde_json::Result<(Value, Vec<ListCut>)> {
    let max_bytes = match keep {
        Keep::FirstItems(max_items) => return Ok((build(body, max_items, &[])?, Vec::new())),
        Keep::DataFitting(max_bytes) => max_bytes,
    };
    let Some(measured) = cut::measure(body)? else {
        return Ok((build(body, usize::MAX, &[])?, Vec::new()));
    };
    if !measured.repeats_a_key {
        let cuts = cut::plan(&measured, max_bytes);
        return Ok((build(body, usize::MAX, &cuts)?, cuts));
    }
    // The tree keeps the last of a repeated key, so the bytes' sizes are not its own: measure
    // the tree's JSON instead (rare, and the whole tree is held for it).
    let mut document = build(body, usize::MAX, &[])?;
    let Some(data) = document.get_mut("data") else {
        return Ok((document, Vec::new()));
    };
    let mut once = b"{\"data\":".to_vec();
    serde_json::to_writer(&mut once, &data.take())?;
    once.push(b'}');
    let (mut cut_once, cuts) = read(&once, keep)?;
    if let Some(kept) = cut_once.get_mut("data") {
        *data = kept.take();
    }
    Ok((document, cuts))
}

fn build(body: &[u8], max_items: usize, cuts: &[ListCut]) -> serde_json::Result<Value> {
    let kept: HashMap<&[Step], usize> = cuts
        .iter()
        .map(|cut| (cut.path.as_slice(), cut.kept))
        .collect();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut path = Vec::new();
    let value = Building {
        max_items,
        kept: &kept,
        at: if kept.is_empty() {
            At::Untracked
        } else {
            At::Top(&mut path)
        },
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Where a value being built is: the document itself, a path inside `data` (followed only when
/// a list there is cut), or anywhere else.
enum At<'a> {
    Top(&'a mut Vec<Step>),
    Data(&'a mut Vec<Step>),
    Untracked,
}

/// Builds a [`Value`] as serde_json's own visitor does, keeping at most `max_items` items of any
/// array and the planned rows of each list cut (the deserializer's nesting limit still applies).
struct Building<'a> {
    max_items: usize,
    kept: &'a HashMap<&'a [Step], usize>,
    at: At<'a>,
}

impl<'a> Building<'a> {
    fn child(&mut self, step: Option<Step>) -> Building<'_> {
        let at = match (&mut self.at, step) {
            (At::Data(path), Some(step)) => {
                path.push(step);
                At::Data(path)
            }
            _ => At::Untracked,
        };
        Building {
            max_items: self.max_items,
            kept: self.kept,
            at,
        }
    }

    /// Leaves the step [`Building::child`] took.
    fn back(&mut self) {
        if let At::Data(path) = &mut self.at {
            path.pop();
        }
    }
}

impl<'de> DeserializeSeed<'de> for Building<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Building<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let planned = match &self.at {
            At::Data(path) => self.kept.get(path.as_slice()).copied(),
            _ => None,
        };
        let limit = planned.map_or(self.max_items, |kept| kept.min(self.max_items));
        let mut items = Vec::new();
        while items.len() < limit {
            let item = seq.next_element_seed(self.child(Some(Step::Index(items.len()))))?;
            self.back();
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match &mut self.at {
                At::Top(path) if key == "data" => {
                    path.clear();
                    map.next_value_seed(Building {
                        max_items: self.max_items,
                        kept: self.kept,
                        at: At::Data(path),
                    })?
                }
                At::Data(_) => {
                    let value = map.next_value_seed(self.child(Some(Step::Key(key.clone()))))?;
                    self.back();
                    value
                }
                _ => map.next_value_seed(self.child(None))?,
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Reads a value as strictly as building it would (UTF-8 in strings, numbers in range), keeping
/// nothing: a cut answer reads exactly when the whole one does. (`IgnoredAny` would let invalid
/// UTF-8 through.)
pub struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}
