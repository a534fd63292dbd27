//! `sys/policies/password[/:name[/generate]]`: password policy CRUD and generation.
//!
//! Thin handlers over the [`PasswordPolicyStore`] (the ACL check happened before):
//!
//! * `GET :name` → `{"policy": "<text>"}` (404 when absent);
//! * `POST :name` with `policy` (HCL/JSON text, or base64 of it) → 204; an invalid
//!   policy is a 400 and nothing is stored;
//! * `DELETE :name` → 204 (also when absent);
//! * `LIST` → `{"keys": [...]}` (404 when there are none);
//! * `GET :name/generate` → `{"password": "..."}` (404 when the policy is absent).

use serde_json::{json, Map, Value};

use crate::barrier::BarrierError;
use crate::core::fields::opt_string;
use crate::core::request::{unknown_field_warning, LogicalResponse};
use crate::core::CoreError;
use crate::password::{PasswordError, PasswordPolicyStore};

const WRITE_FIELDS: &[&str] = &["policy"];

/// `GET sys/policies/password/:name`.
pub async fn read(store: &PasswordPolicyStore, name: &str) -> Result<LogicalResponse, CoreError> {
    let (text, _) = store
        .get(name)
        .await
        .map_err(core_error)?
        .ok_or(CoreError::NotFound)?;
    Ok(LogicalResponse::with_data(json!({ "policy": text })))
}

/// `POST sys/policies/password/:name`.
pub async fn write(
    store: &PasswordPolicyStore,
    name: &str,
    data: &Map<String, Value>,
) -> Result<LogicalResponse, CoreError> {
    let text = opt_string(data, "policy")?.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(CoreError::Invalid(multierror("missing policy")));
    }
    store.put(name, &text).await.map_err(core_error)?;
    let mut resp = LogicalResponse::empty();
    resp.warnings
        .extend(unknown_field_warning(data, WRITE_FIELDS));
    Ok(resp)
}

/// `DELETE sys/policies/password/:name`.
pub async fn delete(store: &PasswordPolicyStore, name: &str) -> Result<LogicalResponse, CoreError> {
    store.delete(name).await.map_err(core_error)?;
    Ok(LogicalResponse::empty())
}

/// `LIST sys/policies/password`.
pub async fn list(store: &PasswordPolicyStore) -> Result<LogicalResponse, CoreError> {
    let names = store.list().await.map_err(core_error)?;
    if names.is_empty() {
        return Err(CoreError::NotFound);
    }
    Ok(LogicalResponse::with_data(json!({ "keys": names })))
}

/// `GET sys/policies/password/:name/generate`.
pub async fn generate(
    store: &PasswordPolicyStore,
    name: &str,
) -> Result<LogicalResponse, CoreError> {
    let (_, policy) = store
        .get(name)
        .await
        .map_err(core_error)?
        .ok_or(CoreError::NotFound)?;
    let password = policy.generate().map_err(core_error)?;
    Ok(LogicalResponse::with_data(
        json!({ "password": password.as_str() }),
    ))
}

/// The store's failures as the core reports them: the client's mistakes are 400s with
/// their message (a policy that does not parse or validate in OpenBao's words);
/// storage keeps its own kind; the rest are internal (cause logged).
fn core_error(e: PasswordError) -> CoreError {
    match e {
        PasswordError::Barrier(e) => CoreError::Barrier(e),
        PasswordError::Rng => CoreError::Barrier(BarrierError::Rng),
        PasswordError::Corrupt(ref name) => {
            tracing::error!(policy = %name, "stored password policy is corrupt");
            CoreError::Barrier(BarrierError::Malformed("password policy entry"))
        }
        PasswordError::Syntax(message) => CoreError::Invalid(multierror(&format!(
            "invalid password policy: unable to decode: {message}"
        ))),
        PasswordError::Invalid(message) => CoreError::Invalid(invalid_policy(&message)),
        other => CoreError::Invalid(other.to_string()),
    }
}

/// Go's `multierror` rendering of one error, which OpenBao's `sys/policies/password`
/// answers with.
fn multierror(message: &str) -> String {
    format!("1 error occurred:\n\t* {message}\n\n")
}

