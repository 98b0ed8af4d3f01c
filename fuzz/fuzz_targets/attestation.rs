//! Key attestation: the KeyAttestationStatement envelope (`cxh_wire::key_attestation`), the TPM
//! structures in it (`tenant_emulator::attestation`: TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE)
//! and DRS's whole check (`attestation::assess`, with a live activation so verification goes
//! past the AK). Input: statement bytes; each TPM parser also takes the raw input.
//! Property: a statement that decodes re-encodes to one that decodes the same.
#![no_main]

use base64::Engine;
use cxh_wire::key_attestation::KeyAttestation;
use cxh_wire::transport_key::RsaPublicParts;
use libfuzzer_sys::fuzz_target;
use tenant_emulator::attestation::{
    assess, parse_certify_attest, parse_rsa_public, parse_rsassa_signature, Activation,
    ExpectedKeys,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_rsa_public(data, "fuzzed key");
    let _ = parse_certify_attest(data);
    let _ = parse_rsassa_signature(data);
    if let Ok(statement) = KeyAttestation::decode(data) {
        let encoded = statement
            .encode()
            .expect("decoded parts are each under 64 KiB");
        assert_eq!(KeyAttestation::decode(&encoded).as_ref(), Ok(&statement));
        let _ = parse_rsa_public(&statement.transport.key_public, "transport key");
        let _ = parse_certify_attest(&statement.device.certify_info);
    }
    let modulus = cxh_join_fuzz::rsa_2048_modulus();
    let transport_key = RsaPublicParts {
        bit_length: 2048,
        exponent: vec![1, 0, 1],
        modulus: modulus.clone(),
    };
    let expected = ExpectedKeys {
        transport_key: &transport_key,
        device_modulus: &modulus,
        csr_der: b"fuzz csr",
    };
    let activation = Activation {
        secret: vec![7; 32],
        ek_chain: vec!["fuzz root".into()],
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    cxh_join_fuzz::show(
        "assess",
        &assess(Some(&b64), &expected, Some(&activation), true),
    );
    let _ = tenant_emulator::attestation::ak_name(&b64);
});
