// Package freeport picks loopback ports for tests that start servers in other processes.
//
// A port taken with Listen(":0") comes from the kernel's ephemeral range, the same range
// every outgoing connection's local port comes from: between the test closing its probe
// listener and the child process binding it, a client connection on this busy machine can
// take it (seen in CI: a bridge's HTTP_ADDR bound by a NATS client's socket). Ports here
// are drawn at random below that range (Linux's default starts at 32768), where no
// outgoing connection gets a port, and checked free before they are handed out.
package freeport
