'use strict';
// The errors this package throws, each carrying the mock's own message.

/** Base class of every error this package throws. */
class MockImdsError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** `mock-imds serve` could not be started (no binary, a port in use, a bad setting, no
 * endpoints in time); the message says which, with the mock's stderr. */
class StartError extends MockImdsError {}

/** A control API call failed: `status` is the HTTP status (or null when there was no
 * HTTP answer: the mock could not be reached, or `mock-imds ctl` refused a schedule file
 * first), `mockMessage` the mock's own `error` text. */
class ControlError extends MockImdsError {
  constructor(what, status, mockMessage) {
    super(`${what}: ${status === null ? 'no answer' : `HTTP ${status}`}: ${mockMessage}`);
    this.status = status;
    this.mockMessage = mockMessage;
  }
}

module.exports = { MockImdsError, StartError, ControlError };
