//! A test for every refusal of the PoP verifier, with SHRs signed here by keys the test holds
//! (the honest client's and an attacker's).

use super::*;
use cxh_wire::oidc::AccessTokenClaims;
use cxh_wire::pop::{Cnf, RsaJwk};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

const AUDIENCE: &str = "https://graph.microsoft.com";

struct Fixture {
    _dir: tempfile::TempDir,
    keys: SigningKeys,
    client: RsaPrivateKey,
    attacker: RsaPrivateKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::db::open(&dir.path().join("t.db")).unwrap();
    Fixture {
        keys: SigningKeys::load_or_create(&conn).unwrap(),
        client: crate::ca::generate_rsa_key().unwrap(),
        attacker: crate::ca::generate_rsa_key().unwrap(),
        _dir: dir,
    }
}

fn jwk_of(key: &RsaPrivateKey) -> RsaJwk {
    RsaJwk::from_components(&key.n().to_bytes_be(), &key.e().to_bytes_be())
}

fn access_token(keys: &SigningKeys, bound_to: Option<&RsaPrivateKey>) -> String {
    let now = tokens::now();
    let claims = AccessTokenClaims {
        aud: AUDIENCE.into(),
        iss: "https://sts.windows.net/t1/".into(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        ver: "1.0".into(),
        tid: "t1".into(),
        oid: "o1".into(),
        sub: "s1".into(),
        upn: "adele@contoso.com".into(),
        unique_name: "adele@contoso.com".into(),
        appid: "c1".into(),
        scp: "user_impersonation".into(),
        amr: vec!["pwd".into()],
        deviceid: Some("d1".into()),
        cnf: bound_to.map(|k| Cnf {
            kid: Some(jwk_of(k).thumbprint()),
            jwk: None,
        }),
    };
    tokens::sign(keys, &claims).unwrap()
}

fn claims(at: Option<String>, key: &RsaPrivateKey) -> ShrClaims {
    ShrClaims {
        at,
        ts: tokens::now(),
        m: Some("GET".into()),
        u: Some("login.example:8443".into()),
        p: Some("/sample-api/me".into()),
        nonce: "n1".into(),
        cnf: Cnf {
            kid: None,
            jwk: Some(jwk_of(key)),
        },
        client_claims: None,
    }
}

/// Sign `claims` with `signer`, naming `kid` and `typ` in the header.
fn sign_with(claims: &ShrClaims, signer: &RsaPrivateKey, kid: &str, typ: &str) -> String {
    let header = ShrHeader {
        alg: "RS256".into(),
        typ: typ.into(),
        kid: kid.into(),
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let signature = SigningKey::<Sha256>::new(signer.clone()).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn shr(claims: &ShrClaims, signer: &RsaPrivateKey) -> String {
    let kid = claims.cnf.jwk.as_ref().unwrap().thumbprint();
    sign_with(claims, signer, &kid, SHR_TYP)
}

const REQUEST: PresentedRequest<'static> = PresentedRequest {
    method: "GET",
    host: "login.example:8443",
    path: "/sample-api/me",
};

fn verify(f: &Fixture, shr: &str) -> Result<VerifiedPop, ShrError> {
    verify_shr(&f.keys, shr, &REQUEST, &[AUDIENCE.to_string()])
}

#[test]
fn an_shr_by_the_key_the_token_is_bound_to_is_accepted() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let verified = verify(&f, &shr(&claims(Some(at), &f.client), &f.client)).unwrap();
    assert_eq!(verified.kid, jwk_of(&f.client).thumbprint());
    assert_eq!(verified.token.deviceid.as_deref(), Some("d1"));
}

#[test]
fn a_stolen_pop_token_in_the_attackers_own_shr_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let forged = shr(&claims(Some(at), &f.attacker), &f.attacker);
    assert_eq!(verify(&f, &forged).unwrap_err(), ShrError::WrongKey);
}

#[test]
fn an_shr_naming_the_clients_key_but_signed_by_another_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let forged = shr(&claims(Some(at), &f.client), &f.attacker);
    assert_eq!(verify(&f, &forged).unwrap_err(), ShrError::BadSignature);
}

#[test]
fn a_bearer_token_wrapped_in_an_shr_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, None);
    let wrapped = shr(&claims(Some(at), &f.client), &f.client);
    assert_eq!(verify(&f, &wrapped).unwrap_err(), ShrError::NotPopToken);
}

#[test]
fn a_pop_token_presented_as_a_bearer_token_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    assert_eq!(
        tokens::validate_bearer(&f.keys, &at, &[AUDIENCE.to_string()]).unwrap_err(),
        TokenError::PopBound
    );
}

#[test]
fn an_shr_for_another_request_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let mut other = claims(Some(at), &f.client);
    other.p = Some("/sample-api/admin".into());
    assert!(matches!(
        verify(&f, &shr(&other, &f.client)),
        Err(ShrError::OtherRequest { .. })
    ));
    other.p = REQUEST.path.to_string().into();
    other.m = Some("POST".into());
    assert!(matches!(
        verify(&f, &shr(&other, &f.client)),
        Err(ShrError::OtherRequest { .. })
    ));
}

#[test]
fn a_stale_shr_is_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let mut old = claims(Some(at), &f.client);
    old.ts -= SHR_MAX_AGE_SECS + 60;
    assert!(matches!(
        verify(&f, &shr(&old, &f.client)),
        Err(ShrError::Stale { .. })
    ));
}

#[test]
fn an_shr_without_an_access_token_does_not_authorize_a_request() {
    let f = fixture();
    let bare = shr(&claims(None, &f.client), &f.client);
    assert_eq!(verify(&f, &bare).unwrap_err(), ShrError::NoAccessToken);
    // ...though its signature alone checks (what generateSignedHttpRequest gives an app).
    assert!(verify_signed_request(&bare).is_ok());
}

#[test]
fn a_wrong_typ_a_wrong_kid_and_a_token_of_another_authority_are_refused() {
    let f = fixture();
    let at = access_token(&f.keys, Some(&f.client));
    let good = claims(Some(at), &f.client);
    let kid = jwk_of(&f.client).thumbprint();
    assert!(matches!(
        verify(&f, &sign_with(&good, &f.client, &kid, "JWT")),
        Err(ShrError::WrongHeader { .. })
    ));
    let other_kid = jwk_of(&f.attacker).thumbprint();
    assert_eq!(
        verify(&f, &sign_with(&good, &f.client, &other_kid, SHR_TYP)).unwrap_err(),
        ShrError::KidMismatch
    );
    let elsewhere = fixture();
    let foreign_at = access_token(&elsewhere.keys, Some(&f.client));
    let foreign = shr(&claims(Some(foreign_at), &f.client), &f.client);
    assert!(matches!(
        verify(&f, &foreign),
        Err(ShrError::AccessToken(_))
    ));
}

#[test]
fn garbage_is_refused_as_malformed() {
    let f = fixture();
    for input in ["", "a.b", "a.b.c.d", "!!.??.**"] {
        assert!(
            matches!(verify(&f, input), Err(ShrError::Malformed(_))),
            "{input:?}"
        );
    }
}
