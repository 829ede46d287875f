package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

const (
	low  = 20000 // above the well-known and most registered service ports in use here
	high = 32767 // below the kernel's ephemeral range (ip_local_port_range 32768–60999)
)

// Port returns a loopback TCP port that was free when asked, outside the ephemeral range.
func Port(t testing.TB) int {
	t.Helper()
	for range 200 {
		p := low + rand.IntN(high-low+1)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return p
	}
	t.Fatal("freeport: no free port below the ephemeral range after 200 tries")
	return 0
}

// Addr is 127.0.0.1:Port(t).
func Addr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", Port(t))
}
