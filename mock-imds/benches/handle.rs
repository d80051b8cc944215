//! Micro-benchmarks of one IMDS request handled in process (no sockets): what fault
//! evaluation, token checks, document rendering and event logging cost per request.
//! `cargo bench -p mock-imds`; the end-to-end load comparison is `bench/run`.

use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use mock_imds::fuzzing::{InProcess, TOKEN_HEADER, TOKEN_PATH, TTL_HEADER};
use mock_imds::{ImdsConfig, ImdsState};

const CREDS: &str = "/latest/meta-data/iam/security-credentials/mock-imds-role";

fn imds(state: &str) -> InProcess {
    let imds = InProcess::new(ImdsConfig::default(), 1);
    imds.set(state.parse::<ImdsState>().unwrap());
    imds
}

fn get(path: &str, token: Option<&str>) -> Request<()> {
    let mut builder = Request::builder().method("GET").uri(path);
    if let Some(token) = token {
        builder = builder.header(TOKEN_HEADER, token);
    }
    builder.body(()).unwrap()
}

fn handle(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("imds_handle");

    let up = imds("up");
    group.bench_function("credentials document, IMDSv1", |b| {
        b.to_async(&runtime)
            .iter(|| async { up.handle(get(CREDS, None)).await.unwrap() })
    });

    let token = runtime.block_on(async {
        let req = Request::builder()
            .method("PUT")
            .uri(TOKEN_PATH)
            .header(TTL_HEADER, "21600")
            .body(())
            .unwrap();
        let response = up.handle(req).await.unwrap();
        String::from_utf8(response.body().bytes().to_vec()).unwrap()
    });
    group.bench_function("credentials document, IMDSv2 token", |b| {
        b.to_async(&runtime)
            .iter(|| async { up.handle(get(CREDS, Some(&token))).await.unwrap() })
    });

    let faulted = imds("status(403) on token; latency(0s, 0s) on path(/nowhere/*); status(500) on credentials p=0.5");
    group.bench_function("three faults evaluated, one fires half the time", |b| {
        b.to_async(&runtime)
            .iter(|| async { faulted.handle(get(CREDS, None)).await.unwrap() })
    });

    group.bench_function("listing", |b| {
        b.to_async(&runtime)
            .iter(|| async { up.handle(get("/latest/meta-data/", None)).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, handle);
criterion_main!(benches);
