//! YAML as Go's decoder reads it, and the byte-exact edits we make to it:
//! [`stream`] splits a stream into documents and sniffs their kinds, [`tree`]
//! reads one document into a positioned tree, and [`write`] makes every byte
//! we write: it changes bytes of the original text and copies every other
//! byte as it was.

pub mod stream;
pub mod tree;
pub mod write;
