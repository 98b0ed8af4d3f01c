//! Wire types shared by the join app (wasm32), the host bridge and the tenant emulator.
//!
//! Everything that crosses a process boundary is defined here exactly once, so that the
//! three parts cannot drift apart:
//! - [`bridge`]: the versioned JSON protocol between the app and the host bridge (WebSocket);
//! - [`oidc`], [`realm`]: the authority's OpenID configuration, tokens, errors and user realm;
//! - [`discovery`]: the DRS discovery document (MS-DVRD, `enrollmentserver/contract`);
//! - [`registration`]: the device registration request/response (MS-DVRE);
//! - [`transport_key`]: the BCRYPT_RSAKEY_BLOB ("RSA1") encoding of the transport key;
//! - [`key_attestation`]: `AttestationData`, the TPM's certification of the transport key.
//! - [`pop`]: proof-of-possession tokens and Signed HTTP Requests (the broker's PoP path);
//! - [`mdm`]: MDM enrollment (MS-MDE2/XCEP/WSTEP) names and the terms-of-use contract.
//! - [`prt`]: the Primary Refresh Token protocol (MS-OAPXBC); its cryptography in
//!   [`prt_crypto`] (feature `crypto`, for the bridge and the emulator).
//!
//! The crate is dependency-light on purpose: it builds for wasm32 and native alike.

pub mod bridge;
pub mod broker;
pub mod consts;
pub mod discovery;
pub mod key_attestation;
pub mod mdm;
#[cfg(feature = "xml")]
pub mod mdm_response;
pub mod oidc;
pub mod pop;
pub mod prt;
#[cfg(feature = "crypto")]
pub mod prt_crypto;
pub mod realm;
pub mod registration;
pub mod transport_key;
#[cfg(feature = "xml")]
pub mod wstrust_response;
#[cfg(feature = "xml")]
pub mod xml;

/// Deserialize a value the real clients send either as a JSON bool or as a string
/// ("true"/"True"/"false"); MS-DVRE clients differ here and a server must take both.
pub mod lenient_bool {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let value: Option<BoolOrString> = Option::deserialize(d)?;
        Ok(match value {
            None => None,
            Some(BoolOrString::Bool(b)) => Some(b),
            Some(BoolOrString::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" | "" => Some(false),
                _ => return Err(serde::de::Error::custom(format!("not a boolean: {s:?}"))),
            },
        })
    }

    /// Windows sends these attributes as strings ("true"), so we do too.
    pub fn serialize<S: Serializer>(value: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(b) => s.serialize_str(if *b { "true" } else { "false" }),
            None => s.serialize_none(),
        }
    }
}
