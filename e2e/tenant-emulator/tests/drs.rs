//! DRS endpoints: discovery (MS-DVRD) and device registration/deletion (MS-DVRE), with the
//! negative cases a real DRS refuses, and the emulator's admin view of device objects.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use der::{Decode, Encode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::json;
use sha1::{Digest, Sha1};
use signature::Verifier;
use tenant_emulator::{ca, db, tokens};
use x509_cert::Certificate;

async fn discovery(emu: &Emulator, uri: &str, accept: Option<&str>) -> Reply {
    let mut request = Request::get(uri);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    send(&emu.router, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn discovery_document_golden_fields() {
    let emu = emulator();
    let reply = discovery(
        &emu,
        "/contoso.com/enrollmentserver/contract?api-version=1.2",
        Some("application/json"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let doc = reply.json();
    let drs = "urn:ms-drs:enterpriseregistration.windows.net";
    assert_eq!(
        doc["DeviceRegistrationService"],
        json!({"RegistrationEndpoint": format!("{PUBLIC_URL}/EnrollmentServer/DeviceEnrollmentWebService.svc"),
               "RegistrationResourceId": drs, "ServiceVersion": "1.0"})
    );
    assert_eq!(
        doc["AuthenticationService"]["OAuth2"],
        json!({"AuthCodeEndpoint": format!("{PUBLIC_URL}/{TENANT_ID}/oauth2/authorize"),
               "TokenEndpoint": format!("{PUBLIC_URL}/{TENANT_ID}/oauth2/token")})
    );
    // The WS-Federation endpoint the authority really serves; contoso.com is managed.
    assert_eq!(
        doc["IdentityProviderService"],
        json!({"Federated": false, "PassiveAuthEndpoint": format!("{PUBLIC_URL}/login.srf")})
    );
    assert_eq!(
        doc["DeviceJoinService"],
        json!({"JoinEndpoint": format!("{PUBLIC_URL}/EnrollmentServer/device/"), "JoinResourceId": drs, "ServiceVersion": "2.0"})
    );
    assert_eq!(
        doc["KeyProvisioningService"]["KeyProvisionEndpoint"],
        format!("{PUBLIC_URL}/EnrollmentServer/key/")
    );
    assert_eq!(
        doc["TenantInfo"],
        json!({"DisplayName": "Contoso", "TenantId": TENANT_ID, "TenantName": "contoso.onmicrosoft.com"})
    );
    // The initial domain and the tenant id resolve to the same tenant; `*/*` next to JSON is fine.
    for key in ["contoso.onmicrosoft.com", TENANT_ID] {
        let uri = format!("/{key}/enrollmentserver/contract?api-version=1.2");
        let other = discovery(&emu, &uri, Some("application/json, */*")).await;
        assert_eq!(other.json()["TenantInfo"]["TenantId"], TENANT_ID);
    }
}

#[tokio::test]
async fn discovery_of_a_federated_domain_says_federated() {
    let emu = emulator();
    let reply = discovery(
        &emu,
        "/fabrikam-corp.com/enrollmentserver/contract?api-version=1.2",
        Some("application/json"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let doc = reply.json();
    assert_eq!(doc["IdentityProviderService"]["Federated"], true);
    assert_eq!(
        doc["IdentityProviderService"]["PassiveAuthEndpoint"],
        format!("{PUBLIC_URL}/login.srf")
    );
    // The passive endpoint exists (a GET is not a sign-in: 405, not 404).
    let endpoint = get(&emu.router, "/login.srf").await;
    assert_eq!(endpoint.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(doc["TenantInfo"]["TenantId"], TENANT_ID);
}

#[tokio::test]
async fn discovery_rejects_unknown_domain_and_wrong_version() {
    let emu = emulator();
    let unknown = discovery(
        &emu,
        "/fabrikam.com/enrollmentserver/contract?api-version=1.2",
        Some("application/json"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["message"]
        .as_str()
        .unwrap()
        .contains("fabrikam.com"));
    let version = discovery(
        &emu,
        "/contoso.com/enrollmentserver/contract?api-version=1.9",
        Some("application/json"),
    )
    .await;
    assert_eq!(version.status, StatusCode::BAD_REQUEST);
    assert_eq!(version.json()["code"], "invalid_request");
}

/// The text of `section/child` (or `section/OAuth2/child` under AuthenticationService) in the
/// MS-DVRD entities namespace.
fn xml_field(doc: &roxmltree::Document, path: &[&str]) -> String {
    const NS: &str =
        "http://schemas.datacontract.org/2004/07/Microsoft.DeviceRegistration.Entities";
    let mut node = doc.root_element();
    for name in path {
        node = node
            .children()
            .find(|n| n.has_tag_name((NS, *name)))
            .unwrap_or_else(|| panic!("no {name} in {path:?}"));
    }
    node.text().unwrap_or_default().to_string()
}

#[tokio::test]
async fn discovery_without_accept_json_answers_the_same_document_in_xml() {
    let emu = emulator();
    for (domain, accept) in [
        ("contoso.com", None),
        ("fabrikam-corp.com", Some("application/xml")),
    ] {
        let uri = format!("/{domain}/enrollmentserver/contract?api-version=1.2");
        let json = discovery(&emu, &uri, Some("application/json")).await.json();
        let reply = discovery(&emu, &uri, accept).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/xml; charset=utf-8"
        );
        let text = reply.text();
        let doc = roxmltree::Document::parse(&text).unwrap();
        assert!(doc
            .root_element()
            .has_tag_name(("http://tempuri.org", "DiscoverResponse")));
        let sections: &[(&str, &[&str])] = &[
            (
                "DeviceRegistrationService",
                &[
                    "RegistrationEndpoint",
                    "RegistrationResourceId",
                    "ServiceVersion",
                ],
            ),
            (
                "IdentityProviderService",
                &["Federated", "PassiveAuthEndpoint"],
            ),
            (
                "DeviceJoinService",
                &["JoinEndpoint", "JoinResourceId", "ServiceVersion"],
            ),
            (
                "KeyProvisioningService",
                &[
                    "KeyProvisionEndpoint",
                    "KeyProvisionResourceId",
                    "ServiceVersion",
                ],
            ),
            ("TenantInfo", &["DisplayName", "TenantId", "TenantName"]),
        ];
        for (section, fields) in sections {
            for field in *fields {
                let expected = match &json[section][field] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(
                    xml_field(&doc, &[section, field]),
                    expected,
                    "{section}/{field}"
                );
            }
        }
        for field in ["AuthCodeEndpoint", "TokenEndpoint"] {
            assert_eq!(
                xml_field(&doc, &["AuthenticationService", "OAuth2", field]),
                json["AuthenticationService"]["OAuth2"][field]
                    .as_str()
                    .unwrap()
            );
        }
        assert_eq!(
            xml_field(&doc, &["IdentityProviderService", "Federated"]),
            (domain != "contoso.com").to_string()
        );
    }
}

#[test]
fn discovery_xml_escapes_text() {
    use tenant_emulator::routes::drs::{discovery_document, discovery_xml};
    let tenant = db::Tenant {
        id: TENANT_ID.into(),
        display_name: "Contoso <R&D> \"Labs\" & 'Co'".into(),
        initial_domain: "contoso.onmicrosoft.com".into(),
        device_quota: 10,
    };
    let xml = discovery_xml(&discovery_document(
        "https://drs.test/a?b=1&c=<2>",
        &tenant,
        false,
    ));
    assert!(!xml.contains("<R&D>") && !xml.contains("c=<2>"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        xml_field(&doc, &["TenantInfo", "DisplayName"]),
        tenant.display_name
    );
    assert_eq!(
        xml_field(&doc, &["DeviceJoinService", "JoinEndpoint"]),
        "https://drs.test/a?b=1&c=<2>/EnrollmentServer/device/"
    );
}

async fn devices(emu: &Emulator) -> Vec<serde_json::Value> {
    get(&emu.router, "/_emulator/devices")
        .await
        .json()
        .as_array()
        .unwrap()
        .clone()
}

fn spki_der_of(key: &rsa::RsaPrivateKey) -> Vec<u8> {
    x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(key.to_public_key())
        .unwrap()
        .to_der()
        .unwrap()
}

fn extension_value(cert: &Certificate, oid: &str) -> Vec<u8> {
    cert.tbs_certificate
        .extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
        .unwrap_or_else(|| panic!("extension {oid} missing"))
        .extn_value
        .as_bytes()
        .to_vec()
}

#[tokio::test]
async fn registration_issues_a_certificate_and_writes_the_device_object() {
    let emu = emulator();
    let id_token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let reply = register(
        &emu.router,
        Some(&id_token),
        REGISTER_URI,
        &good_registration_body(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let response: cxh_wire::registration::RegistrationResponse =
        serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(response.user.upn, ADELE);
    let adele_sid = tokens::cloud_sid(&uuid::Uuid::parse_str(ADELE_OID).unwrap());
    assert_eq!(response.membership_changes[0].local_sid, "S-1-5-32-544");
    assert_eq!(response.membership_changes[0].add_sids, vec![adele_sid]);

    let der = STANDARD.decode(&response.certificate.raw_body).unwrap();
    assert_eq!(
        response.certificate.thumbprint,
        hex::encode_upper(Sha1::digest(&der))
    );
    let cert = Certificate::from_der(&der).unwrap();
    let listed = devices(&emu).await;
    assert_eq!(listed.len(), 1);
    let device_id = listed[0]["DeviceId"].as_str().unwrap().to_string();
    assert_eq!(
        cert.tbs_certificate.subject.to_string(),
        format!("CN={device_id}")
    );
    assert!(cert
        .tbs_certificate
        .issuer
        .to_string()
        .contains("CN=MS-Organization-Access"));
    assert!(cert
        .tbs_certificate
        .issuer
        .to_string()
        .contains("DC=windows"));
    assert_eq!(
        cert.tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap(),
        spki_der_of(device_key())
    );
    let device_uuid = uuid::Uuid::parse_str(&device_id).unwrap();
    assert_eq!(
        extension_value(&cert, "1.2.840.113556.1.5.284.2"),
        device_uuid.to_bytes_le()
    );
    let tenant_uuid = uuid::Uuid::parse_str(TENANT_ID).unwrap();
    assert_eq!(
        extension_value(&cert, "1.2.840.113556.1.5.284.5"),
        tenant_uuid.to_bytes_le()
    );
    assert_eq!(extension_value(&cert, "1.2.840.113556.1.5.284.7"), b"0");

    // The certificate is signed by the tenant CA (including the private extensions).
    let authority = ca::tenant_ca(&emu.state.db(), TENANT_ID).unwrap();
    assert_eq!(
        cert.tbs_certificate.issuer,
        authority.cert.tbs_certificate.subject
    );
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(authority.key.to_public_key());
    let signature = rsa::pkcs1v15::Signature::try_from(cert.signature.raw_bytes()).unwrap();
    verifier
        .verify(&cert.tbs_certificate.to_der().unwrap(), &signature)
        .unwrap();

    let object = get(&emu.router, &format!("/_emulator/devices/{device_id}"))
        .await
        .json();
    assert_eq!(object["DisplayName"], "DESKTOP-TEST01");
    assert_eq!(object["DeviceOsType"], "Windows");
    assert_eq!(object["DeviceOsVersion"], "10.0.19041.928");
    assert_eq!(object["DeviceTrustType"], "Azure AD Joined");
    assert_eq!(object["RegisteredOwners"], json!([ADELE]));
    assert_eq!(object["TenantId"], TENANT_ID);
    assert_eq!(object["Thumbprint"], response.certificate.thumbprint);
    assert_eq!(object["TransportKey"], transport_key_blob());
    assert_eq!(object["Enabled"], true);
    assert_eq!(object["Attested"], false);
    let key_hash = STANDARD.encode(sha2::Sha256::digest(spki_der_of(device_key())));
    assert_eq!(
        object["AlternativeSecurityIds"],
        json!([format!(
            "X509:<SHA1-TP-PUBKEY>{}{key_hash}",
            response.certificate.thumbprint
        )])
    );
    assert!(uuid::Uuid::parse_str(object["ObjectId"].as_str().unwrap()).is_ok());
    assert_ne!(object["ObjectId"], object["DeviceId"]);
    assert_eq!(
        get(
            &emu.router,
            "/_emulator/devices/00000000-0000-0000-0000-000000000000"
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn registration_accepts_a_drs_access_token_and_workplace_join() {
    let emu = emulator();
    let fields = [
        ("grant_type", "password"),
        ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
        ("username", MEGAN),
        ("password", MEGAN_PASSWORD),
        ("resource", cxh_wire::consts::DRS_RESOURCE_ID),
    ];
    let token = post_form(&emu.router, "/common/oauth2/token", &fields)
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = good_registration_body();
    body["JoinType"] = json!(4);
    body["Attributes"] = json!({"returnClientSid": false});
    let reply = register(&emu.router, Some(&token), REGISTER_URI, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.json().get("MembershipChanges").is_none());
    assert_eq!(devices(&emu).await[0]["DeviceTrustType"], "Workplace");
}

/// An id_token for Adele with its lifetime moved; signed by `key` (the emulator's by default).
fn adele_token(emu: &Emulator, shift_secs: i64, foreign: bool) -> String {
    let conn = emu.state.db();
    let user = db::user_by_upn(&conn, ADELE).unwrap().unwrap();
    let tenant = db::tenant_by_id(&conn, TENANT_ID).unwrap().unwrap();
    drop(conn);
    let subject = tokens::TokenSubject {
        user: &user,
        tenant: &tenant,
        client_id: cxh_wire::consts::DRS_CLIENT_ID,
    };
    let mut claims = tokens::id_token_claims(&subject, Some("n".into()));
    claims.iat += shift_secs;
    claims.nbf += shift_secs;
    claims.exp += shift_secs;
    if !foreign {
        return tokens::sign(emu.state.keys(), &claims).unwrap();
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(emu.state.keys().kid.clone());
    let der = foreign_key().to_pkcs1_der().unwrap();
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
    )
    .unwrap()
}

async fn assert_rejected(
    emu: &Emulator,
    reply: Reply,
    status: StatusCode,
    code: &str,
    message_part: &str,
) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(message_part),
        "{message:?} lacks {message_part:?}"
    );
    assert!(!body["operationId"].as_str().unwrap().is_empty());
    assert!(
        devices(emu).await.is_empty(),
        "a rejected registration left a device object"
    );
}

#[tokio::test]
async fn registration_rejects_bad_tokens() {
    let emu = emulator();
    let body = good_registration_body();
    let none = register(&emu.router, None, REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        none,
        StatusCode::UNAUTHORIZED,
        "authorization_failed",
        "Bearer",
    )
    .await;

    let expired = adele_token(&emu, -7200, false);
    let reply = register(&emu.router, Some(&expired), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "expired",
    )
    .await;

    let future = adele_token(&emu, 600, false);
    let reply = register(&emu.router, Some(&future), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "not yet valid",
    )
    .await;

    let forged = adele_token(&emu, 0, true);
    let reply = register(&emu.router, Some(&forged), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "signature",
    )
    .await;

    let reply = register(&emu.router, Some("not.a.jwt"), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "well-formed",
    )
    .await;

    // A valid token for another resource is refused.
    let fields = [
        ("grant_type", "password"),
        ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
        ("username", ADELE),
        ("password", ADELE_PASSWORD),
        ("resource", "https://graph.microsoft.com"),
    ];
    let graph = post_form(&emu.router, "/common/oauth2/token", &fields)
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = register(&emu.router, Some(&graph), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "audience",
    )
    .await;
}

#[tokio::test]
async fn registration_rejects_bad_csrs_blobs_versions_and_join_types() {
    let emu = emulator();
    let token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let blob = transport_key_blob();
    let good_csr = csr_der(device_key(), cxh_wire::consts::CSR_SUBJECT_CN);

    let mut tampered = good_csr.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let mut with_primes = STANDARD.decode(&blob).unwrap();
    with_primes[16] = 128;
    let wrong_cn = csr_der(device_key(), "NOT-THE-DRS-CN");

    let cases: Vec<(serde_json::Value, &str)> = vec![
        (registration_body("%%% not base64 %%%", &blob, 0), "base64"),
        (
            registration_body(&STANDARD.encode(b"garbage, not DER"), &blob, 0),
            "DER PKCS#10",
        ),
        (
            registration_body(&STANDARD.encode(&tampered), &blob, 0),
            "signature does not verify",
        ),
        (
            registration_body(&STANDARD.encode(&wrong_cn), &blob, 0),
            "subject",
        ),
        (
            registration_body(
                &STANDARD.encode(&good_csr),
                &STANDARD.encode(&with_primes),
                0,
            ),
            "primes",
        ),
        (
            registration_body(&STANDARD.encode(&good_csr), &blob, 9),
            "JoinType 9",
        ),
        (
            json!({"CertificateRequest": {"Type": "pkcs10"}}),
            "not valid JSON",
        ),
    ];
    for (body, reason) in cases {
        let reply = register(&emu.router, Some(&token), REGISTER_URI, &body).await;
        assert_rejected(
            &emu,
            reply,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            reason,
        )
        .await;
    }

    let hybrid = registration_body(&STANDARD.encode(&good_csr), &blob, 6);
    let reply = register(&emu.router, Some(&token), REGISTER_URI, &hybrid).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::BAD_REQUEST,
        "not_supported",
        "join type 6",
    )
    .await;

    let reply = register(
        &emu.router,
        Some(&token),
        "/EnrollmentServer/device/?api-version=1.0",
        &good_registration_body(),
    )
    .await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "api-version",
    )
    .await;
}

#[tokio::test]
async fn registration_enforces_the_per_user_quota() {
    let mut file = tenant_file();
    file.tenants[0].device_quota = Some(1);
    let emu = emulator_with(&file);
    let token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let first = register(
        &emu.router,
        Some(&token),
        REGISTER_URI,
        &good_registration_body(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let second = register(
        &emu.router,
        Some(&token),
        REGISTER_URI,
        &good_registration_body(),
    )
    .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.json()["code"], "quota_exceeded");
    assert_eq!(devices(&emu).await.len(), 1);
}

#[tokio::test]
async fn only_the_owner_deletes_a_device() {
    let emu = emulator();
    let adele = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let reply = register(
        &emu.router,
        Some(&adele),
        REGISTER_URI,
        &good_registration_body(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let device_id = devices(&emu).await[0]["DeviceId"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/EnrollmentServer/device/{device_id}");

    let delete = |token: Option<String>| {
        let mut request = Request::delete(uri.as_str());
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(
        send(&emu.router, delete(None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let megan = sign_in(&emu.router, MEGAN, MEGAN_PASSWORD, "n").await;
    assert_eq!(
        send(&emu.router, delete(Some(megan))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&emu.router, delete(Some(adele.clone()))).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(devices(&emu).await.is_empty());
    assert_eq!(
        send(&emu.router, delete(Some(adele))).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_tenant_requiring_attestation_refuses_missing_or_forged_certifications() {
    let mut file = tenant_file();
    file.tenants[0].require_attestation = true;
    let emu = emulator_with(&file);
    let id_token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let body = good_registration_body();
    let reply = register(&emu.router, Some(&id_token), REGISTER_URI, &body).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::BAD_REQUEST,
        "attestation_failed",
        "no AttestationData",
    )
    .await;

    let mut forged = body.clone();
    forged["AttestationData"] = serde_json::Value::String(STANDARD.encode(b"KAST but not really"));
    let reply = register(&emu.router, Some(&id_token), REGISTER_URI, &forged).await;
    assert_rejected(
        &emu,
        reply,
        StatusCode::BAD_REQUEST,
        "attestation_failed",
        "AttestationData",
    )
    .await;
}
