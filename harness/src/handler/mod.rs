//! Termination handlers: programs that poll IMDS for a notice (a Spot interruption, a
//! rebalance recommendation, scheduled maintenance, an Auto Scaling lifecycle state) and
//! act on it. `imds-harness exec --notice-within N` runs one through a schedule with a
//! `notice` step and says whether it noticed within N, and how long it took.
//!
//! - `seen.rs`: when the program first saw the notice ([`first_notice_seen`]; the
//!   definition of "saw" is there) and the time to notice.
//! - `verdict.rs`: [`NoticeVerdict`], noticed within the bound or not.

mod seen;
mod verdict;

pub use seen::{first_notice_seen, notice_path, NoticeSeen};
pub use verdict::NoticeVerdict;
