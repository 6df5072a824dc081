package testkit

import (
	"sync"
	"testing"
	"time"
)

func TestPercentileAndRound(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {.5, 3}, {.74, 4}, {1, 5}} {
		if got := SortedPercentile(d, tc.p); got != tc.want {
			t.Errorf("p%.2f = %v, want %v", tc.p, got, tc.want)
		}
	}
	if Percentile(nil, .5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
	for in, want := range map[time.Duration]time.Duration{
		1234567 * time.Nanosecond:     1230 * time.Microsecond,
		1500*time.Millisecond + 400e3: 1500 * time.Millisecond,
		1499 * time.Nanosecond:        time.Microsecond,
	} {
		if got := Round(in); got != want {
			t.Errorf("Round(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestSharedKeyAndBuffer: one key, and a buffer that concurrent writers do
// not corrupt (a missing lock shows reliably under -race, as CI runs it).
func TestSharedKeyAndBuffer(t *testing.T) {
	if k1, k2 := SigningKey(), SigningKey(); k1 != k2 || k1.N.BitLen() != 2048 {
		t.Fatal("SigningKey is not one RSA-2048 key")
	}
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = b.Write([]byte("ab")) })
	}
	wg.Wait()
	if got := b.String(); len(got) != 16 {
		t.Fatalf("buffer holds %q", got)
	}
}
