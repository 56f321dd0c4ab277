//! Trainmaster: release orchestration that lives in Discord.
//!
//! `domain` is pure; `store`, `engine`, `webhook`, `discord` and `sandbox` are adapters around it.

pub mod domain;
pub mod engine;
pub mod store;
pub mod webhook;
