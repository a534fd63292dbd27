//! Typed calls of the database secrets engine: dynamic and static credentials.

use crate::Client;

impl Client {}
