#!/usr/bin/env python3
"""Writes the checked-in seed corpus (fuzz/seeds/<target>/) from the project's fixtures.

Sources: the wire golden fixtures (host-bridge/wire/tests/fixtures: registration request,
PRT vectors), the SOAP and WS-Trust messages of the emulator's unit tests, the EK certificate
and roots of a test TPM made by e2e/scripts/provision-tpm.sh (pass its EK DER as argv[1]), and
structures built here in the layouts the project's tests use (CSR, RSA1 blob, attestation
statement, signed SAML assertion, JWS/JWE), with throwaway keys: only public parts are kept
(fuzz/fixtures/sts-signing.pub.pem, the SAML target's trust). Run once by hand; its output
is committed, so CI needs neither Python nor swtpm.
Needs python3-cryptography.
"""
import base64, hashlib, json, os, struct, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "host-bridge/wire/tests/fixtures")
b64 = lambda b: base64.b64encode(b).decode()
b64url = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)

# --- CSR and transport key (DRS registration) ---
device_key, transport_key, ak = key(), key(), key()
csr = (x509.CertificateSigningRequestBuilder()
       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "7E980AD9-B86D-4306-9425-9AC066FB014A")]))
       .sign(device_key, hashes.SHA256()))
csr_der = csr.public_bytes(serialization.Encoding.DER)
write("csr", "device-csr.der", csr_der)
fixture = json.load(open(os.path.join(FIXTURES, "registration-request.wire-facts.json")))
write("csr", "wire-facts-prefix.der", base64.b64decode(fixture["CertificateRequest"]["Data"] + "=="))

def rsa1(pub):
    n = pub.public_numbers().n.to_bytes(256, "big")
    e = (65537).to_bytes(3, "big")
    return b"RSA1" + struct.pack("<5I", 2048, len(e), len(n), 0, 0) + e + n
tk_blob = rsa1(transport_key.public_key())
write("transport_key", "rsa2048.blob", tk_blob)
write("transport_key", "wire-facts-header.blob", base64.b64decode(fixture["TransportKey"]))
write("transport_key", "with-primes.blob", b"RSA1" + struct.pack("<5I", 8, 1, 1, 1, 1) + b"\x03\xc5\x07\x0b")

registration = dict(fixture)
registration["CertificateRequest"] = {"Type": "pkcs10", "Data": b64(csr_der)}
registration["TransportKey"] = b64(tk_blob)
write("drs_registration", "wire-facts.json", open(os.path.join(FIXTURES, "registration-request.wire-facts.json")).read())
write("drs_registration", "full.json", json.dumps(registration))
lower = {k[0].lower() + k[1:]: v for k, v in registration.items()}
write("drs_registration", "camel-case.json", json.dumps(lower))

# --- Key attestation (the fuzz target's fixed activation and expected keys) ---
FUZZ_MODULUS = bytes([0xC5] * 255 + [0x01])   # fuzz/src/lib.rs rsa_2048_modulus
SECRET, CSR = bytes([7] * 32), b"fuzz csr"
FIXED_TPM, FIXED_PARENT, SDO, RESTRICTED, DECRYPT, SIGN = 1 << 1, 1 << 4, 1 << 5, 1 << 16, 1 << 17, 1 << 18
sized = lambda b: struct.pack(">H", len(b)) + b
def tpmt_public(attributes, scheme, modulus):
    return (struct.pack(">HHI", 0x0001, 0x000B, attributes) + sized(b"") + struct.pack(">H", 0x0010)
            + scheme + struct.pack(">HI", 2048, 0) + sized(modulus))
name_of = lambda public: struct.pack(">H", 0x000B) + hashlib.sha256(public).digest()
qualifying = hashlib.sha256(SECRET + hashlib.sha256(CSR).digest()).digest()
ak_public = tpmt_public(FIXED_TPM | FIXED_PARENT | SDO | RESTRICTED | SIGN, struct.pack(">HH", 0x0014, 0x000B),
                        ak.public_key().public_numbers().n.to_bytes(256, "big"))
def certified(attributes, scheme):
    public = tpmt_public(attributes, scheme, FUZZ_MODULUS)
    attest = (struct.pack(">IH", 0xFF544347, 0x8017) + sized(name_of(ak_public)) + sized(qualifying)
              + struct.pack(">QIIB", 1234, 1, 0, 1) + struct.pack(">Q", 0x2000_0000_0000)
              + sized(name_of(public)) + sized(name_of(public)))
    sig = ak.sign(attest, padding.PKCS1v15(), hashes.SHA256())
    return sized(public) + sized(attest) + sized(struct.pack(">HH", 0x0014, 0x000B) + sized(sig))
