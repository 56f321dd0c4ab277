//! The buttons on a release card: Hold, Resume, Abort. Hold and Abort ask for a reason in a
//! modal first (it goes to the audit trail and the thread); Resume acts at once. Who may is
//! decided by the engine (the process's release manager or the release's creator), the same
//! rule as `/release hold|resume|abort`; a refusal is ephemeral.
//!
//! Custom ids: buttons `tm:card:<verb>:<release>`, modals `tm:why:<verb>:<release>`.

use super::{actor_of, guild_of, reasons, render, BotError, Data};
use crate::domain::release::{Release, ReleaseId, ReleaseStatus};
use crate::engine::Control;
use poise::serenity_prelude as serenity;

use super::custom_id::{CustomId, Verb};

fn parse(custom_id: &str, modal: bool) -> Option<(Verb, ReleaseId)> {
    match (custom_id.parse(), modal) {
        (Ok(CustomId::Card { verb, release }), false) | (Ok(CustomId::CardReason { verb, release }), true) => Some((verb, release)),
        _ => None,
    }
}

/// The card's buttons for the release as it is: none once it has ended.
pub fn buttons(release: &Release) -> Vec<serenity::CreateActionRow> {
    let button = |verb: Verb, label: &str, style| {
        serenity::CreateButton::new(CustomId::Card { verb, release: release.id }.to_string()).label(label).style(style)
    };
    let row = match release.status {
        ReleaseStatus::Running => {
            vec![button(Verb::Hold, "Hold", serenity::ButtonStyle::Secondary), button(Verb::Abort, "Abort", serenity::ButtonStyle::Danger)]
        }
        ReleaseStatus::OnHold => {
            vec![
                button(Verb::Resume, "Resume", serenity::ButtonStyle::Primary),
                button(Verb::Abort, "Abort", serenity::ButtonStyle::Danger),
            ]
        }
        _ => return vec![],
    };
    vec![serenity::CreateActionRow::Buttons(row)]
}

/// A click on a card button: Resume acts; Hold and Abort open the reason modal.
pub async fn on_button(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    let names = super::names_in(&ctx.cache, click.guild_id);
    let response = match parse(&click.data.custom_id, false) {
        Some((Verb::Resume, release)) => {
            let guild = click.guild_id;
            let actor = actor_of(ctx, guild, &click.user, click.member.as_ref()).await;
            let result = match guild_of(guild) {
                Ok(guild_id) => data.engine.control(guild_id, &actor, release, Control::Resume).await.map_err(BotError::from),
                Err(e) => Err(e),
            };
            answer(result.map(|r| format!("Resumed release {}: it is {} again.", r.id, r.status.in_words().to_lowercase())), &names)
        }
        Some((verb, release)) => match may_open(ctx, data, click, verb, release).await {
            Err(refusal) => answer(Err(refusal), &names),
            Ok(()) => reason_modal(verb, release),
        },
        None => answer(Err(BotError::User("This button is not one Trainmaster made.".into())), &names),
    };
    if let Err(e) = click.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "cannot answer a card button");
    }
}

/// Refuses at the click, before anyone types a reason for nothing: who may, and whether the
/// release can still be held or aborted (a click on a card a client still shows with buttons).
async fn may_open(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    verb: Verb,
    id: ReleaseId,
) -> Result<(), BotError> {
    let guild_id = guild_of(click.guild_id)?;
    let actor = actor_of(ctx, click.guild_id, &click.user, click.member.as_ref()).await;
    // The reason is not known yet; any reason would do for the check.
    let reason = "(to be typed)".to_string();
    let command = match verb {
        Verb::Hold => Control::Hold { reason },
        Verb::Abort => Control::Abort { reason },
        Verb::Resume => Control::Resume,
    };
    Ok(data.engine.may_apply(guild_id, &actor, id, &command).await?)
}

fn reason_modal(verb: Verb, release: ReleaseId) -> serenity::CreateInteractionResponse {
    let title = match verb {
        Verb::Hold => format!("Hold release {release}"),
        _ => format!("Abort release {release}"),
    };
    reasons::ask_why(CustomId::CardReason { verb, release }.to_string(), &title, "Why? (audit trail and thread)")
}

/// The reason modal was submitted: hold or abort, with that reason.
pub async fn on_modal(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) {
    let result = apply_modal(ctx, data, submit).await;
    if let Err(e) = submit.create_response(&ctx.http, answer(result, &super::names_in(&ctx.cache, submit.guild_id))).await {
        tracing::error!(error = %e, "cannot answer a reason modal");
    }
}

async fn apply_modal(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) -> Result<String, BotError> {
    let (verb, release) =
        parse(&submit.data.custom_id, true).ok_or_else(|| BotError::User("This form is not one Trainmaster made.".into()))?;
    let reason =
        Some(reasons::reason_of(submit)).filter(|r| !r.is_empty()).ok_or_else(|| BotError::User("A reason is required.".into()))?;
    let guild_id = guild_of(submit.guild_id)?;
    let actor = actor_of(ctx, submit.guild_id, &submit.user, submit.member.as_ref()).await;
    let command = match verb {
        Verb::Hold => Control::Hold { reason },
        Verb::Abort => Control::Abort { reason },
        Verb::Resume => Control::Resume,
    };
    let release = data.engine.control(guild_id, &actor, release, command).await?;
    Ok(format!("Release {} is now {}.", release.id, release.status.in_words().to_lowercase()))
}

fn answer(result: Result<String, BotError>, names: &render::Names) -> serenity::CreateInteractionResponse {
    reasons::answer(result, "a card control", names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_name_the_verb_and_release() {
        assert_eq!(parse("tm:card:abort:12", false), Some((Verb::Abort, ReleaseId(12))));
        assert_eq!(parse("tm:why:hold:7", true), Some((Verb::Hold, ReleaseId(7))));
        assert_eq!(parse("tm:card:explode:7", false), None);
        assert_eq!(parse("tm:card:hold:x", false), None);
        assert_eq!(parse("tm:why:hold:7", false), None, "a modal's id is not a button's");
    }
}
