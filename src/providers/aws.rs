//! The AWS SDK configuration every AWS client of redisctl is built from (ElastiCache,
//! CloudWatch, the S3 state backend): the standard credential chain, the contract's region,
//! an endpoint override (`--endpoint-url`, `AWS_ENDPOINT_URL`: moto in the tests), and one
//! retry policy. Missing region or credentials are errors before any call.

use crate::error::Error;

/// A runtime for the SDK's futures: the provider interface is synchronous.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the AWS client runtime", e))
}

/// The SDK configuration from the standard AWS chain (environment, profile, SSO), with `region`
/// (else the environment's) and `endpoint_url`.
pub fn sdk_config(
    rt: &tokio::runtime::Runtime,
    region: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<aws_config::SdkConfig, Error> {
    use aws_config::retry::RetryConfig;
    use aws_credential_types::provider::ProvideCredentials;
    rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            // Standard retry mode: exponential backoff with jitter, for throttling and transient
            // (5xx, timeout) errors only; client errors fail at once. Four attempts keep a
            // failing call to seconds, not half a minute.
            .retry_config(RetryConfig::standard().with_max_attempts(4));
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        }
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(Error::msg(
                "no AWS region: set `aws.region` in the contract, or AWS_REGION, or a region in the AWS profile",
            ));
        }
        let no_credentials =
            "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run `aws sso login`";
        let creds = config.credentials_provider().ok_or_else(|| Error::msg(no_credentials))?;
        creds.provide_credentials().await.map_err(|e| Error::msg(format!("{no_credentials} ({e})")))?;
        Ok(config)
    })
}

/// An SDK call's failure as an error naming the service and operation, with the service's own
/// code and message (the SDK's Display says only "service error").
pub fn sdk_err<E>(
    service: &str,
    what: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
) -> Error
where
    E: std::error::Error + Send + Sync + 'static + aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let detail = match &e {
        SdkError::ServiceError(se) => match (se.err().code(), se.err().message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            // A body the SDK could not read an error from: the HTTP status is what is known.
            _ => format!("HTTP {} without an error code in the answer", se.raw().status().as_u16()),
        },
        // Timeouts, connection and credential errors: the whole chain of causes.
        other => aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
    };
    Error::msg(format!("AWS {service} {what} failed: {detail}"))
}

type HttpResponse = aws_smithy_runtime_api::http::Response;
