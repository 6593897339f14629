//! How each op is answered: reads execute here against the tree; writes are prepared
//! and applied by [`crate::pipeline`] and their results encoded by [`reply`].

pub mod read;
pub mod reply;
pub mod set_watches;
