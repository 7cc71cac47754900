//! What is special about each way secret-rollout runs: under Helm
//! ([`helm`]), as a kustomize KRM function or legacy plugin ([`krm`]), and
//! as the generator of the files GitOps controllers apply: stamps as
//! kustomize patches ([`patch`]) kept in a HelmRelease ([`flux`]) or beside
//! a kustomization ([`kustomization`]), with the order Flux applies them
//! in checked ([`layout`]).

pub mod flux;
pub mod helm;
pub mod krm;
pub mod kustomization;
pub mod layout;
pub mod patch;
