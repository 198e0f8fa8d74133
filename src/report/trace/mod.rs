//! Renderers for one assembled [`Trace`](crate::trace::Trace): a terminal waterfall, the JSON
//! contract, the service graph as Graphviz DOT or Mermaid, a self-contained HTML page, and
//! `collect`'s one line per finished trace; for many traces, `trace list`'s table and the
//! pages of `collect`'s web UI. Every human-readable format escapes control characters in
//! received strings ([`crate::report::escape_control`]); JSON is escaped by serde.

pub mod clock;
mod graph;
mod html;
mod json;
mod line;
mod list;
mod tree;
mod ui;
mod waterfall;

pub use graph::{dot, mermaid};
pub use html::{html, html_with_back_link};
pub use json::{json, json_value};
pub use line::finished_line;
pub use list::{list_table, list_table_with};
pub use tree::{tree, tree_with};
pub use ui::{list_page, message_page, ListPage};

#[cfg(test)]
mod escape_tests;
#[cfg(test)]
mod tests;
