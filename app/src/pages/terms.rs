//! The MDM terms-of-use step (seed 000 step 3): shown only when the validated id_token names a
//! terms URL. It leaves for the MDM's terms page with a form POST that carries the bearer for
//! the MDM application (a navigation cannot carry an `Authorization` header); the page answers
//! on the app's URL with `IsAccepted` and the `OpaqueBlob`.

use leptos::html;
use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::flow::TermsVisit;
use crate::i18n::{t, Text};

#[component]
pub fn TermsPage(visit: TermsVisit) -> impl IntoView {
    let form = NodeRef::<html::Form>::new();
    // Go straight on, as the CXH does; the button stays for a browser that blocks the submit.
    Effect::new(move |_| {
        if let Some(form) = form.get() {
            let _ = form.submit();
        }
    });
    view! {
        <PageHeading name="terms" text=t(Text::TermsHeading) />
        <p class="intro">{t(Text::TermsIntro)}</p>
        <form method="post" action=visit.url node_ref=form>
            {visit.fields.into_iter().map(|(name, value)| view! {
                <input type="hidden" name=name value=value />
            }).collect_view()}
            <ActionRow>
                <button type="submit" class="btn btn-primary" data-testid="btn-review-terms">
                    {t(Text::TermsOpen)}
                </button>
            </ActionRow>
        </form>
    }
}
