//! `/release create` without some required inputs: a modal asks for them (Discord allows five
//! fields per modal; with more missing, the command names them all for the `inputs` text
//! instead). The half-made request waits in memory for 15 minutes, as long as Discord keeps an
//! interaction's token; a restart forgets it and the submitter is told to run the command again.
//! A submit that fails validation keeps what was typed: the answer has a button that opens the
//! form again, filled in.

use super::{actor_of, guild_of, reasons, render, BotError, Data};
use crate::domain::process::{InputSpec, InputType};
use crate::engine::NewRelease;
use poise::serenity_prelude as serenity;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Custom id prefixes: the form (`tm:inputs:<key>`) and its "fill in again" button.
use super::custom_id::CustomId;
/// Discord's limit of fields in one modal.
pub const FIELDS_PER_FORM: usize = 5;
const KEPT_FOR: Duration = Duration::from_secs(15 * 60);

fn expired() -> BotError {
    BotError::User("This form has expired (forms last 15 minutes, and not across a restart); run `/release create` again.".into())
}

/// A create waiting for its form: the request, the asked inputs and what was last typed.
#[derive(Debug, Clone)]
struct Pending {
    user: u64,
    new: NewRelease,
    asked: Vec<InputSpec>,
    typed: Vec<(String, String)>,
    since: Instant,
}

#[derive(Debug, Default)]
pub struct PendingCreates(Mutex<HashMap<String, Pending>>);

impl PendingCreates {
    fn put(&self, key: &str, pending: Pending) {
        let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.retain(|_, p| p.since.elapsed() < KEPT_FOR);
        map.insert(key.to_string(), pending);
    }

    fn take(&self, key: &str) -> Option<Pending> {
        let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.remove(key).filter(|p| p.since.elapsed() < KEPT_FOR)
    }

    fn get(&self, key: &str) -> Option<Pending> {
        let map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(key).filter(|p| p.since.elapsed() < KEPT_FOR).cloned()
    }
}

/// The form for `missing` (at most five), remembered under `key` (the command's interaction id).
pub fn ask(data: &Data, key: &str, user: u64, new: NewRelease, missing: Vec<InputSpec>) -> serenity::CreateInteractionResponse {
    let pending = Pending { user, new, asked: missing, typed: vec![], since: Instant::now() };
    let response = form(key, &pending);
    data.pending_creates.put(key, pending);
    response
}

fn form(key: &str, pending: &Pending) -> serenity::CreateInteractionResponse {
    let title = format!("Inputs for {}", pending.new.process);
    let rows = pending
        .asked
        .iter()
        .take(FIELDS_PER_FORM)
        .map(|spec| {
            let style =
                if matches!(spec.ty, InputType::Text) { serenity::InputTextStyle::Paragraph } else { serenity::InputTextStyle::Short };
            let mut field = serenity::CreateInputText::new(style, render::truncate(&spec.name, 45), &spec.name)
                .placeholder(render::truncate(&hint(spec), 100))
                .max_length(4000)
                .required(true);
            if let Some((_, typed)) = pending.typed.iter().find(|(k, _)| *k == spec.name) {
                field = field.value(typed.clone());
            }
            serenity::CreateActionRow::InputText(field)
        })
        .collect();
    serenity::CreateInteractionResponse::Modal(
        serenity::CreateModal::new(CustomId::InputsForm { key: key.to_string() }.to_string(), render::truncate(&title, 45))
            .components(rows),
    )
}

/// What to type, as the placeholder: the description, else the type.
fn hint(spec: &InputSpec) -> String {
    if let Some(d) = &spec.description {
        return d.clone();
    }
    match &spec.ty {
        InputType::Choice { options } => format!("one of {}", options.join(", ")),
        InputType::List => "comma-separated, like api,web".into(),
        InputType::Datetime => "like 2026-11-30 18:00".into(),
        InputType::Duration => "like 2h or 1h30m".into(),
        InputType::Bool => "true or false".into(),
        InputType::Number => "a number".into(),
        InputType::String | InputType::Text => String::new(),
    }
}

