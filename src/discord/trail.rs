//! `/release log` pages: the audit trail newest first, one message a page, with ◀ Older and
//! Newer ▶ buttons whose custom ids carry the release and page (`tm:log:<release>:<page>`), so
//! they work after a restart. The answer is ephemeral, like every read.

use super::render::{self, AuditPage};
use super::{guild_of, reasons, BotError, Data};
use crate::domain::release::{Release, ReleaseId};
use crate::store::AuditRow;
use poise::serenity_prelude as serenity;

use super::custom_id::CustomId;

/// A page of `release`'s trail with its buttons: ◀ Older and Newer ▶ when there are pages, and
/// one to show or hide each entry's details.
pub fn page(release: &Release, rows: &[AuditRow], page: usize, details: bool) -> (String, Vec<serenity::CreateActionRow>) {
    let AuditPage { text, page, pages } = render::audit_log(release, rows, page, details);
    let button = |to: usize, details: bool, label: &str, disabled: bool| {
        serenity::CreateButton::new(CustomId::LogPage { release: release.id, page: to, details }.to_string())
            .label(label)
            .style(serenity::ButtonStyle::Secondary)
            .disabled(disabled)
    };
    let mut row = vec![];
    if pages > 1 {
        // Older points one page further, Newer one page back (to page 0 itself when disabled on
        // page 0): their custom ids always differ, as Discord requires within a message.
        row.push(button(page + 1, details, "◀ Older", page + 1 >= pages));
        row.push(button(page.saturating_sub(1), details, "Newer ▶", page == 0));
    }
    // Details re-open the newest page: the entries per page change with them.
    row.push(button(0, !details, if details { "Hide details" } else { "Show details" }, false));
    (text, vec![serenity::CreateActionRow::Buttons(row)])
}

fn parse(custom_id: &str) -> Option<(ReleaseId, usize, bool)> {
    match custom_id.parse() {
        Ok(CustomId::LogPage { release, page, details }) => Some((release, page, details)),
        _ => None,
    }
}

/// ◀ Older / Newer ▶: the log message is replaced by the asked-for page.
pub async fn on_page(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    let response = match page_for(ctx, data, click).await {
        Ok((text, buttons)) => serenity::CreateInteractionResponse::UpdateMessage(
            serenity::CreateInteractionResponseMessage::new()
                .content(text)
                .components(buttons)
                .allowed_mentions(serenity::CreateAllowedMentions::new()),
        ),
        Err(e) => reasons::answer(Err(e), "a log page", &super::names_in(&ctx.cache, click.guild_id)),
    };
    if let Err(e) = click.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "cannot answer a log page button");
    }
}

async fn page_for(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(String, Vec<serenity::CreateActionRow>), BotError> {
    let (id, number, details) =
        parse(&click.data.custom_id).ok_or_else(|| BotError::User("This log button is not one Trainmaster made.".into()))?;
    let guild_id = guild_of(click.guild_id)?;
    super::may_view(ctx, data, click.guild_id, &click.user, click.member.as_ref()).await?;
    let (release, rows) = data.engine.audit_trail(guild_id, id).await?;
    Ok(page(&release, &rows, number, details))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_buttons_carry_release_and_page() {
        assert_eq!(parse("tm:log:42:3"), Some((ReleaseId(42), 3, false)));
        assert_eq!(parse("tm:log:42:3:details"), Some((ReleaseId(42), 3, true)));
        assert_eq!(parse("tm:log:42:newest"), None, "a page is a number");
        assert_eq!(parse("tm:list:1"), None);
    }
}
