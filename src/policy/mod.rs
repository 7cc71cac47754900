//! What is wrong, and how wrong: the policy file ([`config`], shown back by
//! [`effective`]), the rule catalogue ([`rule`]), findings ([`finding`]),
//! and the rules run over a stream's workloads ([`check`], with the
//! plaintext-credential rules in [`guard`] judged by [`sensitivity`]).

pub mod check;
pub mod config;
pub mod effective;
pub mod finding;
pub mod guard;
pub mod out;
pub mod rule;
pub mod sensitivity;
