//! Every string the user sees, in one table.
//!
//! Pages never hold literal text: they ask for a [`Text`] key, so adding a language means adding
//! one table here (and a [`Language`] variant), not touching the pages. Only en-US exists today.
//! Parameterised strings use positional placeholders `{0}`, `{1}`… filled by [`format`].

/// Declares the [`Text`] keys together with their en-US strings, so a key can't exist without
/// its English text and [`Text::ALL`] can't miss a key.
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

    JoinOptionsHeading => "Sign in with Microsoft",
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

    NotCoveredHeading => "This setup covers Microsoft Entra join only",
    NotCoveredPersonal => "Setting up a device for personal use isn't part of this rebuild. Go back and choose to set it up for work or school.",
    NotCoveredLocal => "Signing in with a local account isn't part of this rebuild. Go back and choose to join Microsoft Entra ID.",
    NotCoveredDomain => "Joining an on-premises domain isn't part of this rebuild. Go back and choose to join Microsoft Entra ID.",

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
    ErrorDetailPrefix => "Details: {0}",
    ErrorFailedStep => "The step that failed: {0}",

    FederatedRedirect => "Taking you to your organization's sign-in page — {0}",
    FederatedNoUrl => "Your organization's sign-in page isn't known, so federated sign-in can't continue.",
    MfaHeading => "Verify your identity",
    MfaIntro => "Enter the 6-digit code shown in your authenticator app for {0}.",
    MfaCodeLabel => "Code",
    MfaVerify => "Verify",
    AutoLogonPrepared => "When setup finishes, Windows signs you in with this account automatically.",
    SignInAtLogon => "When setup finishes, sign in to Windows with your work or school account at the sign-in screen.",
}

/// A language the UI can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    EnUs,
}

impl Language {
    /// Every supported language, for completeness checks.
    pub const ALL: &'static [Language] = &[Language::EnUs];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
        }
    }

    /// The best supported language for a BCP 47 tag (the host may ask for one); en-US otherwise.
    pub fn from_tag(_tag: &str) -> Language {
        Language::EnUs
    }

    /// The string for `key` in this language.
    pub fn text(self, key: Text) -> &'static str {
        match self {
            Language::EnUs => en_us(key),
        }
    }
}

/// The string for `key` in the UI's language.
///
/// One language exists today, so this needs no state; when more arrive, the language chosen from
/// the host context goes here.
pub fn t(key: Text) -> &'static str {
    Language::default().text(key)
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
}
