//! Pages for what this rebuild does not cover: personal use, local account, domain join (they
//! say so plainly and offer Back), and the already-joined device.

use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::flow::{BackTo, OtherChoice};
use crate::i18n::{t, Text};

#[component]
pub fn NotCoveredPage(choice: OtherChoice, back: Option<BackTo>) -> impl IntoView {
    let controller = use_controller();
    let explanation = match choice {
        OtherChoice::Personal => Text::NotCoveredPersonal,
        OtherChoice::LocalAccount => Text::NotCoveredLocal,
        OtherChoice::DomainJoin => Text::NotCoveredDomain,
    };
    let back = back.map(|to| Callback::new(move |_| controller.go_back(to)));
    view! {
        <PageHeading name="local-account" text=t(Text::NotCoveredHeading) />
        <p class="intro" data-testid="not-covered-message">{t(explanation)}</p>
        {match back {
            Some(back) => view! { <ActionRow back=back /> }.into_any(),
            None => view! { <ActionRow /> }.into_any(),
        }}
    }
}

/// The host says the device is joined already: a second join is refused, so say so instead.
#[component]
pub fn AlreadyJoinedPage(device_id: String) -> impl IntoView {
    view! {
        <PageHeading name="already-joined" text=t(Text::AlreadyJoinedHeading) />
        <p class="intro">{t(Text::AlreadyJoinedDetail)}</p>
        <dl class="details">
            <dt>{t(Text::DeviceIdLabel)}</dt>
            <dd data-testid="joined-device-id">{device_id}</dd>
        </dl>
        <ActionRow />
    }
}
