//! Every string the user sees, in one table.
//!
//! Pages never hold literal text: they ask for a [`Text`] key, so adding a language means adding
//! one table here (and a [`Language`] variant), not touching the pages. en-US (the default and
//! the fallback), de-DE and ar-SA (right to left) exist. The UI language is chosen once the host
//! context is known (`HostContext.language`, else the browser's languages) with [`set_language`].
//! Parameterised strings use positional placeholders `{0}`, `{1}`… filled by [`format`].
//!
//! The en-US strings sit with their keys in the `texts!` table; the other languages are one
//! `match` each ([`de_de`], [`ar_sa`]), so a key added without translations still builds (and
//! falls back to English) while the completeness test names it.

/// Declares the [`Text`] keys together with their en-US strings, so a key can't exist without
/// its English text and [`Text::ALL`] can't miss a key.
use std::sync::atomic::{AtomicUsize, Ordering};

macro_rules! texts {
    ($($key:ident => $en_us:literal,)*) => {
        /// Key of one user-visible string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Text { $($key,)* }

        impl Text {
            /// Every key, for completeness checks of the language tables.
            pub const ALL: &'static [Text] = &[$(Text::$key,)*];
        }

        fn en_us(key: Text) -> &'static str {
            match key { $(Text::$key => $en_us,)* }
        }
    };
}

texts! {
    AppTitle => "Set up your device",
    Next => "Next",
    Back => "Back",
    StartOver => "Start over",
    WorkingHeading => "Just a moment…",
    Connecting => "Getting things ready…",
    Redirecting => "Taking you to sign in…",
    CheckingSignIn => "Checking your sign-in…",

    OwnershipHeading => "How would you like to set up this device?",
    OwnershipWork => "Set up for work or school",
    OwnershipWorkDetail => "You'll get access to your organization's resources, like email, apps and the network. Your organization will have control over this device.",
    OwnershipPersonal => "Set up for personal use",
    OwnershipPersonalDetail => "Use a Microsoft account or a local account for your own device.",

    JoinOptionsHeading => "How do you want to connect this device?",
    JoinOptionsIntro => "Choose how you'll connect this device to your organization.",
    JoinEntra => "Join Microsoft Entra ID",
    JoinEntraDetail => "Sign in with your work or school account. Your organization will manage this device.",
    JoinLocal => "Sign in with a local account",
    JoinLocalDetail => "Use an account that exists only on this device.",
    JoinDomain => "Domain join instead",
    JoinDomainDetail => "Join an on-premises Active Directory domain.",

    AlreadyJoinedHeading => "This device is already joined",
    AlreadyJoinedDetail => "This device is already joined to Microsoft Entra ID. To join it again, first disconnect it from its organization.",
    DeviceIdLabel => "Device ID",

    NotCoveredHeading => "Set up a local account",
    NotCoveredPersonal => "This device will be set up for personal use with a local account: an account that exists only on this device. Windows setup creates it after this page.",
    NotCoveredLocal => "This device will be set up with a local account: an account that exists only on this device. Windows setup creates it after this page.",
    NotCoveredDomain => "To join an on-premises Active Directory domain, set up a local account first. Afterwards, open Settings > Accounts > Access work or school, select Connect, and choose to join this device to a local Active Directory domain.",
    MsaOutOfScope => "Signing in with a Microsoft account isn't part of this setup. To join your organization instead, go back and choose work or school.",
    Cancel => "Cancel",

    SignInHeading => "Sign in",
    SignInIntro => "Enter the work or school account your organization gave you.",
    UpnLabel => "Work or school account",
    UpnPlaceholder => "someone@example.com",
    PasswordLabel => "Password",
    SignInButton => "Sign in",
    CheckingAccount => "Checking your account…",
    RealmUnknown => "We couldn't find an account with that username.",
    RealmFederated => "Your organization signs you in through its own sign-in service (federation). Federated sign-in is coming in a later version of this setup; it isn't available yet.",
    RealmLookupFailed => "We couldn't check that account right now. Check the network and try again.",

    ProgressHeading => "Setting up your device for work",
    ProgressIntro => "This might take a few minutes. Keep the device on.",
    PhaseDiscovering => "Finding your organization's device registration service",
    PhaseCreatingKeys => "Creating the device's keys",
    PhaseBuildingRequest => "Preparing the registration request",
    PhaseRegistering => "Registering the device with your organization",
    PhaseInstallingCertificate => "Installing the device certificate",
    PhaseSavingJoinInfo => "Saving the join information",
    PhaseMdmDiscovering => "Finding your organization's device management service",
    PhaseMdmEnrolling => "Enrolling the device in device management",
    PhaseMdmInstallingPolicy => "Installing the management certificate and first policy",
    TermsHeading => "Your organization's terms of use",
    TermsIntro => "Your organization manages work devices. Review and accept its terms of use to continue.",
    TermsOpen => "Review the terms",
    StatePending => "Waiting",
    StateInProgress => "In progress",
    StateDone => "Done",
    StateFailed => "Failed",
    ProgressStatus => "Step {0} of {1}: {2} — {3}",

    DoneHeading => "This device is now joined to {0}",
    DoneIntro => "Your organization can now manage this device.",
    DeviceNameLabel => "Device name",
    TenantLabel => "Organization",
    UserLabel => "User",
    Continue => "Continue",
    SignOutToFinish => "Sign out to finish",
    SignOutDetail => "Sign out of Windows and sign back in with your work or school account to finish.",


    ErrorHeading => "Something went wrong",
    ErrorNoHost => "This page must be opened by the device's setup host.",
    ErrorBridgeUnreachable => "We couldn't reach the device's setup host.",
    ErrorBridgeLost => "The connection to the device's setup host was lost before the join finished.",
    ErrorAuthority => "Your organization's sign-in service reported a problem.",
    ErrorAuthorityUnreachable => "We couldn't reach the sign-in service.",
    ErrorInvalidToken => "The sign-in response couldn't be verified, so it wasn't used.",
    ErrorSessionLost => "This sign-in doesn't belong to a setup started on this device. Start over to sign in again.",
    ErrorJoinFailed => "The device couldn't be joined.",
    ErrorNoRandomness => "This browser can't create the secure values needed to sign in.",
    ErrorTermsNotAccepted => "The terms of use of your organization's device management weren't accepted, so the device wasn't joined.",
    ErrorTermsUnexpected => "This terms-of-use answer doesn't belong to a setup under way on this device, so it wasn't used and the device wasn't joined.",
    ErrorJoinedNotManaged => "The device is joined to your organization, but it couldn't be enrolled in device management. Your IT department can retry the enrollment.",
    ErrorFailedStep => "The step that failed: {0}",

    FederatedRedirect => "Taking you to your organization's sign-in page — {0}",
    FederatedNoUrl => "Your organization's sign-in page isn't known, so federated sign-in can't continue.",
    MfaHeading => "Verify your identity",
    MfaIntro => "Enter the 6-digit code shown in your authenticator app for {0}.",
    MfaCodeLabel => "Code",
    MfaVerify => "Verify",
    AutoLogonPrepared => "When setup finishes, Windows signs you in with this account automatically.",
    SignInAtLogon => "When setup finishes, sign in to Windows with your work or school account at the sign-in screen.",

    ErrWrongPassword => "Your account or password is incorrect.",
    ErrLocked => "Your account is locked because of too many failed sign-in attempts.",
    ErrWrongCode => "That code didn't work.",
    ErrMfaRequired => "Your organization requires a second verification step for this sign-in.",
    ErrFederationToken => "The sign-in from your organization's sign-in service couldn't be verified.",
    ErrFederationMismatch => "The answer from your organization's sign-in service doesn't belong to this sign-in.",
    ErrSignInExpired => "Your sign-in expired before setup could use it.",
    ErrAppNotAllowed => "This setup isn't registered to sign in to your organization.",
    ErrBadRequest => "The sign-in request was incomplete or isn't supported.",
    ErrTenantNotFound => "We couldn't find your organization.",
    ErrAccessDenied => "Your organization didn't allow this sign-in.",
    ErrSignInUnavailable => "The sign-in service isn't available right now.",
    ErrQuota => "You've reached the limit of devices you can join to your organization.",
    ErrDrsNoTenant => "Your organization isn't set up to register devices.",
    ErrDrsToken => "The device registration service didn't accept your sign-in.",
    ErrDrsNotSupported => "Your organization doesn't allow this kind of device join.",
    ErrAttestation => "Your organization requires proof that the device's keys are protected by its TPM, and that proof was refused.",
    ErrDrsRequest => "The device registration service couldn't accept the request.",
    ErrServiceDown => "Your organization's device registration service isn't available right now.",
    ErrNetwork => "We couldn't reach your organization's services. The network connection may have been lost.",
    ErrAlreadyJoined => "This device is already joined to an organization.",
    ErrBusy => "Another join is already under way on this device.",
    ErrKeys => "The device's keys couldn't be created. The TPM may be unavailable.",
    ErrDeviceStore => "The device couldn't save what it needs to finish the join.",
    ErrMdmCap => "The device is joined, but your organization's device management has reached its limit of devices for you.",
    ErrMdmLicense => "The device is joined, but your account has no license for device management.",
    ErrMdmDenied => "The device is joined, but device management didn't accept your sign-in.",
    ErrMdmUnsupported => "The device is joined, but device management doesn't support this device.",
    ErrMdmDown => "The device is joined, but device management isn't available right now.",
    ErrMdmRequest => "The device is joined, but device management refused its request.",
    AdvReenterPassword => "Enter your password again. If you've forgotten it, ask your administrator to reset it.",
    AdvCheckUsername => "Check the username for typos, or use another account.",
    AdvLocked => "Wait a while and try again, or ask your administrator to unlock it. You can also sign in with another account.",
    AdvReenterCode => "Check your authenticator app and enter the code it shows now.",
    AdvSignInAgain => "Sign in again to continue.",
    AdvAskAdmin => "Your administrator can fix this. Give them the error code below.",
    AdvQuota => "Ask your administrator to remove one of your devices, or sign in with another account.",
    AdvTryAgainLater => "Nothing was changed on this device. Try again in a few minutes.",
    AdvCheckNetwork => "Nothing was changed on this device. Check the network connection, then try again.",
    AdvLeaveFirst => "To join it again, first leave its current organization.",
    AdvMdmLater => "You can keep using the device. Your IT department can retry the enrollment later.",
    AdvStartOver => "Start over to try again.",
    TryAgain => "Try again",
    UseAnotherAccount => "Sign in with another account",
    ErrorCodeLine => "Error code: {0}",
    MoreDetails => "More details",
    UpnRequired => "Enter your work or school account.",
    UpnInvalid => "Enter the account as a full address, like someone@example.com.",
    PasswordRequired => "Enter your password.",
    CodeRequired => "Enter the 6-digit code.",
    PasswordHeading => "Enter password",
    SigningIn => "Signing in…",
    AlreadyJoinedOrg => "This device is already joined to {0} through Microsoft Entra ID.",
    AlreadyJoinedLeave => "To join it again, or to another organization, leave first: close setup, run this command on the device as an administrator, then start setup again.",
    LeaveCommandLabel => "Command to leave",
    DisplayNameLabel => "Display name",
    NextHeading => "Setup is handing over to Windows",
    NextFirstSignIn => "Next, {0} signs in to Windows for the first time with {1}.",
    NextSso => "After that first sign-in, single sign-on to your organization's apps will be ready.",
    NextClosing => "You can close this window if it stays open.",
    TriesLeft => "{0} tries left.",
    LeaveOrg => "Leave {0}",
    YourOrganization => "your organization",
    LeaveHow => "To join it again, or to another organization, leave first.",
    LeaveConfirmHeading => "Leave {0}?",
    LeaveConfirmDetail => "This device will no longer be joined to {0}. Its device certificate and keys are removed from this device, and it loses access to your organization's resources until it's joined again.",
    LeaveConfirm => "Leave",
    Leaving => "Leaving your organization…",
    LeftNotice => "This device left {0}.",
    LeftDeleted => "Its device object was deleted from your organization's directory.",
    LeftRemains => "The device registration service couldn't be reached securely, so the device object remains in your organization's directory. Ask your administrator to delete it.",
    ErrLeaveNotAllowed => "Leaving the organization isn't allowed from this setup.",
    AdvLeaveCommand => "Ask your administrator to disconnect the device with the setup host's leave command.",
}

