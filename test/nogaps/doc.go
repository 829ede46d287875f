// Package nogaps holds the end-to-end acceptance tests of the no-gaps promise (issue 4)
// and the reconnect measurements: the whole bridge (bridge/app) runs in-process against
// the Rhombus simulator (bridge/sim) and a real, embedded JetStream server
// (internal/natstest), faults are injected with the simulator's switches and by stopping
// and restarting JetStream, and the stream is read back to check that every policy alert
// created during a run, and every event accepted from the socket, is stored exactly once.
// TestProcessCrashBackfills alone runs the built binary (cmd/rhombus-bridge, built once on
// demand; NOGAPS_BRIDGE_BIN to use another, NOGAPS_RACE=1 to build it with -race), to kill
// it with SIGKILL.
//
// The package has no non-test code. Run the measurements with
//
//	NOGAPS_BENCH=1 go test -run TestMeasureReconnect -parallel 8 -v ./test/nogaps/
package nogaps
