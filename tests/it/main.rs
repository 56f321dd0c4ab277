//! Integration tests, one binary: end to end through the sandbox, the CLI, storage, the
//! registered commands and the Discord API contract.

mod approvals;
mod cards;
mod child;
mod cli;
mod clocked;
mod closing;
mod commands;
mod contract;
mod control;
mod discord_errors;
mod faults;
mod gateway;
mod governance;
mod group_commit;
mod guilds;
mod harness;
mod http_api;
mod http_hardening;
mod inputs;
mod insight;
mod listing;
mod operations;
mod planning;
mod processes;
mod proxy;
mod raw_requests;
mod readability;
mod recipes;
mod release_flow;
mod restart;
mod ssrf;
mod standins;
mod storage;
mod webhooks;