keys = (certified(FIXED_TPM | FIXED_PARENT | SDO | DECRYPT, struct.pack(">H", 0x0010))
        + certified(FIXED_TPM | FIXED_PARENT | SDO | SIGN, struct.pack(">HH", 0x0014, 0x000B)))
id_binding = sized(ak_public)
statement = struct.pack("<7I", 0x5453414B, 1, 2, 28, len(id_binding), len(keys), 0) + id_binding + keys
write("attestation", "valid-statement.bin", statement)
write("attestation", "ak-public.bin", ak_public)

# --- EK certificate (a provisioned swtpm's, and the roots themselves) ---
if len(sys.argv) > 1:
    write("ek_certificate", "swtpm-ek.der", open(sys.argv[1], "rb").read())
pem = open(os.path.join(HERE, "fixtures/tpm-roots.pem")).read()
for i, block in enumerate(pem.split("-----END CERTIFICATE-----")[:-1]):
    cert = x509.load_pem_x509_certificate((block + "-----END CERTIFICATE-----").encode())
    write("ek_certificate", f"root-{i}.der", cert.public_bytes(serialization.Encoding.DER))

# --- SAML 1.1 assertion, written in its exclusive-C14N form so the digest is right ---
sts = key()
open(os.path.join(HERE, "fixtures/sts-signing.pub.pem"), "wb").write(
    sts.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
SAML = "urn:oasis:names:tc:SAML:1.0:assertion"; DS = "http://www.w3.org/2000/09/xmldsig#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
ISSUER = "http://sts.fabrikam-corp.com/adfs/services/trust"
NOW, UNTIL = "2026-12-31T23:00:00.000Z", "2027-01-01T01:00:00.000Z"   # around lib.rs NOW
subject = ('<saml:Subject><saml:NameIdentifier Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">'
           'aW1tdXRhYmxl</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>'
           'urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>')
attr = lambda n, ns, v: (f'<saml:Attribute AttributeName="{n}" AttributeNamespace="{ns}">'
                         + "".join(f"<saml:AttributeValue>{x}</saml:AttributeValue>" for x in v) + "</saml:Attribute>")
body = (f'<saml:Conditions NotBefore="{NOW}" NotOnOrAfter="{UNTIL}"><saml:AudienceRestrictionCondition>'
        '<saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>'
        f'<saml:AttributeStatement>{subject}'
        + attr("UPN", "http://schemas.xmlsoap.org/claims", ["diego.siciliani@fabrikam-corp.com"])
        + attr("ImmutableID", "http://schemas.microsoft.com/LiveID/Federation/2008/05", ["aW1tdXRhYmxl"])
        + attr("authnmethodsreferences", "http://schemas.microsoft.com/claims",
               ["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"])
        + '</saml:AttributeStatement><saml:AuthenticationStatement AuthenticationInstant="' + NOW
        + '" AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password">' + subject + '</saml:AuthenticationStatement>')
ID = "_4f3c2a10-9d7e-4c55-a1b2-0f1e2d3c4b5a"
open_tag = (f'<saml:Assertion xmlns:saml="{SAML}" AssertionID="{ID}" IssueInstant="{NOW}" Issuer="{ISSUER}" '
            'MajorVersion="1" MinorVersion="1">')
digest = b64(hashlib.sha256((open_tag + body + "</saml:Assertion>").encode()).digest())
signed_info = (f'<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC}"></ds:CanonicalizationMethod>'
               '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod>'
               f'<ds:Reference URI="#{ID}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature">'
               f'</ds:Transform><ds:Transform Algorithm="{EXC}"></ds:Transform></ds:Transforms>'
               '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>'
               f'<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>')
sig = b64(sts.sign(signed_info.encode(), padding.PKCS1v15(), hashes.SHA256()))
sts_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ADFS Signing - sts.fabrikam-corp.com")])
sts_cert = b64(x509.CertificateBuilder().subject_name(sts_name).issuer_name(sts_name)
               .public_key(sts.public_key()).serial_number(2)
               .not_valid_before(__import__("datetime").datetime(2026, 1, 1))
               .not_valid_after(__import__("datetime").datetime(2036, 1, 1))
               .sign(sts, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
assertion = (open_tag + body + f'<ds:Signature xmlns:ds="{DS}">{signed_info}<ds:SignatureValue>{sig}</ds:SignatureValue>'
             '<ds:KeyInfo><ds:X509Data><ds:X509Certificate>' + sts_cert + '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>'
             '</saml:Assertion>')
write("saml", "signed-assertion.xml", assertion)
rstr = ('<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestedSecurityToken>'
        + assertion + '</t:RequestedSecurityToken></t:RequestSecurityTokenResponse>')
write("saml", "wresult.xml", rstr)
write("c14n", "signed-assertion.xml", assertion)
# The c14n unit tests' documents (e2e/tenant-emulator/src/c14n.rs).
write("c14n", "attributes-namespaces.xml", '<a:r xmlns:a="urn:a" xmlns:unused="urn:u" z="1" b=\'2\'><!-- c --><a:k/>x &amp; y</a:r>')
write("c14n", "push-down.xml", '<o xmlns:s="urn:s"><i s:v="1"/><s:j/></o>')
write("c14n", "subtree.xml", '<x:o xmlns:x="urn:x"><x:i a="&quot;"/></x:o>')
write("c14n", "default-ns.xml", '<r xmlns="urn:d" xml:lang="en"><c xmlns=""><d xmlns="urn:e">t&#13;\n</d></c><![CDATA[<&>]]></r>')

# --- WS-Trust 1.3 RST (e2e/tenant-emulator/src/wstrust.rs tests) ---
write("wstrust_rst", "usernamemixed.xml",
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
    '<a:Action>http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue</a:Action><a:MessageID>urn:uuid:1</a:MessageID>'
    '<o:Security xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><o:UsernameToken>'
    '<o:Username>u@x.test</o:Username><o:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">p&amp;w</o:Password>'
    '</o:UsernameToken></o:Security></s:Header><s:Body><t:RequestSecurityToken xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
    '<p:AppliesTo xmlns:p="http://schemas.xmlsoap.org/ws/2004/09/policy"><a:EndpointReference><a:Address>urn:federation:MicrosoftOnline</a:Address>'
    '</a:EndpointReference></p:AppliesTo><t:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer</t:KeyType>'
    '<t:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</t:RequestType></t:RequestSecurityToken></s:Body></s:Envelope>')

# --- MDM SOAP (e2e/tenant-emulator/src/routes/mdm/soap.rs tests) ---
src = open(os.path.join(ROOT, "e2e/tenant-emulator/src/routes/mdm/soap.rs")).read()
discover = src.split('const DISCOVER: &str = r#"')[1].split('"#;')[0]
write("mdm_soap", "discover.xml", discover)
rst = src.split('r#"<s:Envelope', 2)[-1].split('"#')[0]
rst = "<s:Envelope" + rst.replace("{token_type}", "urn:ietf:params:oauth:token-type:jwt")
write("mdm_soap", "enroll-rst.xml", rst.replace(">AQID<", ">" + b64(csr_der) + "<"))
write("mdm_soap", "get-policies.xml",
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
    '<a:MessageID>urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0</a:MessageID></s:Header><s:Body>'
    '<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"><client><lastUpdate xsi:nil="true" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></client></GetPolicies></s:Body></s:Envelope>')

# --- PRT: JWS requests and JWE answers (host-bridge/wire/tests/fixtures/prt-vectors.json) ---
vectors = json.load(open(os.path.join(FIXTURES, "prt-vectors.json")))
write("prt_jws", "hs256-kdf-v2.jws", vectors["hs256_jws_kdf_v2"])
write("prt_jwe", "response.jwe", vectors["response_jwe"])
write("prt_jwe", "response-plaintext.json", vectors["response_plaintext"] if isinstance(vectors["response_plaintext"], str)
      else json.dumps(vectors["response_plaintext"]))
cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(csr.subject)
        .public_key(device_key.public_key()).serial_number(1)
        .not_valid_before(__import__("datetime").datetime(2026, 1, 1)).not_valid_after(__import__("datetime").datetime(2036, 1, 1))
        .sign(device_key, hashes.SHA256()))
header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "x5c": b64(cert.public_bytes(serialization.Encoding.DER))}).encode())
payload = b64url(json.dumps({"client_id": "38aa3b87-a06d-4817-b275-7a316988d93b", "request_nonce": "AwABAAEAAAACAOz",
    "scope": "openid aza ugs", "grant_type": "password", "username": "adele.vance@contoso.com", "password": "x",
    "iat": "1798761600"}).encode())
