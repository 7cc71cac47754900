//! Secrets and ConfigMaps a pod reads that the stream does not hold, below
//! it in precedence: [`files`] given with `--secrets-from`, then what
//! [`lookup`] fetches from the cluster.

pub mod files;
pub mod lookup;
