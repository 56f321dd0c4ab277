//! Approve / Reject / Mark done buttons. Custom ids are `tm:approve:<release>:<activity>`,
//! `tm:reject:…` and `tm:done:…`: all the state lives in the database, so buttons keep working
//! after a restart.

use super::{actor_of, render, BotError, Data, INTERNAL_ERROR_TEXT};
use crate::domain::release::ReleaseId;
use poise::serenity_prelude as serenity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// A manual task is done.
    Done,
    /// The disabled button of a closed approval round; never clickable.
    Decided,
}

pub fn custom_id(decision: Decision, release: ReleaseId, activity: &str) -> String {
    let verb = match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
        Decision::Done => "done",
        Decision::Decided => "decided",
    };
    format!("tm:{verb}:{release}:{activity}")
}

fn parse_custom_id(id: &str) -> Option<(Decision, ReleaseId, &str)> {
    let mut parts = id.splitn(4, ':');
    if parts.next()? != "tm" {
        return None;
    }
    let decision = match parts.next()? {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "done" => Decision::Done,
        "decided" => Decision::Decided,
        _ => return None,
    };
    let release = parts.next()?.parse().ok()?;
    Some((decision, release, parts.next()?))
}

/// Handles a button click: decides, then answers the clicker ephemerally.
pub async fn on_component(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    let (answer, decided) = match decide(ctx, data, click).await {
        Ok(done) => (done.answer, done.edit),
        Err(BotError::User(text)) => (text, None),
        Err(BotError::Internal(e)) => {
            tracing::error!(error = ?e, custom_id = %click.data.custom_id, "button failed");
            (INTERNAL_ERROR_TEXT.to_string(), None)
        }
    };
    let reply = serenity::CreateInteractionResponseMessage::new()
        .content(answer)
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    if let Err(e) = click.create_response(&ctx.http, serenity::CreateInteractionResponse::Message(reply)).await {
        tracing::error!(error = %e, "cannot answer a button click");
    }
    // The answer went first (Discord's 3-second window); then everyone sees who decided.
    if let Some(edit) = decided {
        let message = &click.message;
        if let Err(e) = message.channel_id.edit_message(&ctx.http, message.id, edit).await {
            tracing::warn!(error = %e, message = %message.id, "cannot show the decision on the approval message");
        }
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
    let Some((decision, release, activity)) = parse_custom_id(&click.data.custom_id) else {
        return Err(BotError::User("This button is not one of Trainmaster's.".into()));
    };
    let guild_id = click.guild_id.ok_or_else(|| BotError::User("Approvals happen in a server.".into()))?;
    let actor = actor_of(ctx, Some(guild_id), &click.user, click.member.as_ref()).await;
    match decision {
        Decision::Approve => {
            let (release, progress) = data.engine.approve(guild_id.get(), &actor, release, activity).await?;
            let answer = if progress.approvals >= progress.min {
                format!("Approved: `{activity}` of release {} has its {} approval(s) and the release goes on.", release.id, progress.min)
            } else {
                format!("Approval counted: {} of {} for `{activity}`.", progress.approvals, progress.min)
            };
            Ok(Done { answer, edit: render::decided_approval(&click.message.content, &release, activity) })
        }
        Decision::Reject => {
            let release = data.engine.reject(guild_id.get(), &actor, release, activity).await?;
            let answer = format!("Rejected: release {} is stopped as {}.", release.id, release.status);
            Ok(Done { answer, edit: render::decided_approval(&click.message.content, &release, activity) })
        }
        Decision::Done => {
            let release = data.engine.mark_done(guild_id.get(), &actor, release, activity).await?;
            Ok(format!("Marked done: `{activity}` of release {}; the release goes on.", release.id).into())
        }
        Decision::Decided => Ok("This approval is already decided.".to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip() {
        let id = custom_id(Decision::Reject, ReleaseId(42), "qa-approval");
        assert_eq!(parse_custom_id(&id), Some((Decision::Reject, ReleaseId(42), "qa-approval")));
        assert_eq!(parse_custom_id("tm:approve:x:y"), None);
        assert_eq!(parse_custom_id("other"), None);
    }
}
