//! Questions answered from models: [`explain`] (which pods roll if I rotate
//! this Secret?) and [`diff`] (what will this upgrade roll, and why?).

pub mod diff;
pub mod explain;
