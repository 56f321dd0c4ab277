#![recursion_limit = "256"]
//! Trainmaster: release orchestration that lives in Discord.
//!
//! `domain` is pure; `store`, `engine`, `webhook`, `discord` and `sandbox` are adapters around it.

pub mod app;
pub mod bench;
pub mod config;
pub mod demo;
pub mod discord;
pub mod domain;
pub mod engine;
pub mod http;
pub mod picture;
pub mod sandbox;
pub mod store;
pub mod webhook;