/// A policy that parsed but is not valid, as OpenBao words it: the length check stands
/// alone; the other checks are nested under `invalid password policy`. Our validator's
/// messages for the checks OpenBao also makes are reworded to OpenBao's.
fn invalid_policy(message: &str) -> String {
    if message.starts_with("length must be between") {
        return multierror("passwords must be between 4 and 100 characters");
    }
    let inner = if message == "at least one charset rule is required"
        || message == "a charset must not be empty"
    {
        "no charset specified".to_string()
    } else if let Some((sum, length)) = message
        .strip_prefix("the min-chars of the rules add up to ")
        .and_then(|rest| rest.split_once(", more than the length "))
    {
        format!("specified rules require at least {sum} characters but {length} is specified")
    } else {
        message.to_string()
    };
    multierror(&format!("invalid password policy: {}", multierror(&inner)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::barrier::testing::unsealed_barrier;
    use crate::error::ErrorKind;

    const POLICY: &str = "length = 16\nrule \"charset\" {\n  charset = \"abcdef\"\n  min-chars = 2\n}\nrule \"charset\" {\n  charset = \"0123\"\n  min-chars = 2\n}\n";

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[tokio::test]
    async fn crud_and_generate() {
        let (barrier, _, _) = unsealed_barrier().await;
        let store = PasswordPolicyStore::new(barrier);

        let err = list(&store).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = read(&store, "p").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = generate(&store, "p").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);

        let resp = write(&store, "p", &body(json!({ "policy": POLICY, "bogus": 1 })))
            .await
            .unwrap();
        assert!(resp.data.is_none());
        assert_eq!(resp.warnings.len(), 1);

        let resp = read(&store, "p").await.unwrap();
        assert_eq!(resp.data, Some(json!({ "policy": POLICY })));
        let resp = list(&store).await.unwrap();
        assert_eq!(resp.data, Some(json!({ "keys": ["p"] })));

        let resp = generate(&store, "p").await.unwrap();
        let password = resp
            .data
            .as_ref()
            .and_then(|d| d.get("password"))
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        assert_eq!(password.len(), 16);
        assert!(password.chars().all(|c| "abcdef0123".contains(c)));

        delete(&store, "p").await.unwrap();
        delete(&store, "p").await.unwrap();
        assert_eq!(
            read(&store, "p").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn invalid_writes_are_400() {
        let (barrier, _, _) = unsealed_barrier().await;
        let store = PasswordPolicyStore::new(barrier);
        let err = write(&store, "p", &Map::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(err.to_string(), "1 error occurred:\n\t* missing policy\n\n");
        // OpenBao's words (observed against 2.7.2).
        let cases = [
            (
                "length = 2\nrule \"charset\" { charset = \"abc\" }",
                "1 error occurred:\n\t* passwords must be between 4 and 100 characters\n\n",
            ),
            (
                "length = 200\nrule \"charset\" { charset = \"abc\" }",
                "1 error occurred:\n\t* passwords must be between 4 and 100 characters\n\n",
            ),
            (
                "length = 10",
                "1 error occurred:\n\t* invalid password policy: 1 error occurred:\n\t* no charset specified\n\n\n\n",
            ),
            (
                "length = 10\nrule \"charset\" { charset = \"\" }",
                "1 error occurred:\n\t* invalid password policy: 1 error occurred:\n\t* no charset specified\n\n\n\n",
            ),
            (
                "length = 4\nrule \"charset\" {\n charset = \"abc\"\n min-chars = 5\n}",
                "1 error occurred:\n\t* invalid password policy: 1 error occurred:\n\t* specified rules require at least 5 characters but 4 is specified\n\n\n\n",
            ),
        ];
        for (policy, message) in cases {
            let err = write(&store, "p", &body(json!({ "policy": policy })))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid);
            assert_eq!(err.to_string(), message, "{policy}");
        }
        let err = write(&store, "p", &body(json!({ "policy": "not hcl {{{" })))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert!(
            err.to_string()
                .starts_with("1 error occurred:\n\t* invalid password policy: unable to decode: "),
            "{err}"
        );
        let err = write(&store, "a b", &body(json!({ "policy": POLICY })))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(list(&store).await.unwrap_err().kind(), ErrorKind::NotFound);
        // base64 of the text is accepted.
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(POLICY);
        write(&store, "p", &body(json!({ "policy": encoded })))
            .await
            .unwrap();
        assert_eq!(
            read(&store, "p").await.unwrap().data,
            Some(json!({ "policy": POLICY }))
        );
    }
}
