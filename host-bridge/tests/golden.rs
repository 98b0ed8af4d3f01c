//! Goldens of what the bridge puts on the wire and on screen: the PKCS#10 request, the
//! registration request JSON (MS-DVRE names and casing) and the dsregcmd-style status text.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use host_bridge::csr::{build_device_csr, SHA256_WITH_RSA_OID};
use host_bridge::keys::{KeyProvider, KeyPurpose, SoftwareKeyProvider};
use host_bridge::registration::{build_request, DeviceFacts};
use host_bridge::status::{render_text, DeviceDetails, DeviceStatus, TenantDetails};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use sha2::Sha256;
use signature::Verifier;
use x509_cert::request::CertReq;

#[test]
fn the_csr_names_the_ms_dvre_subject_and_verifies_with_the_device_key() {
    let device = SoftwareKeyProvider.create_key(KeyPurpose::Device).unwrap();
    let der = build_device_csr(device.as_ref()).unwrap();
    let request = CertReq::from_der(&der).unwrap();

    assert_eq!(
        request.info.subject.to_string(),
        "CN=7E980AD9-B86D-4306-9425-9AC066FB014A"
    );
    assert_eq!(request.algorithm.oid, SHA256_WITH_RSA_OID);
    assert_eq!(request.algorithm.oid.to_string(), "1.2.840.113549.1.1.11");

    let public = RsaPublicKey::try_from(request.info.public_key.owned_to_ref()).unwrap();
    assert_eq!(public.size() * 8, 2048);
    assert_eq!(&public, device.public_key());

    let signed = request.info.to_der().unwrap();
    let signature = Signature::try_from(request.signature.raw_bytes()).unwrap();
    VerifyingKey::<Sha256>::new(device.public_key().clone())
        .verify(&signed, &signature)
        .expect("signature verifies");

    // And it does not verify with another key.
    let other = SoftwareKeyProvider.create_key(KeyPurpose::Device).unwrap();
    assert!(VerifyingKey::<Sha256>::new(other.public_key().clone())
        .verify(&signed, &signature)
        .is_err());
}

use der::referenced::OwnedToRef;

#[test]
fn the_registration_request_has_the_windows_shape() {
    let transport = SoftwareKeyProvider
        .create_key(KeyPurpose::Transport)
        .unwrap();
    let csr = b"\x30\x03\x02\x01\x00";
    let facts = DeviceFacts {
        target_domain: "enterpriseregistration.windows.net",
        os_version: "10.0.22631.4460",
        device_display_name: "DESKTOP-123",
    };
    let request = build_request(csr, transport.public_key(), &facts);
    let json = serde_json::to_string(&request).unwrap();

    let transport_key = &request.transport_key;
    assert!(transport_key.starts_with("UlNBMQAIAAAD"), "{transport_key}");
    let blob = STANDARD.decode(transport_key).unwrap();
    let parts = cxh_wire::transport_key::decode(&blob).unwrap();
    assert_eq!(parts.modulus, transport.public_key().n().to_bytes_be());
    assert_eq!(parts.exponent, vec![1, 0, 1]);

    let expected = format!(
        concat!(
            r#"{{"CertificateRequest":{{"Type":"pkcs10","Data":"MAMCAQA="}},"#,
            r#""TransportKey":"{tk}","TargetDomain":"enterpriseregistration.windows.net","#,
            r#""DeviceType":"Windows","OSVersion":"10.0.22631.4460","DeviceDisplayName":"DESKTOP-123","#,
            r#""JoinType":0,"Attributes":{{"ReuseDevice":"true","ReturnClientSid":"true","SharedDevice":"false"}}}}"#
        ),
        tk = transport_key
    );
    assert_eq!(json, expected);
}