/// A language the UI can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    EnUs,
    DeDe,
    ArSa,
}

/// Writing direction of a language, for `<html dir>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ltr,
    Rtl,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ltr => "ltr",
            Direction::Rtl => "rtl",
        }
    }
}

impl Language {
    /// Every supported language, for completeness checks.
    pub const ALL: &'static [Language] = &[Language::EnUs, Language::DeDe, Language::ArSa];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
            Language::DeDe => "de-DE",
            Language::ArSa => "ar-SA",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Language::ArSa => Direction::Rtl,
            Language::EnUs | Language::DeDe => Direction::Ltr,
        }
    }

    /// The supported language of a BCP 47 tag, by its primary subtag (`de-AT` is shown in
    /// de-DE); `None` for a language without a table.
    pub fn supported(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::EnUs),
            "de" => Some(Language::DeDe),
            "ar" => Some(Language::ArSa),
            _ => None,
        }
    }

    /// The best supported language for a BCP 47 tag (the host may ask for one); en-US otherwise.
    pub fn from_tag(tag: &str) -> Language {
        Language::supported(tag).unwrap_or_default()
    }

    /// The UI language: the host's choice when it made one it can be shown in, else the first
    /// supported of the browser's languages (`navigator.languages`, in order), else en-US.
    pub fn choose(host: Option<&str>, browser: &[String]) -> Language {
        host.and_then(Language::supported)
            .or_else(|| browser.iter().find_map(|tag| Language::supported(tag)))
            .unwrap_or_default()
    }

    /// The string for `key` in this language (en-US when a translation is missing).
    pub fn text(self, key: Text) -> &'static str {
        self.translation(key).unwrap_or_else(|| en_us(key))
    }

    /// The string for `key` in this language, `None` when the table lacks it.
    fn translation(self, key: Text) -> Option<&'static str> {
        match self {
            Language::EnUs => Some(en_us(key)),
            Language::DeDe => de_de(key),
            Language::ArSa => ar_sa(key),
        }
    }
}

