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
    submit
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            serenity::ActionRowComponent::InputText(input) if input.custom_id == REASON_FIELD => input.value.clone(),
            _ => None,
        })
        .map(|r| r.trim().to_string())
        .unwrap_or_default()
}

/// An ephemeral answer, mentions off. Internal errors are logged and answered with an apology.
pub fn answer(result: Result<String, BotError>, what: &str) -> serenity::CreateInteractionResponse {
    let text = match result {
        Ok(text) | Err(BotError::User(text)) => text,
        Err(BotError::Internal(e)) => {
            tracing::error!(error = ?e, what, "an interaction failed");
            INTERNAL_ERROR_TEXT.to_string()
        }
    };
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    serenity::CreateInteractionResponse::Message(message)
}
