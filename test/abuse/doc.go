// Package abuse attacks the webhook receiver of the built binary (cmd/rhombus-bridge,
// built into a temporary directory; ABUSE_BRIDGE_BIN names one built elsewhere) running
// as its own process with its embedded JetStream server and the Rhombus simulator, at
// production settings: header-only requests declaring lengths up to 50 TB, hundreds of
// stalled connections, then one signed delivery, which must still be answered 200 within
// 2 s while the process's resident memory stays under 128 MiB.
//
// The package has no non-test code.
package abuse