fn joined_status() -> DeviceStatus {
    DeviceStatus {
        azure_ad_joined: true,
        enterprise_joined: false,
        domain_joined: false,
        device_name: "DESKTOP-123".into(),
        device: Some(DeviceDetails {
            device_id: "4d908954-1234-4c2b-9a6e-0f1e2d3c4b5a".into(),
            thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
            certificate_valid_from: "2020-12-22 10:49:16.000 UTC".into(),
            certificate_valid_to: "2030-12-22 11:19:16.000 UTC".into(),
            key_container_id: "e308c7cb-1234-4d5e-8f90-a1b2c3d4e5f6".into(),
            key_provider: "Microsoft Software Key Storage Provider".into(),
            tpm_protected: false,
            device_auth_status: "SUCCESS".into(),
            auto_logon_prepared: false,
            device_key_attested: false,
            transport_key_attested: false,
            attestation_chain: String::new(),
            attestation_note: None,
        }),
        tenant: Some(TenantDetails {
            tenant_name: "Contoso".into(),
            tenant_id: "6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31".into(),
            auth_code_url: "https://login.example/t/oauth2/authorize".into(),
            access_token_url: "https://login.example/t/oauth2/token".into(),
            mdm_url: String::new(),
            mdm_tou_url: String::new(),
            mdm_compliance_url: String::new(),
            join_srv_version: "2.0".into(),
            join_srv_url: "https://drs.example/EnrollmentServer/device/".into(),
            join_srv_id: "urn:ms-drs:enterpriseregistration.windows.net".into(),
            key_srv_version: "1.0".into(),
            key_srv_url: "https://drs.example/EnrollmentServer/key/".into(),
            key_srv_id: "urn:ms-drs:enterpriseregistration.windows.net".into(),
        }),
        mdm: None,
        pending_registration: None,
        sso: None,
    }
}

#[test]
fn the_status_text_is_laid_out_like_dsregcmd() {
    let expected = "\
+----------------------------------------------------------------------+
| Device State                                                         |
+----------------------------------------------------------------------+

             AzureAdJoined : YES
          EnterpriseJoined : NO
              DomainJoined : NO
               Device Name : DESKTOP-123

+----------------------------------------------------------------------+
| Device Details                                                       |
+----------------------------------------------------------------------+

                  DeviceId : 4d908954-1234-4c2b-9a6e-0f1e2d3c4b5a
                Thumbprint : 0123456789ABCDEF0123456789ABCDEF01234567
 DeviceCertificateValidity : [ 2020-12-22 10:49:16.000 UTC -- 2030-12-22 11:19:16.000 UTC ]
            KeyContainerId : e308c7cb-1234-4d5e-8f90-a1b2c3d4e5f6
               KeyProvider : Microsoft Software Key Storage Provider
              TpmProtected : NO
          DeviceAuthStatus : SUCCESS
         AutoLogonPrepared : NO
         DeviceKeyAttested : NO
      TransportKeyAttested : NO

+----------------------------------------------------------------------+
| Tenant Details                                                       |
+----------------------------------------------------------------------+

                TenantName : Contoso
                  TenantId : 6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31
               AuthCodeUrl : https://login.example/t/oauth2/authorize
            AccessTokenUrl : https://login.example/t/oauth2/token
                    MdmUrl :
                 MdmTouUrl :
          MdmComplianceUrl :
            JoinSrvVersion : 2.0
                JoinSrvUrl : https://drs.example/EnrollmentServer/device/
                 JoinSrvId : urn:ms-drs:enterpriseregistration.windows.net
             KeySrvVersion : 1.0
                 KeySrvUrl : https://drs.example/EnrollmentServer/key/
                  KeySrvId : urn:ms-drs:enterpriseregistration.windows.net
";
    assert_eq!(render_text(&joined_status()), expected);
}

#[test]
fn the_status_json_carries_the_same_facts() {
    let json = serde_json::to_value(joined_status()).unwrap();
    assert_eq!(json["azure_ad_joined"], true);
    assert_eq!(
        json["device"]["device_id"],
        "4d908954-1234-4c2b-9a6e-0f1e2d3c4b5a"
    );
    assert_eq!(json["device"]["tpm_protected"], false);
    assert_eq!(
        json["tenant"]["join_srv_id"],
        "urn:ms-drs:enterpriseregistration.windows.net"
    );
}
