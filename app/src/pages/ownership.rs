//! Ownership page (Professional edition only): is this a work or a personal device?

use leptos::prelude::*;

use super::{ActionRow, ChoiceButton, LeftNoticeBanner, PageHeading};
use crate::controller::use_controller;
use crate::flow::OtherChoice;
use crate::i18n::{t, Text};

#[component]
pub fn OwnershipPage() -> impl IntoView {
    let controller = use_controller();
    view! {
        <PageHeading name="ownership" text=t(Text::OwnershipHeading) />
        <LeftNoticeBanner />
        <div class="choices" role="group" aria-label=t(Text::OwnershipHeading)>
            <ChoiceButton testid="btn-work" primary=true
                title=t(Text::OwnershipWork) detail=t(Text::OwnershipWorkDetail)
                on_choose=Callback::new(move |_| controller.choose_work()) />
            <ChoiceButton testid="btn-personal"
                title=t(Text::OwnershipPersonal) detail=t(Text::OwnershipPersonalDetail)
                on_choose=Callback::new(move |_| controller.choose_other(OtherChoice::Personal)) />
        </div>
        <ActionRow />
    }
}
