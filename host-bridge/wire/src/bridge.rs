//! The app <-> host bridge protocol: JSON text frames over a loopback WebSocket.
//!
//! The CXH analogue: the page asks the native host to do what the browser cannot
//! (keys, certificates, machine state). Every frame is one [`ClientMessage`] or
//! [`ServerMessage`], tagged by `type`. The first client frame must be
//! [`ClientMessage::Hello`] carrying the per-launch secret; anything else closes the socket.
//!
//! The id_token nonce comes from the bridge, not the page: before the sign-in request the page
//! asks for one (`request_nonce` -> `nonce{value}`), puts it in the authorize URL, and hands the
//! token back with `start_join`. The bridge accepts a token only when its `nonce` claim is one
//! it issued, not yet used and not expired, so a token obtained for another sign-in (or a
//! replayed one) cannot start a join, whatever the page claims.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret carried in a frame (the automatic sign-in password): serialized as a plain string,
/// but `Debug` prints `[redacted]`, so a logged or dumped frame never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Bumped on any incompatible change; the bridge refuses other versions.
/// Version 2: the bridge issues the id_token nonce (`request_nonce`).
pub const PROTOCOL_VERSION: u32 = 2;

/// How long a bridge-issued nonce stays usable: long enough for a sign-in with a second
/// factor and the MDM terms round trip, short enough that a stolen one soon means nothing.
pub const NONCE_LIFETIME_SECS: u64 = 15 * 60;

/// Where the experience runs (seed 000 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostFlow {
    /// First boot, under a temporary user.
    Oobe,
    /// Settings > Accounts > Access work or school.
    Settings,
}

impl HostFlow {
    /// Value of `cxhflow` sent to the authority: `FRX` for OOBE, `MOSET` for Settings
    /// (the `CXH-HOST` values documented for MDM; seed 001 shows `MOSET`).
    pub fn cxhflow(self) -> &'static str {
        match self {
            HostFlow::Oobe => "FRX",
            HostFlow::Settings => "MOSET",
        }
    }
}

/// The Windows edition decides the first page (seed 000 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    Professional,
    Enterprise,
    Home,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Platform {
    Desktop,
    Mobile,
}

impl Platform {
    /// Value of `cxhplatform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Desktop => "Desktop",
            Platform::Mobile => "Mobile",
        }
    }
}

/// What the host tells the page about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostContext {
    pub flow: HostFlow,
    pub edition: Edition,
    pub platform: Platform,
    /// Base URL of the authority, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    pub device_name: String,
    pub os_version: String,
    /// BCP 47 tag the page should use, when the host decides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Set when the device is already joined: a second join is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_device_id: Option<String>,
    /// The organization (tenant display name) a joined device belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_tenant: Option<String>,
    /// How to leave on this host, when it has no button for it: the command line to run
    /// (e.g. `host-bridge leave --state-dir /var/lib/cxh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_command: Option<String>,
    /// The host lets the page leave the organization (`leave`): the page shows a Leave
    /// button on a joined device. Off in the OOBE kiosk unless the host turns it on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub can_leave: bool,
    /// Settings flow: origin of the page that embeds the app in an iframe (e.g. the Settings
    /// host page). The app posts the join's outcome to this origin only; without it, nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder_origin: Option<String>,
}

/// Frames the app sends. `Debug` is written by hand: it prints `[redacted]` for the hello
/// secret, the id_token, the MDM code and terms blob, and the password, so a dumped frame
/// shows none of them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Must be first: proves the page was launched by the host.
    Hello { protocol: u32, secret: String },
    /// Ask the bridge for a fresh nonce for the next sign-in request; answered with
    /// [`ServerMessage::Nonce`].
    RequestNonce,
    /// Start the join with the id_token issued to the join web app. `nonce` is the one the
    /// bridge issued for this sign-in (from [`ServerMessage::Nonce`]): the token's claim must
    /// equal it, and the bridge spends it, so each nonce starts at most one join.
    StartJoin { id_token: String, nonce: String },
    /// Sent before `start_join` when the id_token names an MDM: what the worker needs to
    /// enroll after registration. `code` is a silent authorization code for the MDM
    /// application (never a password); `opaque_blob` is the terms-of-use acceptance.
    MdmGrant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        redirect_uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opaque_blob: Option<String>,
    },
    /// OOBE only, managed users only (seed 000 §2, §6): the password the user is about to
    /// submit to the authority, so that Windows can sign them in automatically after the join.
    /// Sent on its own connection just before the sign-in form is submitted; the bridge checks
    /// the flow and the user's realm, keeps it in zeroized memory until the join succeeds for
    /// the same user, then writes it only encrypted to the transport key. Answered with
    /// [`ServerMessage::AutoLogonBuffer`].
    PrepareAutoLogon { upn: String, password: Redacted },
    /// Leave the organization the device is joined to (`dsregcmd /leave`), when the host
    /// allows it ([`HostContext::can_leave`]); answered with [`ServerMessage::Left`], or
    /// `failed` with [`BridgeErrorKind::LeaveNotAllowed`] on a host that does not.
    Leave,
}

