// Package feed turns stored events back into a human-readable alert view: the live feed of
// `rhombus-bridge demo` and the output of `rhombus-bridge tail`. It reads from the broker,
// never from the bridge's memory, so what it shows is what consumers get.
package feed
