//! `MockImds::schedule_caught_up`: a caller (the harness, before each SDK call) waits
//! until every schedule step due by now is in force, so a call written to come after a
//! clock jump cannot race the jump's task. The mock runs on a one-thread runtime of its
//! own that the test blocks, which makes its schedule step late on purpose.

use std::sync::Arc;
use std::time::Duration;

use mock_imds::{EventKind, MockImds, Schedule};

/// The mock on a current-thread runtime in a thread of its own, and that runtime's handle
/// (to block it).
fn mock_on_own_runtime(schedule: &str) -> (MockImds, tokio::runtime::Handle) {
    let (tx, rx) = std::sync::mpsc::channel();
    let schedule = Schedule::from_toml(schedule).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime.block_on(
            MockImds::builder()
                .defer_schedule()
                .schedule(schedule)
                .start(),
        );
        tx.send((mock.unwrap(), runtime.handle().clone())).unwrap();
        // Keeps the runtime (and its timers) going until the test's process ends.
        runtime.block_on(std::future::pending::<()>());
    });
    rx.recv().unwrap()
}

/// A mock on the test's runtime whose schedule (TOML steps) waits for its clock.
async fn deferred(schedule: &str) -> MockImds {
    MockImds::builder()
        .defer_schedule()
        .schedule(Schedule::from_toml(schedule).unwrap())
        .start()
        .await
        .unwrap()
}

fn jumps(mock: &MockImds) -> usize {
    mock.events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ClockJump { .. }))
        .count()
}

#[tokio::test]
async fn a_due_step_is_waited_for_and_a_late_one_is_reported() {
    let (mock, runtime) =
        mock_on_own_runtime("[[schedule]]\nat = \"100ms\"\nclock = \"+1h\"\n\n[[schedule]]\nat = \"60s\"\nclock = \"+1h\"\n");
    // Before the schedule's clock starts nothing is due.
    assert!(mock.schedule_caught_up(Duration::ZERO).await);
    // The mock's only thread is held until the test lets it go: its step at 100 ms
    // cannot run, however slow or fast this machine is.
    let entered = Arc::new(std::sync::Barrier::new(2));
    let (release, held) = std::sync::mpsc::channel::<()>();
    let inside = entered.clone();
    drop(runtime.spawn(async move {
        inside.wait();
        let _ = held.recv();
    }));
    // (The test's own thread may block: the mock does not run on it.)
    entered.wait();
    mock.start_schedule_clock();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(jumps(&mock), 0, "the step at 100 ms cannot have run yet");
    // Due and pending: a short limit reports it…
    assert!(!mock.schedule_caught_up(Duration::from_millis(20)).await);
    // …a long one returns once it is in force (the mock is let go while it waits), and
    // the next step (at 60 s) is not due.
    tokio::spawn(async move { release.send(()).unwrap() });
    assert!(mock.schedule_caught_up(Duration::from_secs(10)).await);
    assert_eq!(jumps(&mock), 1, "returned with the step in force");
    assert!(mock.schedule_caught_up(Duration::ZERO).await);
}

#[tokio::test]
async fn a_jump_waits_for_the_call_in_flight_and_its_outage_does_not() {
    let mock =
        deferred("[[schedule]]\nat = \"100ms\"\nclock = \"+5h\"\nstate = \"refuse\"\n").await;
    mock.start_schedule_clock();
    let call = mock.call_in_flight();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The outage started on time, under the call; the clock waits for the call.
    assert_eq!(mock.state().to_string(), "refuse");
    assert_eq!(jumps(&mock), 0, "the clock jumped under a call in flight");
    assert!(!mock.schedule_caught_up(Duration::from_millis(20)).await);
    drop(call);
    assert!(mock.schedule_caught_up(Duration::from_secs(10)).await);
    assert_eq!(jumps(&mock), 1);
    assert_eq!(mock.clock().offset().as_millis(), 5 * 3_600_000);
}

#[tokio::test]
async fn a_held_jump_never_delays_the_next_step() {
    let mock = deferred(
        "[[schedule]]\nat = \"100ms\"\nclock = \"+5h\"\nstate = \"refuse\"\n\n\
         [[schedule]]\nat = \"300ms\"\nstate = \"up\"\n",
    )
    .await;
    mock.start_schedule_clock();
    let call = mock.call_in_flight();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The call is still in flight, but the next step came: the jump went first, then it.
    let at = |want: &dyn Fn(&EventKind) -> bool| {
        mock.events()
            .iter()
            .find(|e| want(&e.kind))
            .map(|e| e.at)
            .expect("the event happened")
    };
    let jumped = at(&|k| matches!(k, EventKind::ClockJump { .. }));
    let up = at(&|k| {
        matches!(k, EventKind::Transition { state, asked_at, .. }
            if state.is_up() && *asked_at == Duration::from_millis(300))
    });
    assert!(
        jumped >= Duration::from_millis(300) && jumped <= up,
        "jump at {jumped:?}, up at {up:?}"
    );
    assert!(mock.state().is_up());
    drop(call);
}
