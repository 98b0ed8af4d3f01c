//! Our exclusive C14N against an independent implementation: Debian's `xmlsec1` (libxml2's
//! C14N) signs documents at test time, and the digest it computed over each canonical
//! document, and its signature over the canonical `SignedInfo`, must match what
//! `tenant_emulator::c14n` produces for the same bytes. `xmlsec1` is installed by
//! e2e/scripts/install.sh; without it this test FAILS (it does not skip).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use signature::Verifier;
use std::process::Command;
use tenant_emulator::c14n::canonicalize;

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// An enveloped-signature template over the whole document, exc-C14N, RSA-SHA256, SHA-256.
fn signature_template(prefix: &str) -> String {
    let p = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}:")
    };
    let xmlns = if prefix.is_empty() {
        format!("xmlns=\"{DSIG}\"")
    } else {
        format!("xmlns:{prefix}=\"{DSIG}\"")
    };
    format!(
        "<{p}Signature {xmlns}><{p}SignedInfo>\
         <{p}CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <{p}SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <{p}Reference URI=\"\"><{p}Transforms>\
         <{p}Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <{p}Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         </{p}Transforms><{p}DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <{p}DigestValue></{p}DigestValue></{p}Reference></{p}SignedInfo>\
         <{p}SignatureValue></{p}SignatureValue></{p}Signature>"
    )
}

/// Documents exercising what exclusive C14N changes: attribute order and quoting, namespace
/// declarations (unused, redeclared, default, inherited, visibly used only by an attribute),
/// empty elements, character references and escaping, CDATA, comments, whitespace, `\r`.
fn vectors() -> Vec<String> {
    let sig = signature_template("ds");
    vec![
        format!(
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" xmlns:unused=\"urn:x\" \
             MinorVersion='1' MajorVersion=\"1\" AssertionID=\"_a1\" Issuer=\"http://sts/&amp;trust\">\n  \
             <saml:Conditions NotOnOrAfter=\"2030-01-01T00:00:00Z\" NotBefore=\"2020-01-01T00:00:00Z\"/>\n  \
             <saml:AttributeStatement><saml:Attribute AttributeName=\"UPN\" AttributeNamespace=\"http://schemas.xmlsoap.org/claims\">\
             <saml:AttributeValue>diego@fabrikam.example<!-- dropped -->.evil</saml:AttributeValue>\
             </saml:Attribute></saml:AttributeStatement>{sig}</saml:Assertion>"
        ),
        format!(
            "<root xmlns=\"urn:default\" b=\"2\" a=\"1\"><child xmlns=\"urn:default\"><x:inner xmlns:x=\"urn:x\" x:attr=\"v\" \
             plain=\"&lt;&gt;&quot;&#9;&#10;&#13;\">text &amp; &lt; &gt; &#13; <![CDATA[<cdata> & ]]></x:inner></child>\
             <other xmlns=\"\"><deep xmlns:y=\"urn:y\"><y:leaf/></deep></other>\r\n{sig}</root>"
        ),
        format!(
            "<a:outer xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><b:mid b:att=\"1\" a:att=\"2\"><a:inner xmlns:a=\"urn:a2\">\u{e9}\u{1f600}</a:inner>\
             </b:mid><empty></empty><selfclosed/>{}</a:outer>",
            signature_template("")
        ),
    ]
}

#[test]
fn our_exclusive_c14n_matches_xmlsec1_digests_and_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let key_pem = dir.path().join("key.pem");
    std::fs::write(
        &key_pem,
        key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let verifying = VerifyingKey::<Sha256>::new(key.to_public_key());

    for (i, template) in vectors().iter().enumerate() {
        let input = dir.path().join(format!("template-{i}.xml"));
        let output = dir.path().join(format!("signed-{i}.xml"));
        std::fs::write(&input, template).unwrap();
        let run = Command::new("xmlsec1")
            .arg("--sign")
            .arg("--privkey-pem")
            .arg(&key_pem)
            .arg("--output")
            .arg(&output)
            .arg(&input)
            .output()
            .expect("xmlsec1 must be installed for this test (e2e/scripts/install.sh installs it)");
        assert!(
            run.status.success(),
            "xmlsec1 failed on vector {i}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let signed = std::fs::read_to_string(&output).unwrap();
        let doc = roxmltree::Document::parse(&signed).unwrap();
        let root = doc.root_element();
        let find = |name: &str| {
            doc.descendants()
                .find(|n| n.tag_name().namespace() == Some(DSIG) && n.tag_name().name() == name)
                .unwrap_or_else(|| panic!("no {name} in vector {i}"))
        };
        let signature = find("Signature");
        let text = |name: &str| -> Vec<u8> {
            let value: String = find(name).text().unwrap_or("").split_whitespace().collect();
            STANDARD.decode(value).unwrap()
        };

        let ours = canonicalize(root, Some(signature.id()));
        assert_eq!(
            Sha256::digest(ours.as_bytes()).to_vec(),
            text("DigestValue"),
            "vector {i}: our canonical form differs from xmlsec1's:\n{ours}"
        );
        let signed_info = canonicalize(find("SignedInfo"), None);
        let signature_value = Signature::try_from(text("SignatureValue").as_slice()).unwrap();
        verifying
            .verify(signed_info.as_bytes(), &signature_value)
            .unwrap_or_else(|_| {
                panic!("vector {i}: xmlsec1 signed another SignedInfo than ours:\n{signed_info}")
            });
    }
}
