package verifier

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine running: every
// Verifier's refresh loop and fetches must stop on Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
