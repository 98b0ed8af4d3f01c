//! Golden tests: the wire types read the spec's own examples (seed 001, wire-facts.md,
//! the public aad-join-spec) and write them back unchanged, so a drift in a field name,
//! casing or shape fails here before it fails against a real service.

use cxh_wire::discovery::DiscoveryDocument;
use cxh_wire::oidc::{IdTokenClaims, OpenIdConfiguration};
use cxh_wire::realm::{AccountType, NameSpaceType, UserRealm, UserRealmV1};
use cxh_wire::registration::{RegistrationRequest, RegistrationResponse};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Parse the example into `T`, write it back, and require the same JSON value.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        original,
        "{name} changed in a round trip"
    );
    typed
}

#[test]
fn openid_configuration_of_seed_001() {
    let config: OpenIdConfiguration = round_trip("openid-configuration.seed001.json");
    assert_eq!(config.issuer, "https://sts.windows.net/{tenantid}/");
    assert_eq!(config.id_token_signing_alg_values_supported, ["RS256"]);
}

#[test]
fn federated_user_realm_of_seed_001() {
    let realm: UserRealm = round_trip("userrealm-federated.seed001.json");
    assert_eq!(realm.name_space_type, NameSpaceType::Federated);
    assert!(realm
        .auth_url
        .unwrap()
        .contains("wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline"));
}

#[test]
fn user_realm_api_version_1_0_federated_and_managed() {
    let federated: UserRealmV1 = round_trip("userrealm-v1-federated.wire-facts.json");
    assert_eq!(federated.ver, "1.0");
    assert_eq!(federated.account_type, AccountType::Federated);
    assert!(federated
        .federation_metadata_url
        .unwrap()
        .ends_with("/adfs/services/trust/mex"));
    assert_eq!(
        federated.cloud_audience_urn.as_deref(),
        Some("urn:federation:MicrosoftOnline")
    );
    let managed: UserRealmV1 = round_trip("userrealm-v1-managed.wire-facts.json");
    assert_eq!(managed.account_type, AccountType::Managed);
    assert!(managed.federation_active_auth_url.is_none());
    // The 2.1 shape is not mistaken for 1.0.
    let v2 = fixture("userrealm-federated.seed001.json");
    assert!(serde_json::from_value::<UserRealmV1>(v2).is_err());
}

#[test]
fn id_token_claims_of_seed_001() {
    let claims: IdTokenClaims = round_trip("id-token-claims.seed001.json");
    assert_eq!(claims.amr, ["pwd", "mfa"]);
    assert_eq!(claims.iss, cxh_wire::consts::issuer_for(&claims.tid));
    assert!(claims.sid.starts_with("S-1-12-1-"));
}

#[test]
fn discovery_document_of_the_public_spec() {
    let doc: DiscoveryDocument = round_trip("discovery.aad-join-spec.json");
    assert_eq!(
        doc.device_join_service.join_endpoint,
        "https://enterpriseregistration.windows.net/EnrollmentServer/device/"
    );
    assert_eq!(
        doc.device_registration_service.registration_resource_id,
        cxh_wire::consts::DRS_RESOURCE_ID
    );
}

#[test]
fn registration_request_as_windows_sends_it() {
    let request: RegistrationRequest = round_trip("registration-request.wire-facts.json");
    assert_eq!(request.certificate_request.kind, "pkcs10");
    assert_eq!(request.attributes.reuse_device, Some(true));
    assert!(request.transport_key.starts_with("UlNBMQAIAAAD"));
}

#[test]
fn registration_request_attributes_accept_bools_and_other_casings() {
    let mut value = fixture("registration-request.wire-facts.json");
    value["Attributes"] =
        serde_json::json!({"reuseDevice": true, "ReturnClientSid": "True", "SharedDevice": false});
    let request: RegistrationRequest = serde_json::from_value(value).unwrap();
    assert_eq!(request.attributes.reuse_device, Some(true));
    assert_eq!(request.attributes.return_client_sid, Some(true));
    assert_eq!(request.attributes.shared_device, Some(false));
    let mut bad = fixture("registration-request.wire-facts.json");
    bad["Attributes"]["ReuseDevice"] = serde_json::json!("maybe");
    assert!(serde_json::from_value::<RegistrationRequest>(bad).is_err());
}

#[test]
fn registration_response_of_the_public_spec() {
    let response: RegistrationResponse = round_trip("registration-response.aad-join-spec.json");
    assert_eq!(response.membership_changes[0].local_sid, "S-1-5-32-544");
}
