//! Approve / Reject / Mark done buttons. Custom ids are `tm:approve:<release>:<activity>`,
//! `tm:reject:…` and `tm:done:…`: all the state lives in the database, so buttons keep working
//! after a restart.

use super::{actor_of, guild_of, reasons, render, BotError, Data};
use crate::domain::release::ReleaseId;
use crate::domain::GuildId;
use poise::serenity_prelude as serenity;

use super::custom_id::CustomId;
pub use super::custom_id::Decision;

/// The custom id of a request's button: which request, and which of an approval's levels.
pub fn custom_id(decision: Decision, release: ReleaseId, level: u32, activity: &str) -> String {
    CustomId::Request { decision, release, level, activity: activity.to_string() }.to_string()
}

fn parse_custom_id(id: &str) -> Option<(Decision, ReleaseId, u32, String)> {
    match id.parse() {
        Ok(CustomId::Request { decision, release, level, activity }) => Some((decision, release, level, activity)),
        _ => None,
    }
}

/// Handles a button click: decides, then answers the clicker ephemerally. Reject first asks why,
/// in a modal (after checking the clicker may decide at all).
pub async fn on_component(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    if let Some((Decision::Reject, release, level, activity)) = parse_custom_id(&click.data.custom_id) {
        let response = match may_reject(ctx, data, click, release, &activity).await {
            Ok(()) => reject_modal(release, level, &activity),
            Err(e) => reasons::answer(Err(e), "a Reject click", &super::names_in(&ctx.cache, click.guild_id)),
        };
        if let Err(e) = click.create_response(&ctx.http, response).await {
            tracing::error!(error = %e, "cannot answer a Reject click");
        }
        return;
    }
    let (answer, decided) = match decide(ctx, data, click).await {
        Ok(done) => (Ok(done.answer), done.edit),
        Err(e) => (Err(e), None),
    };
    if let Err(e) =
        click.create_response(&ctx.http, reasons::answer(answer, "a button click", &super::names_in(&ctx.cache, click.guild_id))).await
    {
        tracing::error!(error = %e, "cannot answer a button click");
    }
    // The answer went first (Discord's 3-second window); then everyone sees who decided.
    if let Some(edit) = decided {
        show_decision(ctx, &click.message, edit).await;
    }
}

/// The rejection's reason was submitted: reject, answer, and show it on the approval message.
pub async fn on_reject_modal(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) {
    let (answer, decided) = match reject_with_reason(ctx, data, submit).await {
        Ok(done) => (Ok(done.answer), done.edit),
        Err(e) => (Err(e), None),
    };
    if let Err(e) =
        submit.create_response(&ctx.http, reasons::answer(answer, "a rejection", &super::names_in(&ctx.cache, submit.guild_id))).await
    {
        tracing::error!(error = %e, "cannot answer a rejection");
    }
    if let (Some(edit), Some(message)) = (decided, submit.message.as_deref()) {
        show_decision(ctx, message, edit).await;
    }
}

async fn reject_with_reason(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) -> Result<Done, BotError> {
    let Ok(CustomId::RejectReason { release, level, activity }) = submit.data.custom_id.parse() else {
        return Err(BotError::User("This form is not one Trainmaster made.".into()));
    };
    let activity = activity.as_str();
    let reason = reasons::reason_of(submit);
    let guild_id = guild_of(submit.guild_id)?;
    let actor = actor_of(ctx, submit.guild_id, &submit.user, submit.member.as_ref()).await;
    let release = data.engine.reject(guild_id, &actor, release, activity, &reason).await?;
    let answer = format!("Rejected: release {} is stopped ({}).", release.id, release.status.in_words().to_lowercase());
    let request = submit.message.as_deref().map(|m| m.content.clone()).unwrap_or_default();
    Ok(Done { answer, edit: render::decided_approval(&request, &release, activity, level, data.engine.now()) })
}

async fn may_reject(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    release: ReleaseId,
    activity: &str,
) -> Result<(), BotError> {
    let guild_id = guild_of(click.guild_id)?;
    let actor = actor_of(ctx, click.guild_id, &click.user, click.member.as_ref()).await;
    Ok(data.engine.may_decide(guild_id, &actor, release, activity).await?)
}

fn reject_modal(release: ReleaseId, level: u32, activity: &str) -> serenity::CreateInteractionResponse {
    let custom_id = CustomId::RejectReason { release, level, activity: activity.to_string() }.to_string();
    reasons::ask_why(custom_id, &format!("Reject {activity} of release {release}"), "Why? (the team and the audit trail see it)")
}

async fn show_decision(ctx: &serenity::Context, message: &serenity::Message, edit: serenity::EditMessage) {
    if let Err(e) = message.channel_id.edit_message(&ctx.http, message.id, edit).await {
        tracing::warn!(error = %e, message = %message.id, "cannot show the decision on the approval message");
    }
}

/// What a click did: the clicker's answer, and the edit of the clicked message, if any.
struct Done {
    answer: String,
    edit: Option<serenity::EditMessage>,
}

impl From<String> for Done {
    fn from(answer: String) -> Self {
        Self { answer, edit: None }
    }
}

async fn decide(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) -> Result<Done, BotError> {
    let Some((decision, release, level, activity)) = parse_custom_id(&click.data.custom_id) else {
        return Err(BotError::User("This button is not one of Trainmaster's.".into()));
    };
    let activity = activity.as_str();
    let guild_id = click.guild_id.ok_or_else(|| BotError::User("Approvals happen in a server.".into()))?;
    let actor = actor_of(ctx, Some(guild_id), &click.user, click.member.as_ref()).await;
    match decision {
        Decision::Approve => {
            let (release, progress) = data.engine.approve(GuildId(guild_id.get()), &actor, release, activity).await?;
            let level_words = if progress.level.is_empty() { String::new() } else { format!(", level {}", progress.level) };
            let answer = if progress.complete {
                format!("Approved: `{activity}` of release {} has all its approvals and the release goes on.", release.id)
            } else {
                format!("Approval counted: {} of {} for `{activity}`{level_words}.", progress.approvals, progress.min)
            };
            Ok(Done { answer, edit: render::decided_approval(&click.message.content, &release, activity, level, data.engine.now()) })
        }
        // Answered with the reason modal in `on_component`.
        Decision::Reject => Err(BotError::User("Rejecting needs a reason; click Reject again.".into())),
        Decision::Done => {
            let release = data.engine.mark_done(GuildId(guild_id.get()), &actor, release, activity).await?;
            let answer = format!("Marked done: `{activity}` of release {}; the release goes on.", release.id);
            let done_by = format!("Done by {}", actor.display_name);
            let components = render::closed_request(release.id, activity, &done_by, serenity::ButtonStyle::Success);
            let edit = serenity::EditMessage::new().components(components).allowed_mentions(serenity::CreateAllowedMentions::new());
            Ok(Done { answer, edit: Some(edit) })
        }
        Decision::Decided => Ok("This approval is already decided.".to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_buttons_carry_their_level() {
        let id = custom_id(Decision::Reject, ReleaseId(42), 2, "qa-approval");
        assert_eq!(parse_custom_id(&id), Some((Decision::Reject, ReleaseId(42), 2, "qa-approval".to_string())));
        assert_eq!(parse_custom_id("tm:approve:x:y"), None);
        assert_eq!(parse_custom_id("tm:card:hold:1"), None, "not a request's button");
    }
}
