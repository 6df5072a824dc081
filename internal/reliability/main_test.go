package reliability

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

var longFlag = flag.Bool("long", false, "run every scenario with its full durations and counts")

// TestMain is scenario 9's package-wide half: after every scenario has run
// and closed what it opened, no goroutine may remain.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// long reports whether the full-size run was asked for, with -long or
// STYTCHGUARD_LONG=1.
func long() bool { return *longFlag || os.Getenv("STYTCHGUARD_LONG") == "1" }

// pick returns bounded in the bounded (CI) form and full with -long.
func pick[T any](bounded, full T) T {
	if long() {
		return full
	}
	return bounded
}
