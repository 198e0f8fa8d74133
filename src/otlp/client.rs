//! Fetch traces from a backend (placeholder, filled in below).
