//! Kubernetes objects, read from YAML trees into plain owned facts: their
//! kinds ([`gvk`]), what the stream holds ([`inventory`]), which objects run
//! pods ([`workload`]) and what those consume ([`reference`]), the digests
//! and stamps of what they consume ([`digest`], [`stamp`]), what to read of
//! each document ([`plan`]), and where a person finds an object ([`place`]).

pub mod digest;
pub mod gvk;
pub mod inventory;
pub mod place;
pub mod plan;
pub mod reference;
pub mod stamp;
pub mod workload;
