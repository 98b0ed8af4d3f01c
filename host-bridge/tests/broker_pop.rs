//! Proof-of-possession tokens through the broker, end to end on a real dbus-daemon, swtpm and
//! the emulator: an app asks for a PoP token for a request; the broker gets an access token
//! bound to its TPM-held PoP key and hands back a Signed HTTP Request; the emulator's sample
//! API accepts that request and refuses the same token shown as a bearer token, the request
//! replayed with another method, and an SHR without a token. `generateSignedHttpRequest` signs
//! with the same key. The key's blob means nothing to another TPM.

mod support;

use base64::Engine;
use cxh_wire::broker::{status, ShrResponse, ACCESS_TOKEN_TYPE_POP};
use host_bridge::keys::KeyPurpose;
use host_bridge::store::MachineStore;
use host_bridge::tpm::{provider_for_policy, KeyProtection};
use support::broker::{
    call, claims, first_account, join_and_sign_in, serve, silent_request, software_device,
    token_of, Running, GRAPH,
};
use support::emulator::Emulator;
use support::swtpm::Swtpm;

fn pop_request(account: &serde_json::Value, method: &str, uri: &str) -> serde_json::Value {
    let mut request = silent_request(account, &[GRAPH]);
    request["authParameters"]["popParams"] = serde_json::json!({
        "resourceRequestMethod": method,
        "resourceRequestUri": uri,
        "shrNonce": "nonce-from-the-resource",
    });
    request
}

/// Call the sample API at `url` with `authorization`; status and JSON body.
async fn sample_api(url: &str, authorization: &str) -> (u16, serde_json::Value) {
    sample_api_with(reqwest::Method::GET, url, authorization).await
}

async fn sample_api_with(
    method: reqwest::Method,
    url: &str,
    authorization: &str,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .request(method, url)
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn pop_token(served: &Running, account: &serde_json::Value, url: &str) -> String {
    pop_token_for(served, pop_request(account, "GET", url)).await
}

async fn pop_token_for(served: &Running, request: serde_json::Value) -> String {
    let answer = call(&served.client, "acquireTokenSilently", request).await;
    let token = token_of(&answer).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(token.access_token_type, ACCESS_TOKEN_TYPE_POP);
    token.access_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pop_token_is_accepted_only_in_its_signed_request_and_its_key_stays_in_the_tpm() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let emulator = Emulator::start(Default::default()).await;
    let keys = provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap();
    let device = join_and_sign_in(&emulator, &temp.path().join("state"), keys).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;
    let me = format!("{}/sample-api/me", emulator.base);

    let shr = pop_token(&served, &account, &me).await;
    let signed = claims(&shr);
    assert_eq!(signed["m"], "GET");
    assert_eq!(signed["nonce"], "nonce-from-the-resource");
    let at = signed["at"].as_str().unwrap().to_string();
    let access = claims(&at);
    assert_eq!(access["deviceid"], device.device_id.as_str(), "{access}");
    let kid = access["cnf"]["kid"].as_str().unwrap().to_string();

    let (code, body) = sample_api(&me, &format!("PoP {shr}")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["scheme"], "PoP");
    assert_eq!(body["cnf_kid"], kid.as_str());
    assert_eq!(body["deviceid"], device.device_id.as_str());

    // The same token without the key: refused as a bearer token.
    let (code, body) = sample_api(&me, &format!("Bearer {at}")).await;
    assert_eq!(code, 401, "{body}");
    assert!(
        body["error_description"].as_str().unwrap().contains("PoP"),
        "{body}"
    );
    // The signed request (for GET) replayed with another method: refused.
    let (code, body) = sample_api_with(reqwest::Method::DELETE, &me, &format!("PoP {shr}")).await;
    assert_eq!(code, 401, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("not for this request"));

    // A second request (no nonce from the resource this time: the broker makes one): the token
    // from the cache, in a freshly signed request.
    let mut request = pop_request(&account, "GET", &me);
    request["authParameters"]["popParams"]["shrNonce"] = serde_json::Value::Null;
    let again = pop_token_for(&served, request).await;
    assert_ne!(claims(&again)["nonce"], signed["nonce"]);
    assert_eq!(claims(&again)["at"], at.as_str());

    // The key's blob is the TPM's wrapping: another TPM cannot load it.
    let blob = std::fs::read(host_bridge::prt::store::pop_key_path(&MachineStore::at(
        &device.state,
    )))
    .unwrap();
    let other_tpm = Swtpm::start(&temp.path().join("other-tpm"));
    let elsewhere = provider_for_policy(KeyProtection::Tpm, &other_tpm.tcti()).unwrap();
    assert!(elsewhere.load_key(KeyPurpose::Pop, &blob).is_err());
    drop(swtpm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_signed_http_request_signs_with_the_same_key_and_authorizes_nothing_alone() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;
    let me = format!("{}/sample-api/me", emulator.base);

    let shr = pop_token(&served, &account, &me).await;
    let kid = claims(claims(&shr)["at"].as_str().unwrap())["cnf"]["kid"].clone();
    let answer = call(
        &served.client,
        "generateSignedHttpRequest",
        serde_json::json!({
            "account": account,
            "popParams": {"httpMethod": "POST", "uri": "https://api.contoso.com/orders"},
        }),
    )
    .await;
    let signed: ShrResponse =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(signed.kid, kid.as_str().unwrap());
    let payload = claims(&signed.signed_http_request);
    assert!(payload.get("at").is_none(), "{payload}");
    assert_eq!(payload["m"], "POST");
    assert_eq!(payload["u"], "api.contoso.com");
    assert_eq!(payload["p"], "/orders");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signed.signed_http_request.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "pop");
    assert_eq!(header["kid"], kid);

    let (code, _) = sample_api(&me, &format!("PoP {}", signed.signed_http_request)).await;
    assert_eq!(code, 401);

    let answer = call(
        &served.client,
        "acquireTokenSilently",
        pop_request(&account, "GET", "no url at all"),
    )
    .await;
    let error = token_of(&answer).unwrap_err();
    assert_eq!(error.status, status::API_CONTRACT_VIOLATION, "{error:?}");
}
