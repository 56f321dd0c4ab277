//! `/release list`: a guild's releases, filtered, ten to a page, with Previous / Next buttons.
//! The list is ephemeral (a personal view, not channel noise); the buttons carry the page and
//! filters in their custom id (`tm:list:<page>:<status|*>:<mine 0|1>:<process>`), so paging needs
//! no server-side session and survives a restart.

use super::render::{inert, truncate};
use super::{guild_of, BotError, Context, Data};
use crate::domain::release::ReleaseStatus;
use crate::domain::UserId;
use crate::store::{ReleaseFilter, ReleasePage};
use poise::serenity_prelude as serenity;

use super::custom_id::{CustomId, ListPage};
const PER_PAGE: u32 = 10;
/// Discord's limit on an embed description.
const DESCRIPTION_LIMIT: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum StatusChoice {
    Draft,
    Running,
    #[name = "On hold"]
    OnHold,
    #[name = "Shipped"]
    Success,
    #[name = "Partly shipped"]
    PartialSuccess,
    Failed,
    Aborted,
}

impl From<StatusChoice> for ReleaseStatus {
    fn from(choice: StatusChoice) -> Self {
        match choice {
            StatusChoice::Draft => ReleaseStatus::Draft,
            StatusChoice::Running => ReleaseStatus::Running,
            StatusChoice::OnHold => ReleaseStatus::OnHold,
            StatusChoice::Success => ReleaseStatus::Success,
            StatusChoice::PartialSuccess => ReleaseStatus::PartialSuccess,
            StatusChoice::Failed => ReleaseStatus::Failed,
            StatusChoice::Aborted => ReleaseStatus::Aborted,
        }
    }
}

/// A list request: filters as typed, and which page (the list buttons' custom id carries it).
type Query = ListPage;

impl Query {
    fn custom_id(&self, page: u32) -> Option<String> {
        CustomId::ListPage(ListPage { page, ..self.clone() }).encode()
    }

    fn parse(custom_id: &str) -> Option<Self> {
        match custom_id.parse() {
            Ok(CustomId::ListPage(query)) => Some(query),
            _ => None,
        }
    }

    fn filter(&self, user: UserId) -> ReleaseFilter {
        ReleaseFilter { status: self.status, process: self.process.clone(), user: self.mine.then_some(user) }
    }
}

/// List this server's releases, newest first
#[poise::command(slash_command, guild_only)]
pub async fn list(
    ctx: Context<'_>,
    #[description = "Only releases with this status"] status: Option<StatusChoice>,
    #[description = "Only releases of this process"]
    #[max_length = 60]
    #[autocomplete = "super::autocomplete::process"]
    process: Option<String>,
    #[description = "Only releases you created or started"] mine: Option<bool>,
) -> Result<(), BotError> {
    let guild_id = guild_of(ctx.guild_id())?;
    let query = Query { page: 0, status: status.map(Into::into), mine: mine.unwrap_or(false), process };
    super::author_may_view(&ctx).await?;
    let page = ctx.data().engine.list_releases(guild_id, &query.filter(UserId(ctx.author().id.get())), 0, PER_PAGE).await?;
    let (embed, buttons) = render(&query, &page);
    ctx.send(poise::CreateReply::default().embed(embed).components(buttons).ephemeral(true)).await?;
    Ok(())
}

/// Handles Previous / Next: the list message is replaced by the asked-for page.
pub async fn on_page(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    let response = match page_for(ctx, data, click).await {
        Ok((embed, buttons)) => serenity::CreateInteractionResponse::UpdateMessage(
            serenity::CreateInteractionResponseMessage::new().embed(embed).components(buttons),
        ),
        Err(e) => super::reasons::answer(Err(e), "paging a release list", &super::names_in(&ctx.cache, click.guild_id)),
    };
    if let Err(e) = click.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "cannot answer a list page click");
    }
}

async fn page_for(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(serenity::CreateEmbed, Vec<serenity::CreateActionRow>), BotError> {
    let query =
        Query::parse(&click.data.custom_id).ok_or_else(|| BotError::User("This list button is not one Trainmaster made.".into()))?;
    let guild_id = guild_of(click.guild_id)?;
    super::may_view(ctx, data, click.guild_id, &click.user, click.member.as_ref()).await?;
    let page = data.engine.list_releases(guild_id, &query.filter(UserId(click.user.id.get())), query.page, PER_PAGE).await?;
    Ok(render(&query, &page))
}

fn render(query: &Query, page: &ReleasePage) -> (serenity::CreateEmbed, Vec<serenity::CreateActionRow>) {
    let pages = page.total.div_ceil(u64::from(PER_PAGE)).max(1) as u32;
    let mut filters = vec![];
    if let Some(status) = query.status {
        filters.push(format!("status {}", status.in_words().to_lowercase()));
    }
    if let Some(process) = &query.process {
        filters.push(format!("process `{}`", inert(process)));
    }
    if query.mine {
        filters.push("yours".to_string());
    }
    let title = if filters.is_empty() { "Releases".to_string() } else { format!("Releases: {}", filters.join(", ")) };
    let description = if page.releases.is_empty() {
        "No releases match. `/release create` makes one; fewer filters show more.".to_string()
    } else {
        let lines: Vec<String> = page
            .releases
            .iter()
            .map(|r| {
                format!(
                    "{} **{}** · {} · `{}` · {} · <t:{}:R>",
                    super::render::words::release_emoji(r.status),
                    r.id,
                    inert(&truncate(&r.name, 100)),
                    inert(&r.process),
                    r.status.in_words(),
                    r.created_at.timestamp()
                )
            })
            .collect();
        truncate(&lines.join("\n"), DESCRIPTION_LIMIT)
    };
    let embed = serenity::CreateEmbed::new()
        .title(truncate(&title, 256))
        .description(description)
        .footer(serenity::CreateEmbedFooter::new(format!("Page {} of {pages} · {} release(s)", query.page + 1, page.total)));
    let previous = query.custom_id(query.page.saturating_sub(1));
    let next = query.custom_id(query.page + 1);
    let buttons = match (previous, next) {
        (Some(previous), Some(next)) if pages > 1 => vec![serenity::CreateActionRow::Buttons(vec![
            serenity::CreateButton::new(previous).label("◀ Previous").style(serenity::ButtonStyle::Secondary).disabled(query.page == 0),
            serenity::CreateButton::new(next).label("Next ▶").style(serenity::ButtonStyle::Secondary).disabled(query.page + 1 >= pages),
        ])],
        _ => vec![],
    };
    (embed, buttons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_button_carries_its_filters_and_round_trips() {
        let query = Query { page: 3, status: Some(ReleaseStatus::OnHold), mine: true, process: Some("weekly:production".into()) };
        let id = query.custom_id(3).unwrap_or_default();
        assert_eq!(id, "tm:list:3:OnHold:1:weekly:production");
        assert_eq!(Query::parse(&id), Some(query));
        let all = Query { page: 0, status: None, mine: false, process: None };
        assert_eq!(Query::parse(&all.custom_id(1).unwrap_or_default()), Some(Query { page: 1, ..all }));
        assert_eq!(Query::parse("tm:list:x:*:0:"), None);
        assert_eq!(Query::parse("tm:list:1:Bogus:0:"), None);
    }

    #[test]
    fn a_process_name_too_long_for_a_custom_id_gets_no_page_buttons() {
        let query = Query { page: 0, status: None, mine: false, process: Some("p".repeat(95)) };
        assert_eq!(query.custom_id(1), None);
        let page = ReleasePage { releases: vec![], total: 25 };
        assert!(render(&query, &page).1.is_empty());
    }
}
