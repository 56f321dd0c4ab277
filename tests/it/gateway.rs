//! The gateway connection troubled as Discord troubles it: op 7 reconnect, invalid sessions
//! (resumable or not) and a socket that just dies. The bot connects again; no release progress
//! is lost and nothing is posted twice.

use super::harness::*;
use trainmaster::sandbox::{GatewayFault, CHANNEL_ID};

#[tokio::test]
async fn reconnects_invalid_sessions_and_dropped_sockets_lose_no_release_progress() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    // Faults while the release runs: its first webhook and the approval request go on without
    // the gateway (REST and the outbox do not need it).
    let faults = [
        GatewayFault::Reconnect,
        GatewayFault::InvalidSession { resumable: true },
        GatewayFault::InvalidSession { resumable: false },
        GatewayFault::Drop,
    ];
    for fault in faults {
        let before = h.sandbox.identifies();
        h.sandbox.gateway_fault(fault)?;
        h.sandbox.wait_ready(before + 1).await.map_err(|e| anyhow::anyhow!("no new session after {fault:?}: {e}"))?;
    }
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    assert_eq!(h.receiver.calls().len(), 2, "branch-cut and deploy, once each");
    let thread = h.sandbox.threads(CHANNEL_ID);
    assert_eq!(thread.len(), 1, "one thread");
    let requests = h.sandbox.messages(thread[0]).iter().filter(|m| m.content().contains("Approval `qa-approval` needed")).count();
    assert_eq!(requests, 1, "the approval request is posted once");
    h.finish().await
}