signature = device_key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
write("prt_jws", "rs256-x5c.jws", f"{header}.{payload}.{b64url(signature)}")
sk, iv = bytes(range(32)), bytes(range(12))
h = b64url(json.dumps({"enc": "A256GCM", "alg": "RSA-OAEP"}).encode())
sealed = AESGCM(sk).encrypt(iv, b"", h.encode())
ek = transport_key.public_key().encrypt(sk, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
write("prt_jwe", "session-key.jwe", f"{h}.{b64url(ek)}.{b64url(iv)}.{b64url(sealed[:-16])}.{b64url(sealed[-16:])}")

# --- Bridge frames (cxh_wire::bridge) ---
frames = {
    "hello.json": {"type": "hello", "protocol": 1, "secret": "c2VjcmV0LXBlci1sYXVuY2g"},
    "request-nonce.json": {"type": "request_nonce"},
    "start-join.json": {"type": "start_join", "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "nonce": "n-0123456789"},
    "mdm-grant.json": {"type": "mdm_grant", "code": "0.AAAA", "redirect_uri": "ms-aadj-redir://auth/mdm", "opaque_blob": "b"},
    "auto-logon.json": {"type": "prepare_auto_logon", "upn": "adele.vance@contoso.com", "password": "Correct-Horse-42"},
    "welcome.json": {"type": "welcome", "protocol": 1, "host": {"flow": "oobe", "edition": "professional", "platform": "desktop",
        "authority": "https://127.0.0.1:8443", "device_name": "cxh-test", "os_version": "Debian 12", "language": "de-DE"}},
    "progress.json": {"type": "progress", "phase": "registering", "state": "started"},
    "failed.json": {"type": "failed", "error": {"kind": "registration", "message": "m", "phase": "registering", "code": "quota_exceeded"}},
}
for name, frame in frames.items():
    write("bridge_frame", name, json.dumps(frame))
# --- The tenant's JSON as the bridge reads it (the wire golden fixtures) ---
for name in sorted(os.listdir(FIXTURES)):
    if name.endswith(".json") and name not in ("prt-vectors.json", "registration-request.wire-facts.json"):
        write("cloud_json", name, open(os.path.join(FIXTURES, name), "rb").read())
write("cloud_json", "nonce.json", json.dumps({"Nonce": "AwABAAEAAAACAOz_BAD0_8vU8dH9Bb0ciqF_haudN2OkDdyluIE2zHStmEQ"}))
write("cloud_json", "drs-error.json", json.dumps({"code": "quota_exceeded", "subcode": "", "message": "m", "operationId": "o"}))
print("seeds written to", os.path.join(HERE, "seeds"))

# --- the SOAP answers the bridge reads (bridge_responses): MS-MDE2 4.2 / MS-XCEP 4.1 shapes ---
SOAP = "http://www.w3.org/2003/05/soap-envelope"
write("bridge_responses", "discover-response.xml", f'''<s:Envelope xmlns:s="{SOAP}" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Body><DiscoverResponse xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment"><DiscoverResult><AuthPolicy>Federated</AuthPolicy><EnrollmentVersion>4.0</EnrollmentVersion><EnrollmentPolicyServiceUrl>https://mdm.contoso.com/EnrollmentServer/Policy.svc</EnrollmentPolicyServiceUrl><EnrollmentServiceUrl>https://mdm.contoso.com/EnrollmentServer/Enrollment.svc</EnrollmentServiceUrl></DiscoverResult></DiscoverResponse></s:Body></s:Envelope>''')
write("bridge_responses", "get-policies-response.xml", f'''<s:Envelope xmlns:s="{SOAP}"><s:Body><GetPoliciesResponse xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><response><policies><policy><attributes><privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength></privateKeyAttributes><hashAlgorithmOIDReference>0</hashAlgorithmOIDReference></attributes></policy></policies></response><oIDs><oID><value>2.16.840.1.101.3.4.2.1</value><oIDReferenceID>0</oIDReferenceID></oID></oIDs></GetPoliciesResponse></s:Body></s:Envelope>''')
wap = '''<wap-provisioningdoc version="1.1"><characteristic type="CertificateStore"><characteristic type="Root"><characteristic type="System"><characteristic type="AA"><parm name="EncodedCertificate" value="REVG"/></characteristic></characteristic></characteristic><characteristic type="My"><characteristic type="System"><characteristic type="BB"><parm name="EncodedCertificate" value="QUJD"/></characteristic></characteristic></characteristic></characteristic><characteristic type="DMClient"><characteristic type="Provider"><characteristic type="Contoso"><parm name="ServerList" value="https://mdm.contoso.com/omadm"/></characteristic></characteristic></characteristic><characteristic type="Policy"><characteristic type="Config"><characteristic type="Authentication"><parm name="EnableWebSignIn" value="1"/></characteristic></characteristic></characteristic></wap-provisioningdoc>'''
write("bridge_responses", "provisioning-doc.xml", wap)
write("bridge_responses", "enroll-response.xml", f'''<s:Envelope xmlns:s="{SOAP}"><s:Body><RequestSecurityTokenResponseCollection xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><RequestSecurityTokenResponse><RequestedSecurityToken><BinarySecurityToken ValueType="http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{b64(wap.encode())}</BinarySecurityToken></RequestedSecurityToken></RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection></s:Body></s:Envelope>''')
write("bridge_responses", "fault.xml", f'''<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>s:Authorization</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">forged blob</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>''')
write("bridge_responses", "wstrust-rstr.xml", f'''<s:Envelope xmlns:s="{SOAP}"><s:Body><t:RequestSecurityTokenResponse xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><t:RequestedSecurityToken><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1"><saml:AttributeStatement/></saml:Assertion></t:RequestedSecurityToken></t:RequestSecurityTokenResponse></s:Body></s:Envelope>''')
