// Package testkit holds the small helpers the module's tests and load driver
// share: one RSA key per process, a concurrency-safe log buffer, and
// latency percentiles. It is internal: nothing outside the module's tests
// and harnesses imports it.
package testkit

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"sync"
	"time"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// SigningKey returns an RSA-2048 key generated once per process, so that the
// emulators of a test binary share it and key generation runs once.
func SigningKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		key = k
	})
	return key
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes, for log output
// that tests read back.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Percentile returns the p-quantile (0..1) of sorted, which must be in
// ascending order: the element at index p×(n−1) rounded to the nearest
// integer; 0 when it is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

// SortedPercentile sorts d in place and returns its p-quantile.
func SortedPercentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return Percentile(d, p)
}

// Round rounds a latency for display: whole milliseconds from a second,
// 10 µs from a millisecond, else whole microseconds.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
