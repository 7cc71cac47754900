//! Kustomizations: the transformer file secret-rollout keeps beside one.
