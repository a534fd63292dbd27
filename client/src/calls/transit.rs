//! Typed calls of the transit engine.

use crate::Client;

impl Client {}
