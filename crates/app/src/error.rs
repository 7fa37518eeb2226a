//! Errors of the use cases. The messages of license and directory errors are Graph's exact texts
//! where Graph has one (graph-api.md §1.3, §2.1), because scripts match on them.

use skuld_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist (Graph 404 `Request_ResourceNotFound`).
    #[error("{0}")]
    NotFound(String),
    /// The request breaks a rule (Graph 400 `Request_BadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// The actor lacks the right (Graph 403 `Authorization_RequestDenied`).
    #[error("{0}")]
    Forbidden(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub(crate) fn not_found(key: &str) -> Self {
        AppError::NotFound(format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        ))
    }
    pub(crate) fn forbidden() -> Self {
        AppError::Forbidden("Insufficient privileges to complete the operation.".into())
    }
}
