//! `--format json`: the DESIGN.md contract. The contract's keys come first, in the contract's
//! order (`week`, `services_total`, `services_propagating`, `coverage`, `previous`, `by_team`,
//! `regressions`, `services`; per team `team`, `total`, `propagating`; per service `name`,
//! `team`, `static`, `runtime`), then the report's other keys in a fixed order, then any key a
//! later version adds, sorted: the output does not depend on serde_json's map ordering.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::coverage::CoverageReport;

const REPORT_KEYS: &[&str] = &[
    "week",
    "services_total",
    "services_propagating",
    "coverage",
    "previous",
    "by_team",
    "regressions",
    "services",
    "new_without_propagation",
    "failing_rules",
    "expiring_waivers",
    "trend",
    "edges",
    "evidence",
    "notes",
];
const PREVIOUS_KEYS: &[&str] = &["week", "coverage"];
const TEAM_KEYS: &[&str] = &["team", "total", "propagating", "coverage", "previous"];
const SERVICE_KEYS: &[&str] = &[
    "name",
    "team",
    "static",
    "runtime",
    "propagating",
    "repository",
    "failing_rules",
    "runtime_reasons",
    "waivers",
];

/// A JSON object written with `order`'s keys first; `nested` names the key order of the
/// objects under a key (an object, or an array of objects).
struct Ordered<'a> {
    object: &'a Map<String, Value>,
    order: &'a [&'a str],
    nested: &'a [(&'a str, &'a [&'a str])],
}

/// An array whose object elements are written in `order`.
struct OrderedArray<'a> {
    items: &'a [Value],
    order: &'a [&'a str],
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.object.len()))?;
        let mut rest: Vec<&String> = self
            .object
            .keys()
            .filter(|k| !self.order.contains(&k.as_str()))
            .collect();
        rest.sort();
        let keys = self
            .order
            .iter()
            .filter_map(|k| self.object.get_key_value(*k).map(|(k, _)| k))
            .chain(rest);
        for key in keys {
            let value = &self.object[key];
            let nested = self.nested.iter().find(|(k, _)| k == key).map(|(_, o)| *o);
            match (nested, value) {
                (Some(order), Value::Object(object)) => map.serialize_entry(
                    key,
                    &Ordered {
                        object,
                        order,
                        nested: &[],
                    },
                )?,
                (Some(order), Value::Array(items)) => {
                    map.serialize_entry(key, &OrderedArray { items, order })?;
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

impl Serialize for OrderedArray<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.items.iter().map(|item| match item {
            Value::Object(object) => OrderedItem::Object(Ordered {
                object,
                order: self.order,
                nested: &[],
            }),
            other => OrderedItem::Other(other),
        }))
    }
}

enum OrderedItem<'a> {
    Object(Ordered<'a>),
    Other(&'a Value),
}

impl Serialize for OrderedItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OrderedItem::Object(o) => o.serialize(serializer),
            OrderedItem::Other(v) => v.serialize(serializer),
        }
    }
}

pub(super) fn render(report: &CoverageReport) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(report)?;
    let Value::Object(object) = &value else {
        return serde_json::to_string_pretty(&value).map(|s| s + "\n");
    };
    let ordered = Ordered {
        object,
        order: REPORT_KEYS,
        nested: &[
            ("previous", PREVIOUS_KEYS),
            ("by_team", TEAM_KEYS),
            ("services", SERVICE_KEYS),
        ],
    };
    serde_json::to_string_pretty(&ordered).map(|s| s + "\n")
}
