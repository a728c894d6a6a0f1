//! The server's stop signal: background tasks (job workers, connections) stop when it is
//! cancelled. tokio-util's `CancellationToken`, under the name the code has always used.

pub type Token = tokio_util::sync::CancellationToken;
