//! The wire form of an event, as webhook receivers get it: the spec's payload (`event`,
//! `timestamp`, `data`) plus a unique `id` and a `sequence` (increasing, not contiguous: a
//! partner's events sort by it).

use chrono::{DateTime, SecondsFormat, Utc};

/// The JSON body of an event delivery: the spec's payload plus a unique `id`. The signature
/// is a header, never part of the body.
pub fn event_body(event_id: &str, kind: &str, at_ms: i64, data_json: &str) -> String {
    event_body_in_sequence(event_id, kind, None, at_ms, data_json)
}

/// [`event_body`] with the event's `sequence`: increasing with each event of a partner, so a
/// receiver can put events delivered out of order (concurrent sends, retries) back in order.
pub fn event_body_in_sequence(event_id: &str, kind: &str, sequence: Option<i64>, at_ms: i64, data_json: &str) -> String {
    let ts = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true);
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    match sequence {
        Some(seq) => {
            format!(r#"{{"id":{},"event":{},"sequence":{seq},"timestamp":{},"data":{}}}"#, s(event_id), s(kind), s(&ts), data_json)
        }
        None => format!(r#"{{"id":{},"event":{},"timestamp":{},"data":{}}}"#, s(event_id), s(kind), s(&ts), data_json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_spec_fields_and_an_id() {
        let body = event_body("e1", "order.completed", 1_770_805_800_000, r#"{"status":"COMPLETED"}"#);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], "e1");
        assert_eq!(v["event"], "order.completed");
        assert_eq!(v["timestamp"], "2026-02-11T10:30:00Z");
        assert_eq!(v["data"]["status"], "COMPLETED");
        assert!(v.get("signature").is_none());
    }
}
