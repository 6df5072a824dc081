//go:build race

package rbac

// raceEnabled scales the randomized tests down under the race detector,
// which slows them about tenfold.
const raceEnabled = true
