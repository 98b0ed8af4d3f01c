//! The tenant's JSON as the bridge reads it (`cxh_wire`): OpenID configuration (v1, v2), JWKS,
//! id_token and access token claims, token and OAuth error responses, user realm (v1, v2),
//! the DRS discovery document, registration answer and error, the attestation challenge
//! answer and the PRT nonce. Several members are read leniently (a bool or a string, a number
//! or a string). Property: whatever parses serializes again.
#![no_main]

use cxh_wire::discovery::DiscoveryDocument;
use cxh_wire::key_attestation::AttestationChallengeResponse;
use cxh_wire::oidc::{
    AccessTokenClaims, IdTokenClaims, Jwks, OAuthError, OpenIdConfiguration, OpenIdConfigurationV2,
    TokenResponse,
};
use cxh_wire::prt::NonceResponse;
use cxh_wire::realm::{UserRealm, UserRealmV1};
use cxh_wire::registration::{DrsError, RegistrationResponse};
use libfuzzer_sys::fuzz_target;

fn parse<T: serde::de::DeserializeOwned + serde::Serialize>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        serde_json::to_vec(&value).expect("a parsed document serializes");
    }
}

fuzz_target!(|data: &[u8]| {
    parse::<OpenIdConfiguration>(data);
    parse::<OpenIdConfigurationV2>(data);
    parse::<Jwks>(data);
    parse::<IdTokenClaims>(data);
    parse::<AccessTokenClaims>(data);
    parse::<TokenResponse>(data);
    parse::<OAuthError>(data);
    parse::<UserRealm>(data);
    parse::<UserRealmV1>(data);
    parse::<DiscoveryDocument>(data);
    parse::<RegistrationResponse>(data);
    parse::<DrsError>(data);
    parse::<AttestationChallengeResponse>(data);
    parse::<NonceResponse>(data);
});
