//! The token broker's D-Bus contract: the interface of Microsoft's identity broker for Linux
//! (`com.microsoft.identity.broker1` on the session bus), which MSAL, Edge, Teams and browser
//! extensions such as linux-entra-sso call. Every method takes `(protocol_version,
//! correlation_id, request_json)` and answers one JSON string; the shapes are here so the
//! bridge's broker, its native messaging host and the tests read and write the same JSON.
//!
//! Errors follow the broker's convention: a token request answers
//! `{"brokerTokenResponse": {"error": {...}}}`, any other method `{"error": {...}}`, the error
//! carrying MSAL runtime's response status ([`status`]) so that callers tell "interaction
//! required" from "no network".

use serde::{Deserialize, Serialize};

/// Well-known bus name.
pub const BUS_NAME: &str = "com.microsoft.identity.broker1";
/// Object path of the broker.
pub const OBJECT_PATH: &str = "/com/microsoft/identity/broker1";
/// Interface name.
pub const INTERFACE: &str = "com.microsoft.identity.Broker1";
/// Protocol version callers send (`"0.0"`); we accept any.
pub const PROTOCOL_VERSION: &str = "0.0";
/// `authorityType` of an Entra account.
pub const AUTHORITY_TYPE_MSSTS: &str = "MSSTS";
/// `accessTokenType` of a bearer token (MSAL runtime: 0 bearer, 1 pop).
pub const ACCESS_TOKEN_TYPE_BEARER: i32 = 0;
/// `accessTokenType` of a proof-of-possession token (`accessToken` is then a Signed HTTP Request).
pub const ACCESS_TOKEN_TYPE_POP: i32 = 1;

/// MSAL runtime's `MSALRUNTIME_RESPONSE_STATUS`: what kind of failure a broker error is.
pub mod status {
    pub const UNEXPECTED: i32 = 0;
    /// The user closed or did not finish the interactive sign-in, or a caller cancelled it.
    pub const USER_CANCELED: i32 = 1;
    /// Only an interactive sign-in can help (expired/revoked PRT, MFA, disabled device).
    pub const INTERACTION_REQUIRED: i32 = 2;
    pub const NO_NETWORK: i32 = 3;
    pub const NETWORK_TEMPORARILY_UNAVAILABLE: i32 = 4;
    pub const SERVER_TEMPORARILY_UNAVAILABLE: i32 = 5;
    /// The request is malformed (missing field, bad JSON).
    pub const API_CONTRACT_VIOLATION: i32 = 6;
    pub const INCORRECT_CONFIGURATION: i32 = 9;
    /// The account named is not one the broker knows.
    pub const ACCOUNT_NOT_FOUND: i32 = 16;
}

/// An account as `getAccounts` lists it and callers pass it back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    pub authority_type: String,
    /// base64url JSON `{"uid", "utid"}`.
    pub client_info: String,
    /// Host of the authority (`login.microsoftonline.com` for the public cloud).
    pub environment: String,
    pub family_name: String,
    pub given_name: String,
    /// `<object id>.<tenant id>`.
    pub home_account_id: String,
    /// The user's object id.
    pub local_account_id: String,
    pub name: String,
    /// The tenant id.
    pub realm: String,
    /// The UPN.
    pub username: String,
}

/// `getAccounts` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetAccountsRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
}

/// `getAccounts` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsResponse {
    pub accounts: Vec<Account>,
}

/// `authParameters` of a token or cookie request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthParameters {
    pub account: Option<Account>,
    /// `https://<host>/<tenant|common|organizations>`.
    pub authority: Option<String>,
    /// 1 for a token, 8 for an SSO cookie (as callers send it; not interpreted).
    pub authorization_type: Option<i64>,
    pub client_id: String,
    pub redirect_uri: Option<String>,
    /// v2 scopes (`https://graph.microsoft.com/.default`, `User.Read`, ...).
    pub requested_scopes: Vec<String>,
    pub username: Option<String>,
    pub sso_url: Option<String>,
    /// Claims challenge JSON (conditional access); passed on as `claims`.
    pub decoded_claims: Option<String>,
    /// Present (not null) when the caller wants a proof-of-possession token: the answer's
    /// `accessToken` is then a Signed HTTP Request for this method and URI.
    pub pop_params: Option<crate::pop::PopParams>,
}

/// `acquireTokenSilently` / `acquireTokenInteractively` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenRequest {
    pub account: Option<Account>,
    pub auth_parameters: AuthParameters,
}

/// `acquirePrtSsoCookie` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CookieRequest {
    pub account: Option<Account>,
    pub auth_parameters: Option<AuthParameters>,
    pub sso_url: Option<String>,
    pub mam_enrollment: Option<bool>,
}

/// `removeAccount` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RemoveAccountRequest {
    pub account: Option<Account>,
    pub client_id: Option<String>,
}

