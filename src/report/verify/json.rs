//! `--format json`: the contract of DESIGN.md (`target`, `requests`, `criteria[{id, verdict,
//! summary, evidence[{trace_id, detail…}]}]`, `services_seen`) plus extra fields (`passed`,
//! `spans_read`, `notes`, `service_graph`, …). Every evidence item has a `trace_id` key,
//! `null` when the evidence is about no single trace.

use serde_json::Value;

use crate::verify::model::VerifyReport;

pub(super) fn render(report: &VerifyReport) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(report)?;
    if let Value::Object(map) = &mut value {
        map.insert("passed".into(), Value::Bool(report.passed()));
        map.insert("tool".into(), Value::String("tracegate".into()));
        map.insert(
            "version".into(),
            Value::String(env!("CARGO_PKG_VERSION").into()),
        );
        if let Some(Value::Array(criteria)) = map.get_mut("criteria") {
            for evidence in criteria
                .iter_mut()
                .filter_map(|c| c.get_mut("evidence"))
                .filter_map(Value::as_array_mut)
                .flatten()
            {
                if let Value::Object(item) = evidence {
                    item.entry("trace_id").or_insert(Value::Null);
                }
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    Ok(text)
}
