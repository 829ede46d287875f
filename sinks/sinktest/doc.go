// Package sinktest is the conformance suite every sinks.Sink runs, in the spirit of
// watermill's shared pub/sub tests: a sink's test supplies a Harness (the sink, a way to
// read back what its broker stored, and a way to stop and start the broker) and Run
// checks the contract every sink promises:
//
//   - per-key order of sequential publishes is kept;
//   - Publish returns nil only after the broker ack: the record is readable at once;
//   - the broker down: Publish returns an error within its ctx deadline, never nil;
//   - the broker back: publishing resumes, and a retry of a failed event is stored once;
//   - Close waits for publishes under way; Publish after Close fails;
//   - concurrent publishers are safe (run with -race);
//   - the same id published twice, in sequence or at once, is stored once;
//   - invalid events are stored with their raw bytes and the invalid type.
//
// Events builds realistic mixed events for these and other tests.
package sinktest
