//! The trust boundary. The stream, `--secrets-from` files and cluster
//! answers are not ours: [`regular`] decides what a path may be before it
//! is read, and [`name`] what text of theirs a message may carry.

pub mod name;
pub mod regular;