/// A token handed to an app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerToken {
    pub access_token: String,
    pub access_token_type: i32,
    pub account: Account,
    pub client_info: String,
    /// Milliseconds since the epoch.
    pub expires_on: i64,
    /// Milliseconds since the epoch.
    pub extended_expires_on: i64,
    pub granted_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for BrokerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerToken")
            .field("access_token", &"<redacted>")
            .field("username", &self.account.username)
            .field("expires_on", &self.expires_on)
            .field("granted_scopes", &self.granted_scopes)
            .finish_non_exhaustive()
    }
}

/// A broker error (`context` is a sentence for people; `status` is for programs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerError {
    pub context: String,
    pub status: i32,
    #[serde(default)]
    pub sub_status: i32,
    /// The authority's AADSTS number when it refused (0 otherwise).
    #[serde(default)]
    pub error_code: u32,
}

/// `{"brokerTokenResponse": <token or {"error": ...}>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub broker_token_response: TokenOutcome,
}

/// What a token request gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenOutcome {
    Failed { error: BrokerError },
    Token(Box<BrokerToken>),
}

/// `{"error": ...}`, the answer of any other method that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: BrokerError,
}

/// `acquirePrtSsoCookie` answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CookieResponse {
    pub account: Account,
    pub cookie_content: String,
    pub cookie_name: String,
}

impl std::fmt::Debug for CookieResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieResponse")
            .field("username", &self.account.username)
            .field("cookie_name", &self.cookie_name)
            .field("cookie_content", &"<redacted>")
            .finish()
    }
}

/// `generateSignedHttpRequest` request: whose device-held PoP key signs, and what request.
/// The parameters are read at the top level or inside `authParameters` (callers differ).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ShrRequest {
    pub account: Option<Account>,
    pub pop_params: Option<crate::pop::PopParams>,
    pub auth_parameters: Option<AuthParameters>,
}

/// `generateSignedHttpRequest` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShrResponse {
    pub signed_http_request: String,
    /// The signing key's thumbprint (the `kid` a resource finds in `cnf`).
    pub kid: String,
}

/// `getLinuxBrokerVersion` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionRequest {
    pub msal_cpp_version: Option<String>,
}

/// `getLinuxBrokerVersion` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionResponse {
    pub linux_broker_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request as linux-entra-sso builds it (field for field, order kept).
    const SILENT_REQUEST: &str = r#"{"authParameters":{"account":{"name":"Adele Vance","givenName":"Adele","username":"adele.vance@contoso.com","homeAccountId":"u1.t1","localAccountId":"u1","clientInfo":"eyJ1aWQiOiJ1MSJ9","realm":"t1"},"additionalQueryParametersForAuthorization":{},"authority":"https://login.microsoftonline.com/common","authorizationType":1,"clientId":"d7b530a4-7680-4c23-a8bf-c52c121d2e87","redirectUri":"https://login.microsoftonline.com/common/oauth2/nativeclient","requestedScopes":["https://graph.microsoft.com/.default"],"username":"adele.vance@contoso.com","uxContextHandle":-1}}"#;

    #[test]
    fn a_silent_request_as_real_callers_send_it_is_read() {
        let request: TokenRequest = serde_json::from_str(SILENT_REQUEST).unwrap();
        let params = &request.auth_parameters;
        assert_eq!(params.client_id, "d7b530a4-7680-4c23-a8bf-c52c121d2e87");
        assert_eq!(
            params.requested_scopes,
            ["https://graph.microsoft.com/.default"]
        );
        assert_eq!(
            params.account.as_ref().unwrap().username,
            "adele.vance@contoso.com"
        );
        assert_eq!(params.account.as_ref().unwrap().home_account_id, "u1.t1");
    }

    #[test]
    fn a_token_answer_and_an_error_answer_have_the_callers_shapes() {
        let token = TokenResponse {
            broker_token_response: TokenOutcome::Token(Box::new(BrokerToken {
                access_token: "at".into(),
                access_token_type: ACCESS_TOKEN_TYPE_BEARER,
                account: Account::default(),
                client_info: "ci".into(),
                expires_on: 1_700_000_000_000,
                extended_expires_on: 1_700_000_000_000,
                granted_scopes: vec!["User.Read".into()],
                id_token: None,
            })),
        };
        let json: serde_json::Value = serde_json::to_value(&token).unwrap();
        assert_eq!(json["brokerTokenResponse"]["accessToken"], "at");
        assert_eq!(
            json["brokerTokenResponse"]["expiresOn"],
            1_700_000_000_000i64
        );
        assert!(!format!("{token:?}").contains("\"at\""));

        let failed = TokenResponse {
            broker_token_response: TokenOutcome::Failed {
                error: BrokerError {
                    context: "sign in again".into(),
                    status: status::INTERACTION_REQUIRED,
                    sub_status: 0,
                    error_code: 50173,
                },
            },
        };
        let text = serde_json::to_string(&failed).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["brokerTokenResponse"]["error"]["status"], 2);
        assert_eq!(json["brokerTokenResponse"]["error"]["subStatus"], 0);
        let back: TokenResponse = serde_json::from_str(&text).unwrap();
        assert!(matches!(
            back.broker_token_response,
            TokenOutcome::Failed { .. }
        ));
    }
}
