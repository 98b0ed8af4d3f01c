//! The MDM terms-of-use round trip (seed 000 §3): leave for the terms page with a bearer for
//! the MDM application, and come back with its answer.

use leptos::prelude::*;

use super::browser::{now_seconds, page_origin, session};
use super::join::JoinAttempt;
use super::Controller;
use crate::authority::{fetch_jwks, fetch_openid_configuration};
use crate::flow::{ErrorReason, FlowError, Page};
use crate::id_token::validate_id_token;

impl Controller {
    /// Get a bearer for the MDM app, remember the join, and leave for the terms page.
    pub(super) async fn leave_for_terms(
        self,
        configuration: &cxh_wire::oidc::OpenIdConfiguration,
        claims: &cxh_wire::oidc::IdTokenClaims,
        terms_url: String,
        id_token: String,
        nonce: String,
    ) -> Result<(), FlowError> {
        let failed = |why: String| FlowError::new(ErrorReason::TermsNotAccepted, Some(why), true);
        let enrollment = crate::mdm::enrollment_url(claims)
            .ok_or_else(|| failed("the token names terms but no MDM enrollment URL".into()))?;
        let resource = crate::mdm::resource_of(&enrollment)
            .ok_or_else(|| failed("the MDM enrollment URL is invalid".into()))?;
        let redirect = crate::authority::redirect_uri(&page_origin());
        let code =
            crate::mdm::silent_code(&configuration.authorization_endpoint, &redirect, &resource)
                .await
                .map_err(failed)?;
        let token =
            crate::mdm::redeem_code(&configuration.token_endpoint, &code, &redirect, &resource)
                .await
                .map_err(failed)?;
        let session = session();
        session.save_pending_terms(&crate::flow::PendingTerms { id_token, nonce });
        let fields = vec![
            ("redirect_uri".to_string(), redirect),
            (
                "client-request-id".to_string(),
                crate::crypto::random_hex().unwrap_or_default(),
            ),
            ("api-version".to_string(), "1.0".to_string()),
            ("mode".to_string(), "azureadjoin".to_string()),
            ("access_token".to_string(), token),
        ];
        self.show(Page::Terms(crate::flow::TermsVisit {
            url: terms_url,
            fields,
        }));
        Ok(())
    }

    /// Back from the terms page: only an acceptance with a blob, for a join this session was
    /// waiting for, with an id_token that still validates, goes on to the join.
    pub(super) async fn resume_after_terms(
        self,
        answer: crate::mdm::TermsAnswer,
    ) -> Result<(), FlowError> {
        let session = session();
        let pending = session.pending_terms().ok_or_else(|| {
            FlowError::new(
                ErrorReason::TermsUnexpected,
                None,
                self.host.get_untracked().is_some(),
            )
        })?;
        session.clear_pending_terms();
        let blob = answer
            .accepted_blob()
            .map(str::to_string)
            .ok_or_else(|| FlowError::new(ErrorReason::TermsNotAccepted, None, true))?;
        let unreachable =
            |why: String| FlowError::new(ErrorReason::AuthorityUnreachable, Some(why), true);
        let configuration = fetch_openid_configuration().await.map_err(unreachable)?;
        let jwks = fetch_jwks(&configuration.jwks_uri)
            .await
            .map_err(unreachable)?;
        let claims = validate_id_token(
            &pending.id_token,
            &jwks,
            &configuration.issuer,
            &pending.nonce,
            now_seconds(),
        )
        .map_err(|e| FlowError::new(ErrorReason::InvalidToken, Some(e.to_string()), true))?;
        let url = crate::mdm::enrollment_url(&claims)
            .ok_or_else(|| FlowError::new(ErrorReason::TermsUnexpected, None, true))?;
        self.display_name
            .set(Some(claims.name.clone()).filter(|name| !name.is_empty()));
        let attempt = JoinAttempt {
            id_token: pending.id_token,
            nonce: pending.nonce,
            enrollment_url: Some(url),
            opaque_blob: Some(blob),
        };
        self.run_join(attempt).await
    }
}
