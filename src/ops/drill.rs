//! Drills (filled in below).
