//! The bounded writer of the drills.
