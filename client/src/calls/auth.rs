//! Typed calls of the login endpoints: token, userpass, approle, cert.

use crate::Client;

impl Client {}