/// The UI language, as an index into [`Language::ALL`] (the app is single-threaded; an atomic
/// keeps this safe without `unsafe`).
static CURRENT: AtomicUsize = AtomicUsize::new(0);

/// Show the UI in `language` from now on (pages rendered later use it).
pub fn set_language(language: Language) {
    let index = Language::ALL
        .iter()
        .position(|candidate| *candidate == language)
        .unwrap_or_default();
    CURRENT.store(index, Ordering::Relaxed);
}

/// The UI language.
pub fn language() -> Language {
    Language::ALL
        .get(CURRENT.load(Ordering::Relaxed))
        .copied()
        .unwrap_or_default()
}

/// The string for `key` in the UI's language.
pub fn t(key: Text) -> &'static str {
    language().text(key)
}

/// The string for `key` with `{0}`, `{1}`… replaced by `args`.
pub fn format(key: Text, args: &[&str]) -> String {
    fill(t(key), args)
}

/// Replace positional placeholders; a placeholder without an argument stays visible rather than
/// disappearing silently.
fn fill(template: &str, args: &[&str]) -> String {
    args.iter()
        .enumerate()
        .fold(template.to_string(), |text, (index, arg)| {
            text.replace(&format!("{{{index}}}"), arg)
        })
}

/// German (Germany). Deliberately long strings: layouts must survive them.
fn de_de(key: Text) -> Option<&'static str> {
    Some(match key {
        Text::AppTitle => "Gerät einrichten",
        Text::Next => "Weiter",
        Text::Back => "Zurück",
        Text::StartOver => "Von vorn beginnen",
        Text::WorkingHeading => "Einen Moment bitte…",
        Text::Connecting => "Alles wird vorbereitet…",
        Text::Redirecting => "Sie werden zur Anmeldung weitergeleitet…",
        Text::CheckingSignIn => "Ihre Anmeldung wird überprüft…",
        Text::OwnershipHeading => "Wie möchten Sie dieses Gerät einrichten?",
        Text::OwnershipWork => "Für die Arbeit oder Bildungseinrichtung einrichten",
        Text::OwnershipWorkDetail => "Sie erhalten Zugriff auf die Ressourcen Ihrer Organisation, etwa E-Mail, Apps und das Netzwerk. Ihre Organisation erhält die Kontrolle über dieses Gerät.",
        Text::OwnershipPersonal => "Für die persönliche Verwendung einrichten",
        Text::OwnershipPersonalDetail => "Verwenden Sie für Ihr eigenes Gerät ein Microsoft-Konto oder ein lokales Konto.",
        Text::JoinOptionsHeading => "Wie möchten Sie dieses Gerät verbinden?",
        Text::JoinOptionsIntro => "Wählen Sie aus, wie dieses Gerät mit Ihrer Organisation verbunden werden soll.",
        Text::JoinEntra => "Microsoft Entra ID beitreten",
        Text::JoinEntraDetail => "Melden Sie sich mit Ihrem Geschäfts-, Schul- oder Unikonto an. Ihre Organisation verwaltet dieses Gerät.",
        Text::JoinLocal => "Mit einem lokalen Konto anmelden",
        Text::JoinLocalDetail => "Verwenden Sie ein Konto, das nur auf diesem Gerät existiert.",
        Text::JoinDomain => "Stattdessen einer Domäne beitreten",
        Text::JoinDomainDetail => "Einer lokalen Active Directory-Domäne beitreten.",
        Text::AlreadyJoinedHeading => "Dieses Gerät ist bereits verbunden",
        Text::AlreadyJoinedDetail => "Dieses Gerät ist bereits mit Microsoft Entra ID verbunden. Um es erneut zu verbinden, trennen Sie es zuerst von seiner Organisation.",
        Text::DeviceIdLabel => "Geräte-ID",
        Text::NotCoveredHeading => "Lokales Konto einrichten",
        Text::NotCoveredPersonal => "Dieses Gerät wird für die persönliche Verwendung mit einem lokalen Konto eingerichtet: einem Konto, das nur auf diesem Gerät existiert. Das Windows-Setup erstellt es nach dieser Seite.",
        Text::NotCoveredLocal => "Dieses Gerät wird mit einem lokalen Konto eingerichtet: einem Konto, das nur auf diesem Gerät existiert. Das Windows-Setup erstellt es nach dieser Seite.",
        Text::NotCoveredDomain => "Um einer lokalen Active Directory-Domäne beizutreten, richten Sie zuerst ein lokales Konto ein. Öffnen Sie danach Einstellungen > Konten > Auf Arbeits- oder Schulkonto zugreifen, wählen Sie Verbinden und anschließend den Beitritt zu einer lokalen Active Directory-Domäne.",
        Text::MsaOutOfScope => "Die Anmeldung mit einem Microsoft-Konto ist nicht Teil dieser Einrichtung. Um stattdessen Ihrer Organisation beizutreten, gehen Sie zurück und wählen Sie Arbeit oder Bildungseinrichtung.",
        Text::Cancel => "Abbrechen",
        Text::SignInHeading => "Anmelden",
        Text::SignInIntro => "Geben Sie das Geschäfts-, Schul- oder Unikonto ein, das Sie von Ihrer Organisation erhalten haben.",
        Text::UpnLabel => "Geschäfts-, Schul- oder Unikonto",
        Text::UpnPlaceholder => "jemand@example.com",
        Text::PasswordLabel => "Kennwort",
        Text::SignInButton => "Anmelden",
        Text::CheckingAccount => "Ihr Konto wird überprüft…",
        Text::RealmUnknown => "Wir konnten kein Konto mit diesem Benutzernamen finden.",
        Text::RealmFederated => "Ihre Organisation meldet Sie über ihren eigenen Anmeldedienst an (Verbund).",
        Text::RealmLookupFailed => "Wir konnten dieses Konto gerade nicht überprüfen. Überprüfen Sie die Netzwerkverbindung, und versuchen Sie es erneut.",
        Text::ProgressHeading => "Ihr Gerät wird für die Arbeit eingerichtet",
        Text::ProgressIntro => "Dies kann einige Minuten dauern. Lassen Sie das Gerät eingeschaltet.",
        Text::PhaseDiscovering => "Geräteregistrierungsdienst Ihrer Organisation wird gesucht",
        Text::PhaseCreatingKeys => "Schlüssel des Geräts werden erstellt",
        Text::PhaseBuildingRequest => "Registrierungsanforderung wird vorbereitet",
        Text::PhaseRegistering => "Gerät wird bei Ihrer Organisation registriert",
        Text::PhaseInstallingCertificate => "Gerätezertifikat wird installiert",
        Text::PhaseSavingJoinInfo => "Beitrittsinformationen werden gespeichert",
        Text::PhaseMdmDiscovering => "Geräteverwaltungsdienst Ihrer Organisation wird gesucht",
        Text::PhaseMdmEnrolling => "Gerät wird in der Geräteverwaltung registriert",
        Text::PhaseMdmInstallingPolicy => "Verwaltungszertifikat und erste Richtlinie werden installiert",
        Text::TermsHeading => "Nutzungsbedingungen Ihrer Organisation",
        Text::TermsIntro => "Ihre Organisation verwaltet Arbeitsgeräte. Lesen und akzeptieren Sie ihre Nutzungsbedingungen, um fortzufahren.",
        Text::TermsOpen => "Bedingungen lesen",
        Text::StatePending => "Ausstehend",
        Text::StateInProgress => "Wird ausgeführt",
        Text::StateDone => "Erledigt",
        Text::StateFailed => "Fehlgeschlagen",
        Text::ProgressStatus => "Schritt {0} von {1}: {2} – {3}",
        Text::DoneHeading => "Dieses Gerät ist jetzt mit {0} verbunden",
        Text::DoneIntro => "Ihre Organisation kann dieses Gerät jetzt verwalten.",
        Text::DeviceNameLabel => "Gerätename",
        Text::TenantLabel => "Organisation",
        Text::UserLabel => "Benutzer",
        Text::Continue => "Fortfahren",
        Text::SignOutToFinish => "Zum Abschließen abmelden",
        Text::SignOutDetail => "Melden Sie sich von Windows ab und mit Ihrem Geschäfts-, Schul- oder Unikonto wieder an, um den Vorgang abzuschließen.",
        Text::ErrorHeading => "Etwas ist schiefgelaufen",
        Text::ErrorNoHost => "Diese Seite muss vom Einrichtungshost des Geräts geöffnet werden.",
        Text::ErrorBridgeUnreachable => "Der Einrichtungshost des Geräts ist nicht erreichbar.",
        Text::ErrorBridgeLost => "Die Verbindung zum Einrichtungshost des Geräts wurde vor Abschluss des Beitritts getrennt.",
        Text::ErrorAuthority => "Der Anmeldedienst Ihrer Organisation hat ein Problem gemeldet.",
        Text::ErrorAuthorityUnreachable => "Der Anmeldedienst ist nicht erreichbar.",
        Text::ErrorInvalidToken => "Die Antwort der Anmeldung konnte nicht überprüft werden und wurde deshalb nicht verwendet.",
        Text::ErrorSessionLost => "Diese Anmeldung gehört zu keiner auf diesem Gerät begonnenen Einrichtung. Beginnen Sie von vorn, um sich erneut anzumelden.",
        Text::ErrorJoinFailed => "Das Gerät konnte nicht verbunden werden.",
        Text::ErrorNoRandomness => "Dieser Browser kann die für die Anmeldung nötigen sicheren Werte nicht erzeugen.",
        Text::ErrorTermsNotAccepted => "Die Nutzungsbedingungen der Geräteverwaltung Ihrer Organisation wurden nicht akzeptiert; das Gerät wurde deshalb nicht verbunden.",
        Text::ErrorTermsUnexpected => "Diese Antwort zu den Nutzungsbedingungen gehört zu keiner laufenden Einrichtung auf diesem Gerät; sie wurde nicht verwendet und das Gerät nicht verbunden.",
        Text::ErrorJoinedNotManaged => "Das Gerät ist mit Ihrer Organisation verbunden, konnte aber nicht in der Geräteverwaltung registriert werden. Ihre IT-Abteilung kann die Registrierung wiederholen.",
        Text::ErrorFailedStep => "Fehlgeschlagener Schritt: {0}",
        Text::FederatedRedirect => "Sie werden zur Anmeldeseite Ihrer Organisation weitergeleitet – {0}",
        Text::FederatedNoUrl => "Die Anmeldeseite Ihrer Organisation ist unbekannt; die Verbundanmeldung kann deshalb nicht fortgesetzt werden.",
        Text::MfaHeading => "Identität bestätigen",
        Text::MfaIntro => "Geben Sie den sechsstelligen Code ein, den Ihre Authenticator-App für {0} anzeigt.",
        Text::MfaCodeLabel => "Bestätigungscode",
        Text::MfaVerify => "Bestätigen",
        Text::AutoLogonPrepared => "Nach Abschluss der Einrichtung meldet Windows Sie automatisch mit diesem Konto an.",
        Text::SignInAtLogon => "Melden Sie sich nach Abschluss der Einrichtung auf dem Anmeldebildschirm mit Ihrem Geschäfts-, Schul- oder Unikonto bei Windows an.",
        Text::ErrWrongPassword => "Ihr Konto oder Kennwort ist falsch.",
        Text::ErrLocked => "Ihr Konto ist gesperrt, weil zu viele Anmeldeversuche fehlgeschlagen sind.",
        Text::ErrWrongCode => "Dieser Code hat nicht funktioniert.",
        Text::ErrMfaRequired => "Ihre Organisation verlangt für diese Anmeldung einen zweiten Überprüfungsschritt.",
        Text::ErrFederationToken => "Die Anmeldung vom Anmeldedienst Ihrer Organisation konnte nicht überprüft werden.",
        Text::ErrFederationMismatch => "Die Antwort des Anmeldediensts Ihrer Organisation gehört nicht zu dieser Anmeldung.",
        Text::ErrSignInExpired => "Ihre Anmeldung ist abgelaufen, bevor die Einrichtung sie verwenden konnte.",
        Text::ErrAppNotAllowed => "Diese Einrichtung ist nicht für die Anmeldung bei Ihrer Organisation registriert.",
        Text::ErrBadRequest => "Die Anmeldeanforderung war unvollständig oder wird nicht unterstützt.",
        Text::ErrTenantNotFound => "Ihre Organisation wurde nicht gefunden.",
        Text::ErrAccessDenied => "Ihre Organisation hat diese Anmeldung nicht zugelassen.",
        Text::ErrSignInUnavailable => "Der Anmeldedienst ist gerade nicht verfügbar.",
        Text::ErrQuota => "Sie haben die maximale Anzahl von Geräten erreicht, die Sie mit Ihrer Organisation verbinden dürfen.",
        Text::ErrDrsNoTenant => "Ihre Organisation ist nicht für die Geräteregistrierung eingerichtet.",
        Text::ErrDrsToken => "Der Geräteregistrierungsdienst hat Ihre Anmeldung nicht akzeptiert.",
        Text::ErrDrsNotSupported => "Ihre Organisation lässt diese Art des Gerätebeitritts nicht zu.",
        Text::ErrAttestation => "Ihre Organisation verlangt einen Nachweis, dass die Schlüssel des Geräts durch sein TPM geschützt sind, und dieser Nachweis wurde abgelehnt.",
        Text::ErrDrsRequest => "Der Geräteregistrierungsdienst konnte die Anforderung nicht annehmen.",
        Text::ErrServiceDown => "Der Geräteregistrierungsdienst Ihrer Organisation ist gerade nicht verfügbar.",
        Text::ErrNetwork => "Die Dienste Ihrer Organisation waren nicht erreichbar. Möglicherweise wurde die Netzwerkverbindung unterbrochen.",
        Text::ErrAlreadyJoined => "Dieses Gerät ist bereits mit einer Organisation verbunden.",
        Text::ErrBusy => "Auf diesem Gerät läuft bereits ein anderer Beitritt.",
        Text::ErrKeys => "Die Schlüssel des Geräts konnten nicht erstellt werden. Möglicherweise ist das TPM nicht verfügbar.",
        Text::ErrDeviceStore => "Das Gerät konnte nicht speichern, was es für den Abschluss des Beitritts braucht.",
        Text::ErrMdmCap => "Das Gerät ist verbunden, aber die Geräteverwaltung Ihrer Organisation hat ihr Gerätelimit für Sie erreicht.",
        Text::ErrMdmLicense => "Das Gerät ist verbunden, aber Ihr Konto hat keine Lizenz für die Geräteverwaltung.",
        Text::ErrMdmDenied => "Das Gerät ist verbunden, aber die Geräteverwaltung hat Ihre Anmeldung nicht akzeptiert.",
        Text::ErrMdmUnsupported => "Das Gerät ist verbunden, aber die Geräteverwaltung unterstützt dieses Gerät nicht.",
        Text::ErrMdmDown => "Das Gerät ist verbunden, aber die Geräteverwaltung ist gerade nicht verfügbar.",
        Text::ErrMdmRequest => "Das Gerät ist verbunden, aber die Geräteverwaltung hat seine Anforderung abgelehnt.",
        Text::AdvReenterPassword => "Geben Sie Ihr Kennwort erneut ein. Wenn Sie es vergessen haben, bitten Sie Ihren Administrator, es zurückzusetzen.",
        Text::AdvCheckUsername => "Prüfen Sie den Benutzernamen auf Tippfehler, oder verwenden Sie ein anderes Konto.",
        Text::AdvLocked => "Warten Sie eine Weile und versuchen Sie es erneut, oder bitten Sie Ihren Administrator, es zu entsperren. Sie können sich auch mit einem anderen Konto anmelden.",
        Text::AdvReenterCode => "Öffnen Sie Ihre Authenticator-App, und geben Sie den Code ein, den sie jetzt anzeigt.",
        Text::AdvSignInAgain => "Melden Sie sich erneut an, um fortzufahren.",
        Text::AdvAskAdmin => "Ihr Administrator kann das beheben. Nennen Sie ihm den unten stehenden Fehlercode.",
        Text::AdvQuota => "Bitten Sie Ihren Administrator, eines Ihrer Geräte zu entfernen, oder melden Sie sich mit einem anderen Konto an.",
        Text::AdvTryAgainLater => "Auf diesem Gerät wurde nichts geändert. Versuchen Sie es in ein paar Minuten erneut.",
        Text::AdvCheckNetwork => "Auf diesem Gerät wurde nichts geändert. Prüfen Sie die Netzwerkverbindung, und versuchen Sie es dann erneut.",
        Text::AdvLeaveFirst => "Um es erneut zu verbinden, trennen Sie es zuerst von seiner aktuellen Organisation.",
        Text::AdvMdmLater => "Sie können das Gerät weiter verwenden. Ihre IT-Abteilung kann die Registrierung später wiederholen.",
        Text::AdvStartOver => "Beginnen Sie von vorn, um es erneut zu versuchen.",
        Text::TryAgain => "Erneut versuchen",
        Text::UseAnotherAccount => "Mit einem anderen Konto anmelden",
        Text::ErrorCodeLine => "Fehlercode: {0}",
        Text::MoreDetails => "Weitere Details",
        Text::UpnRequired => "Geben Sie Ihr Geschäfts-, Schul- oder Unikonto ein.",
        Text::UpnInvalid => "Geben Sie das Konto als vollständige Adresse ein, etwa jemand@example.com.",
        Text::PasswordRequired => "Geben Sie Ihr Kennwort ein.",
        Text::CodeRequired => "Geben Sie den 6-stelligen Code ein.",
        Text::PasswordHeading => "Kennwort eingeben",
        Text::SigningIn => "Anmeldung läuft…",
        Text::AlreadyJoinedOrg => "Dieses Gerät ist bereits über Microsoft Entra ID mit {0} verbunden.",
        Text::AlreadyJoinedLeave => "Um es erneut oder mit einer anderen Organisation zu verbinden, trennen Sie es zuerst: Schließen Sie die Einrichtung, führen Sie diesen Befehl als Administrator auf dem Gerät aus, und starten Sie die Einrichtung dann erneut.",
        Text::LeaveCommandLabel => "Befehl zum Trennen",
        Text::DisplayNameLabel => "Anzeigename",
        Text::NextHeading => "Die Einrichtung übergibt an Windows",
        Text::NextFirstSignIn => "Als Nächstes meldet sich {0} zum ersten Mal mit {1} bei Windows an.",
        Text::NextSso => "Nach dieser ersten Anmeldung ist das einmalige Anmelden bei den Apps Ihrer Organisation bereit.",
        Text::NextClosing => "Sie können dieses Fenster schließen, falls es geöffnet bleibt.",
        Text::TriesLeft => "Noch {0} Versuche.",
        Text::LeaveOrg => "{0} verlassen",
        Text::YourOrganization => "Ihre Organisation",
        Text::LeaveHow => "Um es erneut oder mit einer anderen Organisation zu verbinden, trennen Sie es zuerst.",
        Text::LeaveConfirmHeading => "{0} verlassen?",
        Text::LeaveConfirmDetail => "Dieses Gerät ist danach nicht mehr mit {0} verbunden. Sein Gerätezertifikat und seine Schlüssel werden von diesem Gerät entfernt, und es verliert den Zugriff auf die Ressourcen Ihrer Organisation, bis es wieder verbunden wird.",
        Text::LeaveConfirm => "Verlassen",
        Text::Leaving => "Organisation wird verlassen…",
        Text::LeftNotice => "Dieses Gerät hat {0} verlassen.",
        Text::LeftDeleted => "Sein Geräteobjekt wurde aus dem Verzeichnis Ihrer Organisation gelöscht.",
        Text::LeftRemains => "Der Geräteregistrierungsdienst war nicht sicher erreichbar, daher bleibt das Geräteobjekt im Verzeichnis Ihrer Organisation. Bitten Sie Ihren Administrator, es zu löschen.",
        Text::ErrLeaveNotAllowed => "Das Verlassen der Organisation ist in dieser Einrichtung nicht erlaubt.",
        Text::AdvLeaveCommand => "Bitten Sie Ihren Administrator, das Gerät mit dem Befehl „leave“ des Einrichtungshosts zu trennen.",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Arabic (Saudi Arabia), written right to left.
fn ar_sa(key: Text) -> Option<&'static str> {
    Some(match key {
        Text::AppTitle => "إعداد جهازك",
        Text::Next => "التالي",
        Text::Back => "رجوع",
        Text::StartOver => "البدء من جديد",
        Text::WorkingHeading => "لحظة من فضلك…",
        Text::Connecting => "جارٍ تجهيز الأمور…",
        Text::Redirecting => "جارٍ نقلك إلى تسجيل الدخول…",
        Text::CheckingSignIn => "جارٍ التحقق من تسجيل دخولك…",
        Text::OwnershipHeading => "كيف تريد إعداد هذا الجهاز؟",
        Text::OwnershipWork => "الإعداد للعمل أو المدرسة",
        Text::OwnershipWorkDetail => "ستحصل على حق الوصول إلى موارد مؤسستك، مثل البريد الإلكتروني والتطبيقات والشبكة. وستتحكم مؤسستك في هذا الجهاز.",
        Text::OwnershipPersonal => "الإعداد للاستخدام الشخصي",
        Text::OwnershipPersonalDetail => "استخدم حساب Microsoft أو حساباً محلياً لجهازك الخاص.",
        Text::JoinOptionsHeading => "كيف تريد توصيل هذا الجهاز؟",
        Text::JoinOptionsIntro => "اختر طريقة ربط هذا الجهاز بمؤسستك.",
        Text::JoinEntra => "الانضمام إلى Microsoft Entra ID",
        Text::JoinEntraDetail => "سجّل الدخول باستخدام حساب العمل أو المدرسة. ستدير مؤسستك هذا الجهاز.",
        Text::JoinLocal => "تسجيل الدخول باستخدام حساب محلي",
        Text::JoinLocalDetail => "استخدم حساباً موجوداً على هذا الجهاز فقط.",
        Text::JoinDomain => "الانضمام إلى مجال بدلاً من ذلك",
        Text::JoinDomainDetail => "الانضمام إلى مجال Active Directory محلي.",
        Text::AlreadyJoinedHeading => "هذا الجهاز منضم بالفعل",
        Text::AlreadyJoinedDetail => "هذا الجهاز منضم بالفعل إلى Microsoft Entra ID. لضمه مرة أخرى، افصله أولاً عن مؤسسته.",
        Text::DeviceIdLabel => "معرّف الجهاز",
        Text::NotCoveredHeading => "إعداد حساب محلي",
        Text::NotCoveredPersonal => "سيتم إعداد هذا الجهاز للاستخدام الشخصي بحساب محلي: حساب موجود على هذا الجهاز فقط. ينشئه إعداد Windows بعد هذه الصفحة.",
        Text::NotCoveredLocal => "سيتم إعداد هذا الجهاز بحساب محلي: حساب موجود على هذا الجهاز فقط. ينشئه إعداد Windows بعد هذه الصفحة.",
        Text::NotCoveredDomain => "للانضمام إلى مجال Active Directory محلي، أعدّ حساباً محلياً أولاً. بعد ذلك افتح الإعدادات > الحسابات > الوصول إلى العمل أو المدرسة، واختر اتصال، ثم اختر ضم هذا الجهاز إلى مجال Active Directory محلي.",
        Text::MsaOutOfScope => "تسجيل الدخول باستخدام حساب Microsoft ليس جزءاً من هذا الإعداد. للانضمام إلى مؤسستك بدلاً من ذلك، ارجع واختر العمل أو المدرسة.",
        Text::Cancel => "إلغاء",
        Text::SignInHeading => "تسجيل الدخول",
        Text::SignInIntro => "أدخل حساب العمل أو المدرسة الذي منحتك إياه مؤسستك.",
        Text::UpnLabel => "حساب العمل أو المدرسة",
        Text::UpnPlaceholder => "name@example.com",
        Text::PasswordLabel => "كلمة المرور",
        Text::SignInButton => "تسجيل الدخول",
        Text::CheckingAccount => "جارٍ التحقق من حسابك…",
        Text::RealmUnknown => "لم نتمكن من العثور على حساب بهذا الاسم.",
        Text::RealmFederated => "تسجّل مؤسستك دخولك عبر خدمة تسجيل الدخول الخاصة بها (اتحاد).",
        Text::RealmLookupFailed => "تعذّر علينا التحقق من هذا الحساب الآن. تحقق من الشبكة وحاول مرة أخرى.",
        Text::ProgressHeading => "جارٍ إعداد جهازك للعمل",
        Text::ProgressIntro => "قد يستغرق ذلك بضع دقائق. أبقِ الجهاز قيد التشغيل.",
        Text::PhaseDiscovering => "جارٍ البحث عن خدمة تسجيل الأجهزة لدى مؤسستك",
        Text::PhaseCreatingKeys => "جارٍ إنشاء مفاتيح الجهاز",
        Text::PhaseBuildingRequest => "جارٍ تجهيز طلب التسجيل",
        Text::PhaseRegistering => "جارٍ تسجيل الجهاز لدى مؤسستك",
        Text::PhaseInstallingCertificate => "جارٍ تثبيت شهادة الجهاز",
        Text::PhaseSavingJoinInfo => "جارٍ حفظ معلومات الانضمام",
        Text::PhaseMdmDiscovering => "جارٍ البحث عن خدمة إدارة الأجهزة لدى مؤسستك",
        Text::PhaseMdmEnrolling => "جارٍ تسجيل الجهاز في إدارة الأجهزة",
        Text::PhaseMdmInstallingPolicy => "جارٍ تثبيت شهادة الإدارة والنهج الأول",
        Text::TermsHeading => "شروط الاستخدام لدى مؤسستك",
        Text::TermsIntro => "تدير مؤسستك أجهزة العمل. راجع شروط الاستخدام واقبلها للمتابعة.",
        Text::TermsOpen => "مراجعة الشروط",
        Text::StatePending => "قيد الانتظار",
        Text::StateInProgress => "قيد التنفيذ",
        Text::StateDone => "تم",
        Text::StateFailed => "فشل",
        Text::ProgressStatus => "الخطوة {0} من {1}: {2} — {3}",
        Text::DoneHeading => "هذا الجهاز منضم الآن إلى {0}",
        Text::DoneIntro => "يمكن لمؤسستك الآن إدارة هذا الجهاز.",
        Text::DeviceNameLabel => "اسم الجهاز",
        Text::TenantLabel => "المؤسسة",
        Text::UserLabel => "المستخدم",
        Text::Continue => "متابعة",
        Text::SignOutToFinish => "تسجيل الخروج للإنهاء",
        Text::SignOutDetail => "سجّل الخروج من Windows ثم سجّل الدخول مرة أخرى بحساب العمل أو المدرسة للإنهاء.",
        Text::ErrorHeading => "حدث خطأ ما",
        Text::ErrorNoHost => "يجب أن يفتح مضيف إعداد الجهاز هذه الصفحة.",
        Text::ErrorBridgeUnreachable => "تعذّر علينا الوصول إلى مضيف إعداد الجهاز.",
        Text::ErrorBridgeLost => "انقطع الاتصال بمضيف إعداد الجهاز قبل انتهاء الانضمام.",
        Text::ErrorAuthority => "أبلغت خدمة تسجيل الدخول لدى مؤسستك عن مشكلة.",
        Text::ErrorAuthorityUnreachable => "تعذّر علينا الوصول إلى خدمة تسجيل الدخول.",
        Text::ErrorInvalidToken => "تعذّر التحقق من استجابة تسجيل الدخول، لذا لم تُستخدم.",
        Text::ErrorSessionLost => "لا ينتمي تسجيل الدخول هذا إلى إعداد بدأ على هذا الجهاز. ابدأ من جديد لتسجيل الدخول مرة أخرى.",
        Text::ErrorJoinFailed => "تعذّر ضم الجهاز.",
        Text::ErrorNoRandomness => "لا يستطيع هذا المستعرض إنشاء القيم الآمنة اللازمة لتسجيل الدخول.",
        Text::ErrorTermsNotAccepted => "لم تُقبل شروط استخدام إدارة الأجهزة لدى مؤسستك، لذا لم يُضم الجهاز.",
        Text::ErrorTermsUnexpected => "لا تنتمي إجابة شروط الاستخدام هذه إلى إعداد جارٍ على هذا الجهاز، لذا لم تُستخدم ولم يُضم الجهاز.",
        Text::ErrorJoinedNotManaged => "الجهاز منضم إلى مؤسستك، لكن تعذّر تسجيله في إدارة الأجهزة. يمكن لقسم تقنية المعلومات إعادة محاولة التسجيل.",
        Text::ErrorFailedStep => "الخطوة التي فشلت: {0}",
        Text::FederatedRedirect => "جارٍ نقلك إلى صفحة تسجيل الدخول لدى مؤسستك — {0}",
        Text::FederatedNoUrl => "صفحة تسجيل الدخول لدى مؤسستك غير معروفة، لذا لا يمكن متابعة تسجيل الدخول الموحّد.",
        Text::MfaHeading => "التحقق من هويتك",
        Text::MfaIntro => "أدخل الرمز المكوّن من 6 أرقام الظاهر في تطبيق المصادقة لـ {0}.",
        Text::MfaCodeLabel => "الرمز",
        Text::MfaVerify => "تحقق",
        Text::AutoLogonPrepared => "عند انتهاء الإعداد، يسجّل Windows دخولك بهذا الحساب تلقائيًا.",
        Text::SignInAtLogon => "عند انتهاء الإعداد، سجّل الدخول إلى Windows بحساب العمل أو المدرسة من شاشة تسجيل الدخول.",
        Text::ErrWrongPassword => "حسابك أو كلمة المرور غير صحيحة.",
        Text::ErrLocked => "حسابك مقفل بسبب كثرة محاولات تسجيل الدخول الفاشلة.",
        Text::ErrWrongCode => "لم ينجح هذا الرمز.",
        Text::ErrMfaRequired => "تتطلب مؤسستك خطوة تحقق ثانية لتسجيل الدخول هذا.",
        Text::ErrFederationToken => "تعذر التحقق من تسجيل الدخول الوارد من خدمة تسجيل الدخول في مؤسستك.",
        Text::ErrFederationMismatch => "الرد الوارد من خدمة تسجيل الدخول في مؤسستك لا يخص عملية تسجيل الدخول هذه.",
        Text::ErrSignInExpired => "انتهت صلاحية تسجيل دخولك قبل أن يتمكن الإعداد من استخدامه.",
        Text::ErrAppNotAllowed => "هذا الإعداد غير مسجل لتسجيل الدخول إلى مؤسستك.",
        Text::ErrBadRequest => "كان طلب تسجيل الدخول غير مكتمل أو غير مدعوم.",
        Text::ErrTenantNotFound => "تعذر العثور على مؤسستك.",
        Text::ErrAccessDenied => "لم تسمح مؤسستك بتسجيل الدخول هذا.",
        Text::ErrSignInUnavailable => "خدمة تسجيل الدخول غير متاحة حاليًا.",
        Text::ErrQuota => "لقد بلغت الحد الأقصى لعدد الأجهزة التي يمكنك ضمها إلى مؤسستك.",
        Text::ErrDrsNoTenant => "مؤسستك غير مهيأة لتسجيل الأجهزة.",
        Text::ErrDrsToken => "لم تقبل خدمة تسجيل الأجهزة تسجيل دخولك.",
        Text::ErrDrsNotSupported => "لا تسمح مؤسستك بهذا النوع من ضم الأجهزة.",
        Text::ErrAttestation => "تطلب مؤسستك إثباتًا على أن مفاتيح الجهاز محمية بشريحة TPM الخاصة به، وقد رُفض هذا الإثبات.",
        Text::ErrDrsRequest => "تعذر على خدمة تسجيل الأجهزة قبول الطلب.",
        Text::ErrServiceDown => "خدمة تسجيل الأجهزة في مؤسستك غير متاحة حاليًا.",
        Text::ErrNetwork => "تعذر الوصول إلى خدمات مؤسستك. ربما انقطع الاتصال بالشبكة.",
        Text::ErrAlreadyJoined => "هذا الجهاز منضم بالفعل إلى مؤسسة.",
        Text::ErrBusy => "هناك عملية ضم أخرى جارية بالفعل على هذا الجهاز.",
        Text::ErrKeys => "تعذر إنشاء مفاتيح الجهاز. قد تكون شريحة TPM غير متاحة.",
        Text::ErrDeviceStore => "تعذر على الجهاز حفظ ما يحتاجه لإكمال الضم.",
        Text::ErrMdmCap => "الجهاز منضم، لكن إدارة الأجهزة في مؤسستك بلغت حد الأجهزة المسموح لك به.",
        Text::ErrMdmLicense => "الجهاز منضم، لكن حسابك لا يملك ترخيصًا لإدارة الأجهزة.",
        Text::ErrMdmDenied => "الجهاز منضم، لكن إدارة الأجهزة لم تقبل تسجيل دخولك.",
        Text::ErrMdmUnsupported => "الجهاز منضم، لكن إدارة الأجهزة لا تدعم هذا الجهاز.",
        Text::ErrMdmDown => "الجهاز منضم، لكن إدارة الأجهزة غير متاحة حاليًا.",
        Text::ErrMdmRequest => "الجهاز منضم، لكن إدارة الأجهزة رفضت طلبه.",
        Text::AdvReenterPassword => "أدخل كلمة المرور مرة أخرى. إذا نسيتها، فاطلب من المسؤول إعادة تعيينها.",
        Text::AdvCheckUsername => "تحقق من اسم المستخدم بحثًا عن أخطاء إملائية، أو استخدم حسابًا آخر.",
        Text::AdvLocked => "انتظر بعض الوقت ثم حاول مرة أخرى، أو اطلب من المسؤول إلغاء قفله. يمكنك أيضًا تسجيل الدخول بحساب آخر.",
        Text::AdvReenterCode => "افتح تطبيق المصادقة وأدخل الرمز الذي يعرضه الآن.",
        Text::AdvSignInAgain => "سجّل الدخول مرة أخرى للمتابعة.",
        Text::AdvAskAdmin => "يمكن للمسؤول إصلاح ذلك. أعطه رمز الخطأ الظاهر أدناه.",
        Text::AdvQuota => "اطلب من المسؤول إزالة أحد أجهزتك، أو سجّل الدخول بحساب آخر.",
        Text::AdvTryAgainLater => "لم يتغير شيء على هذا الجهاز. حاول مرة أخرى بعد بضع دقائق.",
        Text::AdvCheckNetwork => "لم يتغير شيء على هذا الجهاز. تحقق من الاتصال بالشبكة، ثم حاول مرة أخرى.",
        Text::AdvLeaveFirst => "لضمه مرة أخرى، افصله أولًا عن مؤسسته الحالية.",
        Text::AdvMdmLater => "يمكنك متابعة استخدام الجهاز. يمكن لقسم تقنية المعلومات إعادة محاولة التسجيل لاحقًا.",
        Text::AdvStartOver => "ابدأ من جديد للمحاولة مرة أخرى.",
        Text::TryAgain => "حاول مرة أخرى",
        Text::UseAnotherAccount => "تسجيل الدخول بحساب آخر",
        Text::ErrorCodeLine => "رمز الخطأ: {0}",
        Text::MoreDetails => "مزيد من التفاصيل",
        Text::UpnRequired => "أدخل حساب العمل أو المؤسسة التعليمية.",
        Text::UpnInvalid => "أدخل الحساب كعنوان كامل، مثل someone@example.com.",
        Text::PasswordRequired => "أدخل كلمة المرور.",
        Text::CodeRequired => "أدخل الرمز المكون من 6 أرقام.",
        Text::PasswordHeading => "إدخال كلمة المرور",
        Text::SigningIn => "جارٍ تسجيل الدخول…",
        Text::AlreadyJoinedOrg => "هذا الجهاز منضم بالفعل إلى {0} عبر Microsoft Entra ID.",
        Text::AlreadyJoinedLeave => "لضمه مرة أخرى أو إلى مؤسسة أخرى، افصله أولًا: أغلق الإعداد، وشغّل هذا الأمر على الجهاز كمسؤول، ثم ابدأ الإعداد من جديد.",
        Text::LeaveCommandLabel => "أمر الفصل",
        Text::DisplayNameLabel => "الاسم المعروض",
        Text::NextHeading => "يسلّم الإعداد الآن إلى Windows",
        Text::NextFirstSignIn => "بعد ذلك، يسجّل {0} الدخول إلى Windows لأول مرة باستخدام {1}.",
        Text::NextSso => "بعد تسجيل الدخول الأول هذا، سيكون تسجيل الدخول الأحادي إلى تطبيقات مؤسستك جاهزًا.",
        Text::NextClosing => "يمكنك إغلاق هذه النافذة إذا بقيت مفتوحة.",
        Text::TriesLeft => "المحاولات المتبقية: {0}.",
        Text::LeaveOrg => "مغادرة {0}",
        Text::YourOrganization => "مؤسستك",
        Text::LeaveHow => "لضمه مرة أخرى أو إلى مؤسسة أخرى، غادر مؤسسته الحالية أولًا.",
        Text::LeaveConfirmHeading => "هل تريد مغادرة {0}؟",
        Text::LeaveConfirmDetail => "لن يكون هذا الجهاز منضمًا إلى {0} بعد الآن. ستُزال شهادة الجهاز ومفاتيحه من هذا الجهاز، وسيفقد الوصول إلى موارد مؤسستك حتى يُضم مرة أخرى.",
        Text::LeaveConfirm => "مغادرة",
        Text::Leaving => "جارٍ مغادرة مؤسستك…",
        Text::LeftNotice => "غادر هذا الجهاز {0}.",
        Text::LeftDeleted => "حُذف كائن الجهاز من دليل مؤسستك.",
        Text::LeftRemains => "تعذر الوصول إلى خدمة تسجيل الأجهزة بشكل آمن، لذلك يبقى كائن الجهاز في دليل مؤسستك. اطلب من المسؤول حذفه.",
        Text::ErrLeaveNotAllowed => "مغادرة المؤسسة غير مسموح بها من هذا الإعداد.",
        Text::AdvLeaveCommand => "اطلب من المسؤول فصل الجهاز باستخدام أمر leave الخاص بمضيف الإعداد.",
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Indexes of the `{n}` placeholders a string uses, sorted.
#[cfg(test)]
fn placeholders(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                if let Ok(index) = after[..close].parse() {
                    found.push(index);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    found.sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_language_has_every_text_with_the_same_placeholders() {
        for &language in Language::ALL {
            for &key in Text::ALL {
                let text = language.text(key);
                assert!(
                    !text.trim().is_empty(),
                    "{key:?} is empty in {}",
                    language.tag()
                );
                assert_eq!(
                    placeholders(text),
                    placeholders(en_us(key)),
                    "{key:?} placeholders differ in {}",
                    language.tag()
                );
            }
        }
    }

    #[test]
    fn placeholders_are_numbered_from_zero_without_gaps() {
        for &key in Text::ALL {
            let found: HashSet<usize> = placeholders(en_us(key)).into_iter().collect();
            let expected: HashSet<usize> = (0..found.len()).collect();
            assert_eq!(found, expected, "{key:?}");
        }
    }

    #[test]
    fn format_fills_placeholders() {
        assert_eq!(
            format(Text::DoneHeading, &["Contoso"]),
            "This device is now joined to Contoso"
        );
        assert_eq!(fill("{0} and {1}", &["a"]), "a and {1}");
    }

    #[test]
    fn unknown_language_tags_fall_back_to_en_us() {
        assert_eq!(Language::from_tag("xx-YY"), Language::EnUs);
        assert_eq!(Language::EnUs.tag(), "en-US");
    }

    /// Every key has its own translation in every language (no English fallback, no string
    /// left in English).
    #[test]
    fn every_key_is_translated_in_every_language() {
        for &language in Language::ALL {
            if language == Language::EnUs {
                continue;
            }
            for &key in Text::ALL {
                let text = language
                    .translation(key)
                    .unwrap_or_else(|| panic!("{key:?} has no {} translation", language.tag()));
                assert!(
                    !text.trim().is_empty(),
                    "{key:?} empty in {}",
                    language.tag()
                );
                assert_ne!(text, en_us(key), "{key:?} is English in {}", language.tag());
            }
        }
    }

    #[test]
    fn arabic_reads_right_to_left_and_its_strings_are_arabic() {
        assert_eq!(Language::ArSa.direction(), Direction::Rtl);
        assert_eq!(Language::DeDe.direction(), Direction::Ltr);
        let arabic = |c: char| ('\u{0600}'..='\u{06FF}').contains(&c);
        for &key in Text::ALL {
            // Product names stay Latin; the sentence around them must be Arabic. The only
            // exception is the example address in the name field.
            if key == Text::UpnPlaceholder {
                continue;
            }
            assert!(Language::ArSa.text(key).chars().any(arabic), "{key:?}");
        }
    }

    #[test]
    fn host_language_wins_then_the_browser_then_en_us() {
        let browser = vec!["fr-FR".to_string(), "de-AT".to_string()];
        assert_eq!(Language::choose(Some("ar-SA"), &browser), Language::ArSa);
        assert_eq!(Language::choose(Some("xx"), &browser), Language::DeDe);
        assert_eq!(Language::choose(None, &browser), Language::DeDe);
        assert_eq!(Language::choose(None, &[]), Language::EnUs);
        assert_eq!(Language::from_tag("AR"), Language::ArSa);
        assert_eq!(Language::from_tag("de_CH"), Language::DeDe);
    }

    // `set_language` is not exercised here: it changes process-wide state that the other
    // tests (run in parallel) read through `t`. The Playwright i18n suite covers it.
    #[test]
    fn languages_have_their_own_tables() {
        assert_eq!(Language::DeDe.text(Text::Back), "Zurück");
        assert_eq!(Language::ArSa.text(Text::Back), "رجوع");
        assert_eq!(Language::EnUs.text(Text::Back), "Back");
    }
}
