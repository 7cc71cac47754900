//! YAML as Go's decoder reads it, and the byte-exact edits we make to it:
//! [`stream`] splits a stream into documents and sniffs their kinds, [`tree`]
//! reads one document into a positioned tree, [`edit`] and [`splice`] change
//! bytes of the original text and copy every other byte as it was.

pub mod edit;
pub mod splice;
pub mod stream;
pub mod tree;
