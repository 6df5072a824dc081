// Package replicas holds the fleet harness of stytchguard: tests that run
// three guards, each behind its own http.Server on loopback with its own
// fleet.Redis, sharing one real redis-server (started per test on a unix
// socket by internal/redistest) and one stytchtest emulator, and measure
// what the fleet promises: how fast a revocation reaches the other
// replicas, how many Stytch calls a shared credential costs, and what
// happens while Redis is paused, killed and restarted.
//
// The package has no non-test code. Run it with
//
//	go test -race -v ./internal/replicas
//
// Figures are printed with t.Log; the assertions use bounds that hold on a
// loaded two-core machine.
package replicas
