// Package pipetest holds what the tests of the pipeline and of its inputs (gap recovery)
// share: a real JetStream stream on an embedded nats-server with a synchronous sink on
// it, the messages it stored, live policy alerts, a running pipeline, and a wait on a
// condition. Only tests import it.
package pipetest