impl fmt::Debug for ClientMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Prints `[redacted]` whatever it holds.
        let redacted = Redacted(String::new());
        match self {
            ClientMessage::Hello { protocol, .. } => f
                .debug_struct("Hello")
                .field("protocol", protocol)
                .field("secret", &redacted)
                .finish(),
            ClientMessage::RequestNonce => f.write_str("RequestNonce"),
            ClientMessage::Leave => f.write_str("Leave"),
            ClientMessage::StartJoin { nonce, .. } => f
                .debug_struct("StartJoin")
                .field("id_token", &redacted)
                .field("nonce", nonce)
                .finish(),
            ClientMessage::MdmGrant {
                code,
                redirect_uri,
                opaque_blob,
            } => f
                .debug_struct("MdmGrant")
                .field("code", &code.as_ref().map(|_| &redacted))
                .field("redirect_uri", redirect_uri)
                .field("opaque_blob", &opaque_blob.as_ref().map(|_| &redacted))
                .finish(),
            ClientMessage::PrepareAutoLogon { upn, .. } => f
                .debug_struct("PrepareAutoLogon")
                .field("upn", upn)
                .field("password", &redacted)
                .finish(),
        }
    }
}

/// The dsreg phases a join goes through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinPhase {
    Discovering,
    CreatingKeys,
    BuildingRequest,
    Registering,
    InstallingCertificate,
    SavingJoinInfo,
    /// MDM phases: only when the id_token names an MDM enrollment URL.
    MdmDiscovering,
    MdmEnrolling,
    MdmInstallingPolicy,
}

impl JoinPhase {
    pub const ALL: [JoinPhase; 6] = [
        JoinPhase::Discovering,
        JoinPhase::CreatingKeys,
        JoinPhase::BuildingRequest,
        JoinPhase::Registering,
        JoinPhase::InstallingCertificate,
        JoinPhase::SavingJoinInfo,
    ];

    /// The MDM phases, after the registration ones, when MDM applies.
    pub const MDM: [JoinPhase; 3] = [
        JoinPhase::MdmDiscovering,
        JoinPhase::MdmEnrolling,
        JoinPhase::MdmInstallingPolicy,
    ];

    /// Every phase: the six registration phases, then the MDM ones.
    pub const WITH_MDM: [JoinPhase; 9] = [
        JoinPhase::Discovering,
        JoinPhase::CreatingKeys,
        JoinPhase::BuildingRequest,
        JoinPhase::Registering,
        JoinPhase::InstallingCertificate,
        JoinPhase::SavingJoinInfo,
        JoinPhase::MdmDiscovering,
        JoinPhase::MdmEnrolling,
        JoinPhase::MdmInstallingPolicy,
    ];

    /// Stable machine name (also used by scripts and benchmarks).
    pub fn as_str(self) -> &'static str {
        match self {
            JoinPhase::Discovering => "discovering",
            JoinPhase::CreatingKeys => "creating_keys",
            JoinPhase::BuildingRequest => "building_request",
            JoinPhase::Registering => "registering",
            JoinPhase::InstallingCertificate => "installing_certificate",
            JoinPhase::SavingJoinInfo => "saving_join_info",
            JoinPhase::MdmDiscovering => "mdm_discovering",
            JoinPhase::MdmEnrolling => "mdm_enrolling",
            JoinPhase::MdmInstallingPolicy => "mdm_installing_policy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Started,
    Completed,
}

/// What a finished join produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinResult {
    pub device_id: String,
    /// SHA-1 thumbprint of the device certificate, upper-case hex.
    pub thumbprint: String,
    pub tenant_id: String,
    pub tenant_display_name: String,
    pub device_name: String,
    pub user_upn: String,
    /// "Microsoft Platform Crypto Provider" for TPM keys, "Microsoft Software Key Storage Provider" otherwise.
    pub key_provider: String,
    pub tpm_protected: bool,
    /// The automatic sign-in buffer was written (OOBE, managed user; see `PrepareAutoLogon`).
    #[serde(default)]
    pub auto_logon_prepared: bool,
}

