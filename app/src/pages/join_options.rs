//! Join options: join Microsoft Entra ID (the path this rebuild implements), or the local
//! account and domain join alternatives (which explain that they are not covered).

use leptos::prelude::*;

use super::{ActionRow, ChoiceButton, LeftNoticeBanner, PageHeading};
use crate::controller::use_controller;
use crate::flow::{join_options_back, OtherChoice};
use crate::i18n::{t, Text};

#[component]
pub fn JoinOptionsPage() -> impl IntoView {
    let controller = use_controller();
    let back = controller
        .host
        .get_untracked()
        .and_then(|host| join_options_back(&host))
        .map(|to| Callback::new(move |_| controller.go_back(to)));
    view! {
        <PageHeading name="join-options" text=t(Text::JoinOptionsHeading) />
        <p class="intro">{t(Text::JoinOptionsIntro)}</p>
        <LeftNoticeBanner />
        <div class="choices" role="group" aria-label=t(Text::JoinOptionsHeading)>
            <ChoiceButton testid="btn-join-entra" primary=true
                title=t(Text::JoinEntra) detail=t(Text::JoinEntraDetail)
                on_choose=Callback::new(move |_| controller.join_entra()) />
            <ChoiceButton testid="btn-local-account"
                title=t(Text::JoinLocal) detail=t(Text::JoinLocalDetail)
                on_choose=Callback::new(move |_| controller.choose_other(OtherChoice::LocalAccount)) />
            <ChoiceButton testid="btn-domain-join"
                title=t(Text::JoinDomain) detail=t(Text::JoinDomainDetail)
                on_choose=Callback::new(move |_| controller.choose_other(OtherChoice::DomainJoin)) />
        </div>
        {match back {
            Some(back) => view! { <ActionRow back=back /> }.into_any(),
            None => view! { <ActionRow /> }.into_any(),
        }}
    }
}
