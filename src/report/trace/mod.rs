//! Renderers for one assembled [`Trace`](crate::trace::Trace): a terminal waterfall, the JSON
//! contract, the service graph as Graphviz DOT or Mermaid, a self-contained HTML page, and
//! `collect`'s one line per finished trace. Every human-readable format escapes control
//! characters in received strings ([`crate::report::escape_control`]); JSON is escaped by
//! serde.

mod graph;
mod html;
mod json;
mod line;
mod tree;

pub use graph::{dot, mermaid};
pub use html::html;
pub use json::{json, json_value};
pub use line::finished_line;
pub use tree::tree;

#[cfg(test)]
mod tests;
