//! The root package holds only the end-to-end tests in `tests/`: real SDKs (boto3 in a
//! child process, the AWS SDK for Rust in process) against a real mock-imds.
