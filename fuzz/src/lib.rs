//! Fixtures shared by the fuzz targets: fixed keys and trust anchors, built once per process
//! so that each execution spends its time in the parser, not in key generation.
//!
//! Nothing here parses: every target calls the project's own parser (the emulator's or
//! cxh-wire's), never a copy of it.

use rsa::{BigUint, RsaPublicKey};
use std::sync::OnceLock;
use tenant_emulator::ek_trust::TpmRoots;

/// A 2048-bit RSA public key (not a real key: only its shape matters, nothing the fuzzer
/// makes can carry a signature that verifies with it).
pub fn rsa_2048() -> &'static RsaPublicKey {
    static KEY: OnceLock<RsaPublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut modulus = [0xC5u8; 256];
        modulus[255] = 0x01;
        RsaPublicKey::new(BigUint::from_bytes_be(&modulus), BigUint::from(65_537u32))
            .expect("a 2048-bit modulus and e = 65537 make a public key")
    })
}

/// The big-endian modulus of [`rsa_2048`].
pub fn rsa_2048_modulus() -> Vec<u8> {
    use rsa::traits::PublicKeyParts;
    rsa_2048().n().to_bytes_be()
}

/// The TPM roots of the project's test TPMs (root + intermediate made by
/// `e2e/scripts/provision-tpm.sh`; public certificates only), as the emulator trusts them
/// with `--tpm-root-ca`.
pub fn tpm_roots() -> &'static TpmRoots {
    static ROOTS: OnceLock<TpmRoots> = OnceLock::new();
    ROOTS.get_or_init(|| {
        TpmRoots::from_pem_bundles([include_str!("../fixtures/tpm-roots.pem")])
            .expect("the fixture bundle parses")
    })
}

/// The token-signing key of the SAML target's federation trust (public part of a throwaway
/// key that signed the seed assertion, `fuzz/make-seeds.py`), so a seed verifies and
/// mutations start from an accepted assertion.
pub fn sts_key() -> &'static RsaPublicKey {
    use rsa::pkcs8::DecodePublicKey;
    static KEY: OnceLock<RsaPublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaPublicKey::from_public_key_pem(include_str!("../fixtures/sts-signing.pub.pem"))
            .expect("the fixture key parses")
    })
}

/// The issuer the SAML target's federation trust names (the bundled tenant's AD FS).
pub const STS_ISSUER: &str = "http://sts.fabrikam-corp.com/adfs/services/trust";

/// A fixed "now" (2027-01-01T00:00:00Z, within the fixtures' validity) so runs are
/// reproducible.
pub const NOW: i64 = 1_798_761_600;

/// `data` as text when it is UTF-8 (the XML and JSON parsers take `&str`, as the routes
/// hand them after axum's UTF-8 check).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// With `CXH_FUZZ_SHOW` set, print what a parser returned (run a target binary on a seed
/// file to see how far it gets: `CXH_FUZZ_SHOW=1 fuzz/target/…/release/saml seed.xml`).
pub fn show<T: std::fmt::Debug>(what: &str, result: &T) {
    static SHOW: OnceLock<bool> = OnceLock::new();
    if *SHOW.get_or_init(|| std::env::var_os("CXH_FUZZ_SHOW").is_some()) {
        eprintln!("{what}: {result:?}");
    }
}