/// Error categories, so the page can choose its message without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BridgeErrorKind {
    Unauthorized,
    ProtocolMismatch,
    InvalidMessage,
    InvalidToken,
    AlreadyJoined,
    Busy,
    Discovery,
    KeyCreation,
    CertificateRequest,
    Registration,
    CertificateInstall,
    Store,
    Internal,
    /// Registration succeeded but MDM enrollment failed: joined, not managed.
    JoinedNotManaged,
    /// `leave` on a host that does not let the page leave (see [`HostContext::can_leave`]).
    LeaveNotAllowed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeError {
    pub kind: BridgeErrorKind,
    /// Human-readable reason, safe to show (never contains secrets).
    pub message: String,
    /// The phase that failed, if a join was under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<JoinPhase>,
    /// The service's own code for the failure, for the page's message and its "Error code"
    /// line: a DRS `code` (`quota_exceeded`), `AADSTS<n>`, an MS-MDE2 SOAP subcode
    /// (`DeviceCapReached`), `http_<status>` for a bare HTTP failure, or `network` when the
    /// service could not be reached at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Frames the bridge sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to a valid Hello.
    Welcome {
        protocol: u32,
        host: HostContext,
    },
    Progress {
        phase: JoinPhase,
        state: PhaseState,
    },
    Joined {
        result: JoinResult,
    },
    Failed {
        error: BridgeError,
    },
    /// Answer to `request_nonce`: a nonce of the bridge's, valid for one sign-in (at most
    /// [`NONCE_LIFETIME_SECS`]).
    Nonce {
        value: String,
    },
    /// Answer to `leave`: the device is no longer joined (`device_id`: the join that went;
    /// none when there was none, or its join info was unreadable). `deleted_in_tenant`: its
    /// device object was deleted at DRS (authenticated by the device certificate over HTTPS);
    /// when false it remains in the tenant for an administrator to delete.
    Left {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_id: Option<String>,
        deleted_in_tenant: bool,
    },
    /// Answer to `prepare_auto_logon`: whether the password is held for the join, and if
    /// not, why (safe to show; never contains the password).
    AutoLogonBuffer {
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret_field() {
        let frames = [
            ClientMessage::Hello {
                protocol: 1,
                secret: "s3cret-hello".into(),
            },
            ClientMessage::StartJoin {
                id_token: "eyJ.token-body.sig".into(),
                nonce: "nonce-7".into(),
            },
            ClientMessage::MdmGrant {
                code: Some("auth-code-9".into()),
                redirect_uri: "https://app/".into(),
                opaque_blob: Some("blob-5".into()),
            },
            ClientMessage::PrepareAutoLogon {
                upn: "adele@contoso.com".into(),
                password: Redacted("Correct-Horse-42".into()),
            },
        ];
        let shown: String = frames.iter().map(|m| format!("{m:?} {m:#?}")).collect();
        for secret in [
            "s3cret-hello",
            "token-body",
            "auth-code-9",
            "blob-5",
            "Correct-Horse-42",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        for visible in ["nonce-7", "adele@contoso.com", "https://app/", "[redacted]"] {
            assert!(shown.contains(visible), "{visible} missing from {shown}");
        }
    }

    #[test]
    fn frames_are_tagged_snake_case_json() {
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: "s".into(),
        };
        assert_eq!(
            serde_json::to_string(&hello).unwrap(),
            r#"{"type":"hello","protocol":2,"secret":"s"}"#
        );
        assert_eq!(
            serde_json::to_string(&ClientMessage::RequestNonce).unwrap(),
            r#"{"type":"request_nonce"}"#
        );
        assert_eq!(
            serde_json::to_string(&ClientMessage::Leave).unwrap(),
            r#"{"type":"leave"}"#
        );
        let left = ServerMessage::Left {
            device_id: Some("d".into()),
            deleted_in_tenant: false,
        };
        assert_eq!(
            serde_json::to_string(&left).unwrap(),
            r#"{"type":"left","device_id":"d","deleted_in_tenant":false}"#
        );
        assert_eq!(
            serde_json::to_string(&ServerMessage::Nonce { value: "ab".into() }).unwrap(),
            r#"{"type":"nonce","value":"ab"}"#
        );
        let progress = ServerMessage::Progress {
            phase: JoinPhase::CreatingKeys,
            state: PhaseState::Started,
        };
        assert_eq!(
            serde_json::to_string(&progress).unwrap(),
            r#"{"type":"progress","phase":"creating_keys","state":"started"}"#
        );
        for phase in JoinPhase::WITH_MDM {
            let json = serde_json::to_value(phase).unwrap();
            assert_eq!(json.as_str().unwrap(), phase.as_str());
        }
    }

    #[test]
    fn the_auto_logon_password_is_on_the_wire_but_never_in_debug() {
        let prepare = ClientMessage::PrepareAutoLogon {
            upn: "a@b.test".into(),
            password: Redacted("Pa55-word".into()),
        };
        let json = serde_json::to_string(&prepare).unwrap();
        assert_eq!(
            json,
            r#"{"type":"prepare_auto_logon","upn":"a@b.test","password":"Pa55-word"}"#
        );
        assert!(!format!("{prepare:?}").contains("Pa55-word"));
        let old: JoinResult = serde_json::from_str(
            r#"{"device_id":"d","thumbprint":"t","tenant_id":"x","tenant_display_name":"C",
                "device_name":"D","user_upn":"u","key_provider":"k","tpm_protected":false}"#,
        )
        .unwrap();
        assert!(!old.auto_logon_prepared);
    }

    #[test]
    fn cxhflow_names_the_host() {
        assert_eq!(HostFlow::Settings.cxhflow(), "MOSET");
        assert_eq!(HostFlow::Oobe.cxhflow(), "FRX");
    }
}
