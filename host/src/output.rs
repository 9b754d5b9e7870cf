//! The one record the host writes itself: the failure record of a line whose batch the
//! component could not process (it trapped or broke the contract). Every other record is
//! the component's canonical encoding, written as it comes.
//!
//! The shape is the one the WIT documents for this case:
//! `{"file"?,"line","error":{"column":null,"reason"},"raw","invalid_utf8"?}`.

use serde::Serialize;

#[derive(Serialize)]
struct Failure<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: u64,
    error: FailureDetail<'a>,
    raw: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    invalid_utf8: bool,
}

#[derive(Serialize)]
struct FailureDetail<'a> {
    column: Option<u32>,
    reason: &'a str,
}

/// Appends the failure record of one line to `out`, as an ECS document when `ecs` (the
/// component's own ECS encoding of the same record, `logenrich_types::ecs`).
pub fn write_failure(
    out: &mut Vec<u8>,
    file: Option<&str>,
    line: u64,
    raw: &str,
    reason: &str,
    invalid_utf8: bool,
    ecs: bool,
) {
    let failure = Failure {
        file,
        line,
        error: FailureDetail {
            column: None,
            reason,
        },
        raw,
        invalid_utf8,
    };
    if ecs {
        // Serializing a struct of strings and numbers cannot fail.
        let record = serde_json::to_vec(&failure).unwrap_or_default();
        logenrich_types::ecs::write(out, &record, None);
        return;
    }
    // Serializing a struct of strings and numbers into a Vec cannot fail.
    let written = serde_json::to_writer(&mut *out, &failure);
    debug_assert!(written.is_ok());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_record_shape() {
        let mut out = Vec::new();
        write_failure(
            &mut out,
            Some("a.log"),
            7,
            "x\"y",
            "component failed: wasm trap",
            true,
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"file\":\"a.log\",\"line\":7,\"error\":{\"column\":null,\"reason\":\"component failed: wasm trap\"},\"raw\":\"x\\\"y\",\"invalid_utf8\":true}\n"
        );
        let mut ecs = Vec::new();
        write_failure(
            &mut ecs,
            None,
            7,
            "x",
            "component failed: wasm trap",
            false,
            true,
        );
        assert_eq!(
            String::from_utf8(ecs).unwrap(),
            "{\"ecs\":{\"version\":\"9.4.0\"},\"error\":{\"message\":\"component failed: wasm trap\"},\"event\":{\"kind\":\"pipeline_error\",\"original\":\"x\"},\"logenrich\":{\"line\":7},\"tags\":[\"_logenrich_parse_failure\"]}\n"
        );
    }
}
