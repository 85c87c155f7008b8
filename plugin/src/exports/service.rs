//! What every call of a service does first: check that the connection enables it, and take
//! the state the instance keeps for it (caches), fresh when the account changed.

use crate::connection::{self, Connection};
use crate::docs::links;
use crate::http::WasiTransport;
use crate::wit_types::{Error, Service};
use std::sync::{Mutex, MutexGuard};

/// Runs `run` with the transport, the service's state and the connected account ID.
///
/// Kept small: it is instantiated for every exported function, so the work is in the helpers
/// below, which are not (or only per state type).
pub fn with_state<S: Default, T>(
    service: Service,
    state: &Mutex<(String, S)>,
    run: impl FnOnce(&WasiTransport, &mut S, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    let connection = enabled(service)?;
    let mut guard = state_for(state, &connection);
    run(&WasiTransport, &mut guard.1, &connection.account_id)
        .map_err(|error| linked(error, service))
}

/// The connection, when it enables `service`.
#[inline(never)]
fn enabled(service: Service) -> Result<Connection, Error> {
    let connection = connection::current()?;
    if !connection.has(service) {
        return Err(Error::ServiceDisabled(service));
    }
    Ok(connection)
}

/// The service's state, reset when the account changed.
fn state_for<'a, S: Default>(
    state: &'a Mutex<(String, S)>,
    connection: &Connection,
) -> MutexGuard<'a, (String, S)> {
    let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
    let (account, kept) = &mut *guard;
    if *account != connection.account_id {
        *account = connection.account_id.clone();
        *kept = S::default();
    }
    guard
}

/// The error with the documentation link for its kind and service.
#[inline(never)]
fn linked(mut error: Error, service: Service) -> Error {
    links::link_error(&mut error, Some(service));
    error
}
