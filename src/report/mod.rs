//! Output formats shared by all commands. Renderers turn library types into text; they never
//! decide verdicts.

pub mod check;
pub mod coverage;
pub mod escape;
pub mod term;
pub mod trace;
pub mod verify;

pub use escape::escape_control;