/// The form was submitted: create the release with what was typed, or say what is wrong and
/// offer the form again, filled in.
pub async fn on_submit(ctx: &serenity::Context, data: &Data, submit: &serenity::ModalInteraction) {
    let key = match submit.data.custom_id.parse() {
        Ok(CustomId::InputsForm { key }) => key,
        _ => String::new(),
    };
    let response = match create(ctx, data, submit, &key).await {
        Ok((card, note)) => {
            // Only for its creator, as `/release create` answers.
            let message = serenity::CreateInteractionResponseMessage::new()
                .embed(card)
                .allowed_mentions(serenity::CreateAllowedMentions::new())
                .ephemeral(true)
                .content(note);
            serenity::CreateInteractionResponse::Message(message)
        }
        Err((e, true)) => {
            let again = serenity::CreateButton::new(CustomId::InputsAgain { key: key.clone() }.to_string())
                .label("Fill in again")
                .style(serenity::ButtonStyle::Primary);
            match reasons::answer(Err(e), "a create form", &super::names_in(&ctx.cache, submit.guild_id)) {
                serenity::CreateInteractionResponse::Message(m) => {
                    serenity::CreateInteractionResponse::Message(m.components(vec![serenity::CreateActionRow::Buttons(vec![again])]))
                }
                other => other,
            }
        }
        Err((e, false)) => reasons::answer(Err(e), "a create form", &super::names_in(&ctx.cache, submit.guild_id)),
    };
    if let Err(e) = submit.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "cannot answer a create form");
    }
}

/// Creates the release; an error says whether the form can be filled in again.
async fn create(
    ctx: &serenity::Context,
    data: &Data,
    submit: &serenity::ModalInteraction,
    key: &str,
) -> Result<(serenity::CreateEmbed, String), (BotError, bool)> {
    // Only the person who ran the command may submit (and so use up) their form.
    data.pending_creates.get(key).filter(|p| p.user == submit.user.id.get()).ok_or_else(|| (expired(), false))?;
    let mut pending = data.pending_creates.take(key).ok_or_else(|| (expired(), false))?;
    pending.typed = reasons::field_values(submit);
    let guild_id = guild_of(submit.guild_id).map_err(|e| (e, false))?;
    let mut new = pending.new.clone();
    new.guild_id = guild_id;
    new.inputs.retain(|(k, _)| !pending.typed.iter().any(|(t, _)| t == k));
    new.inputs.extend(pending.typed.iter().cloned());
    let actor = actor_of(ctx, submit.guild_id, &submit.user, submit.member.as_ref()).await;
    match data.engine.create_release(&actor, new).await {
        Ok(release) => {
            let card = super::card_for(&ctx.cache, data, submit.guild_id, &release, render::Detail::Live).await.map_err(|e| (e, false))?;
            Ok((card, render::draft_card_note(&release)))
        }
        Err(e) => {
            pending.since = Instant::now();
            data.pending_creates.put(key, pending);
            Err((e.into(), true))
        }
    }
}

/// "Fill in again": the form once more, with what was typed.
pub async fn on_again(ctx: &serenity::Context, data: &Data, click: &serenity::ComponentInteraction) {
    let key = match click.data.custom_id.parse() {
        Ok(CustomId::InputsAgain { key }) => key,
        _ => String::new(),
    };
    let key = key.as_str();
    let response = match data.pending_creates.get(key).filter(|p| p.user == click.user.id.get()) {
        Some(pending) => form(key, &pending),
        None => reasons::answer(Err(expired()), "a create form", &super::names_in(&ctx.cache, click.guild_id)),
    };
    if let Err(e) = click.create_response(&ctx.http, response).await {
        tracing::error!(error = %e, "cannot reopen a create form");
    }
}
