//! MDM enrollment (MS-MDE2 with MS-XCEP and MS-WSTEP): the names both ends of the SOAP
//! exchange must agree on, and the terms-of-use redirect contract.
//!
//! The XML itself is built and parsed by each side on its own (bridge `mdm/soap.rs`, emulator
//! `routes/mdm/soap.rs`), so that each is tested against the specification's examples rather
//! than against the other.

/// SOAP 1.2 envelope.
pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing.
pub const NS_ADDRESSING: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Security secext (BinarySecurityToken).
pub const NS_WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility.
pub const NS_WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// WS-Trust 1.3 (RequestSecurityToken).
pub const NS_WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
/// WS-Authorization (AdditionalContext).
pub const NS_AC: &str = "http://schemas.xmlsoap.org/ws/2006/12/authorization";
/// MS-MDE2 discovery namespace.
pub const NS_DISCOVERY: &str = "http://schemas.microsoft.com/windows/management/2012/01/enrollment";
/// MS-XCEP namespace.
pub const NS_XCEP: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy";
/// MS-WSTEP enrollment namespace (RequestID).
pub const NS_ENROLLMENT: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment";
/// XML Schema instance (xsi:nil).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// `a:Action` of the Discover request and its response.
pub const ACTION_DISCOVER: &str =
    "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover";
pub const ACTION_DISCOVER_RESPONSE: &str = "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse";
/// `a:Action` of MS-XCEP GetPolicies and its response.
pub const ACTION_GET_POLICIES: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies";
pub const ACTION_GET_POLICIES_RESPONSE: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse";
/// `a:Action` of MS-WSTEP RequestSecurityToken and its response collection.
pub const ACTION_RST: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep";
pub const ACTION_RSTRC: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep";

/// ValueType of the federated (Entra) security token: the access token as a JWT.
pub const VALUE_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// ValueType of the PKCS#10 request in the RST body.
pub const VALUE_TYPE_PKCS10: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10";
/// ValueType of the provisioning document in the RSTR.
pub const VALUE_TYPE_PROVISION_DOC: &str =
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc";
/// EncodingType of base64 BinarySecurityTokens.
pub const ENCODING_BASE64: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary";
/// TokenType of an MDM enrollment.
pub const TOKEN_TYPE_DEVICE_ENROLLMENT: &str =
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken";
/// WS-Trust RequestType Issue.
pub const REQUEST_TYPE_ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";

/// The only enrollment version spoken here (MS-MDE2 `RequestVersion` / `EnrollmentVersion`).
pub const ENROLLMENT_VERSION: &str = "4.0";
/// Authentication policy of Entra-integrated MDM.
pub const AUTH_POLICY_FEDERATED: &str = "Federated";
/// `DeviceType` of a Windows client.
pub const DEVICE_TYPE_WINDOWS: &str = "CIMClient_Windows";

/// Paths of the MDM role's endpoints on its origin.
pub const DISCOVERY_PATH: &str = "/EnrollmentServer/Discovery.svc";
pub const POLICY_PATH: &str = "/EnrollmentServer/Policy.svc";
pub const ENROLLMENT_PATH: &str = "/EnrollmentServer/Enrollment.svc";
pub const TERMS_OF_USE_PATH: &str = "/TermsOfUse";

/// Query parameters the terms-of-use page gets (Entra's MDM integration contract).
pub mod terms {
    pub const REDIRECT_URI: &str = "redirect_uri";
    pub const CLIENT_REQUEST_ID: &str = "client-request-id";
    pub const API_VERSION: &str = "api-version";
    pub const MODE: &str = "mode";
    /// `mode` of a corporate (Azure AD joined) device: no Decline button.
    pub const MODE_AZURE_AD_JOIN: &str = "azureadjoin";
    /// Our stand-in for the bearer the CXH attaches: the app POSTs it as a form field.
    pub const ACCESS_TOKEN: &str = "access_token";
    pub const API_VERSION_VALUE: &str = "1.0";
    /// Fields of the redirect back to the join web app.
    pub const IS_ACCEPTED: &str = "IsAccepted";
    pub const OPAQUE_BLOB: &str = "OpaqueBlob";
}

/// The `wap-provisioningdoc` node that carries the first policy (sign-in policy).
pub const SIGN_IN_POLICY_PATH: &str = "Policy/Config/Authentication/EnableWebSignIn";
