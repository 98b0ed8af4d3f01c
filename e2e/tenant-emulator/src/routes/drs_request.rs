//! Reading a registration request the way the real DRS does: JSON member names match
//! case-insensitively (`attributes`, `Attributes` and `ATTRIBUTES` are one member; .NET's
//! serializer as the service runs it), since clients differ in casing (wire-facts §8).
//!
//! Each known name is rewritten to the casing of `cxh_wire::registration` before the typed
//! parse; unknown members are left as they are (and ignored, as before). Two members that
//! differ only in casing are refused rather than one silently winning.

use crate::error::DrsServiceError;
use cxh_wire::registration::RegistrationRequest;
use serde_json::{Map, Value};

/// The member names of a registration request, in the wire types' casing.
const KNOWN_NAMES: [&str; 15] = [
    "CertificateRequest",
    "Type",
    "Data",
    "TransportKey",
    "TargetDomain",
    "DeviceType",
    "OSVersion",
    "DeviceDisplayName",
    "JoinType",
    "AikCertificate",
    "AttestationData",
    "Attributes",
    "ReuseDevice",
    "ReturnClientSid",
    "SharedDevice",
];

/// Parse a registration body with case-insensitive member names.
pub fn parse_registration(body: &[u8]) -> Result<RegistrationRequest, DrsServiceError> {
    let invalid = |reason: String| {
        DrsServiceError::InvalidRequest(format!(
            "the registration request is not valid JSON: {reason}"
        ))
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    let value = canonical_names(value).map_err(invalid)?;
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// `value` with every known member name (at any depth) in its canonical casing.
fn canonical_names(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(members) => {
            let mut out = Map::new();
            for (name, member) in members {
                let canonical = KNOWN_NAMES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(&name))
                    .map_or(name.clone(), |known| known.to_string());
                if out.contains_key(&canonical) {
                    return Err(format!("the member {canonical:?} appears twice ({name:?})"));
                }
                out.insert(canonical, canonical_names(member)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => Ok(Value::Array(
            items
                .into_iter()
                .map(canonical_names)
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(attributes_name: &str, sid_name: &str) -> Vec<u8> {
        let mut request = json!({
            "certificateRequest": {"type": "pkcs10", "data": "AAAA"},
            "transportKey": "UlNBMQ",
            "targetDomain": "contoso.com",
            "deviceType": "Windows",
            "osVersion": "10.0.19041.928",
            "deviceDisplayName": "DESKTOP-1",
            "joinType": 0,
        });
        request[attributes_name] = json!({ sid_name: "true", "reusedevice": true });
        serde_json::to_vec(&request).unwrap()
    }

    #[test]
    fn member_names_match_in_any_casing() {
        for (attributes, sid) in [
            ("Attributes", "ReturnClientSid"),
            ("attributes", "returnClientSid"),
            ("ATTRIBUTES", "returnclientsid"),
        ] {
            let request = parse_registration(&body(attributes, sid)).unwrap();
            assert_eq!(
                request.attributes.return_client_sid,
                Some(true),
                "{attributes}"
            );
            assert_eq!(request.attributes.reuse_device, Some(true));
            assert_eq!(request.os_version, "10.0.19041.928");
            assert_eq!(request.certificate_request.kind, "pkcs10");
        }
    }

    #[test]
    fn a_member_given_twice_in_two_casings_is_refused() {
        let twice = br#"{"JoinType": 0, "joinType": 4}"#;
        let Err(DrsServiceError::InvalidRequest(reason)) = parse_registration(twice) else {
            panic!("accepted");
        };
        assert!(reason.contains("JoinType"), "{reason}");
    }
}
