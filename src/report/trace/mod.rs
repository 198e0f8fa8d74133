//! Renderers for one assembled [`Trace`](crate::trace::Trace): a terminal waterfall, the JSON
//! contract, the service graph as Graphviz DOT or Mermaid, and a self-contained HTML page.

mod graph;
mod html;
mod json;
mod tree;

pub use graph::{dot, mermaid};
pub use html::html;
pub use json::{json, json_value};
pub use tree::tree;

#[cfg(test)]
mod tests;
