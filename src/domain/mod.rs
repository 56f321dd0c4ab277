//! The domain: processes, inputs, releases and approvals. Pure: no I/O, no Discord, no SQL.
//! Everything here is deterministic given its inputs (time comes in as an argument).

pub mod access;
pub mod approval;
pub mod audit;
pub mod clock;
pub mod delegation;
pub mod duration;
pub mod ids;
pub mod inputs;
pub mod insight;
pub mod planning;
pub mod principal;
pub mod process;
pub mod process_file;
pub mod release;
pub mod risk;
pub mod secrets;
pub mod template;

pub use clock::{Clock, SharedClock};
pub use duration::HumanDuration;
pub use ids::{ChannelId, GuildId};
pub use principal::{Principal, RoleRef, UserId};
pub use process::Process;
pub use release::{Release, ReleaseId};
