//! Notices: what EC2 and Auto Scaling tell an instance about its future (a Spot
//! interruption, a rebalance recommendation, scheduled maintenance, a target lifecycle
//! state), posted by a schedule step (`notice = "spot-interruption(terminate, 2m)"`), the
//! control API (`POST /notice`, `mock-imds ctl notice …`) or the library
//! ([`crate::MockImds::post_notice`]), stamped on the mock's virtual clock and logged
//! as `notice` events. They are metadata leaves like any other, so faults apply to them
//! (`status(500) on path(/latest/meta-data/spot/*)`).
//!
//! | file | concern |
//! |---|---|
//! | `syntax.rs` | [`Notice`] and its text; [`ParseNoticeError`] |
//! | `board.rs` | [`NoticeBoard`]: the notices in force and the leaves (paths, bodies) they add |

mod board;
mod syntax;

pub use board::NoticeBoard;
pub use syntax::{
    Notice, ParseNoticeError, SpotAction, LIFECYCLE_STATES, MAINTENANCE_CODES, MAINTENANCE_LEAD,
    MAINTENANCE_WINDOW, SPOT_LEAD,
};
