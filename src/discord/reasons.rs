//! What the card controls and the Reject button share: a modal that asks why, reading its
//! answer, and the ephemeral answer to whoever clicked or submitted.

use super::{BotError, INTERNAL_ERROR_TEXT};
use poise::serenity_prelude as serenity;

const REASON_FIELD: &str = "reason";

/// A modal with one required "why" field (3 to 500 characters). Discord allows 45 characters of
/// title.
pub fn ask_why(custom_id: String, title: &str, label: &str) -> serenity::CreateInteractionResponse {
    let reason = serenity::CreateInputText::new(serenity::InputTextStyle::Paragraph, label, REASON_FIELD)
        .min_length(3)
        .max_length(500)
        .required(true);
    let modal = serenity::CreateModal::new(custom_id, super::render::truncate(title, 45))
        .components(vec![serenity::CreateActionRow::InputText(reason)]);
    serenity::CreateInteractionResponse::Modal(modal)
}

/// The reason typed into a modal made by `ask_why`, trimmed; empty when none was given.
pub fn reason_of(submit: &serenity::ModalInteraction) -> String {
    field_values(submit).into_iter().find(|(field, _)| field == REASON_FIELD).map(|(_, r)| r.trim().to_string()).unwrap_or_default()
}

/// Every text field of a submitted modal: (custom id, what was typed).
pub fn field_values(submit: &serenity::ModalInteraction) -> Vec<(String, String)> {
    submit
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|c| match c {
            serenity::ActionRowComponent::InputText(input) => Some((input.custom_id.clone(), input.value.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

/// What to tell the person: the text, a user error verbatim, or for an internal error (logged
/// with its cause chain and `what` failed) a short apology.
pub fn text_for(result: Result<String, BotError>, what: &str, names: &super::render::Names) -> String {
    match result {
        Ok(text) | Err(BotError::User(text)) => text,
        Err(BotError::Named(words)) => words(names),
        Err(BotError::Internal(e)) => {
            tracing::error!(error = ?e, what, "an interaction failed");
            INTERNAL_ERROR_TEXT.to_string()
        }
    }
}

/// An ephemeral answer, mentions off. Internal errors are logged and answered with an apology.
pub fn answer(result: Result<String, BotError>, what: &str, names: &super::render::Names) -> serenity::CreateInteractionResponse {
    let text = text_for(result, what, names);
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    serenity::CreateInteractionResponse::Message(message)
}
