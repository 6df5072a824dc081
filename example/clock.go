package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// clock is the time source the app shares between the embedded emulator,
// the verifier, the policy cache and the guards. *stytchtest.Clock
// satisfies it (tests), and so does *demoClock (the running demo).
type clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// demoClock is the clock of the demo in emulator mode: the wall clock plus
// an offset that only grows, through Advance (the "+6 min" button of /demo).
// Until the button is pressed it reads the wall clock, so the demo behaves
// as it would against Stytch; moving it forward makes the session JWTs
// expire at once, so the refresh through Stytch is seen without waiting
// five minutes. The emulator and the guards read the same clock, so they
// agree on what expired. It is safe for concurrent use.
type demoClock struct {
	offset atomic.Int64 // nanoseconds ahead of the wall clock
}

// Now returns the wall clock moved forward by the offset.
func (c *demoClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d; a negative d is ignored, so the
// demo's time never runs backward.
func (c *demoClock) Advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}

// shortDuration formats d without zero trailing units: "24h", "10m",
// "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Limits of one POST /demo/clock/advance.
const (
	minClockStep = time.Second
	maxClockStep = 24 * time.Hour
)

// clockState is the body of POST /demo/clock/advance.
type clockState struct {
	// Now is the demo clock after the move (RFC 3339, UTC).
	Now time.Time `json:"now"`
	// AdvancedBy is the move of this request ("6m").
	AdvancedBy string `json:"advanced_by"`
	// Ahead is how far the demo clock is ahead of the wall clock in total.
	Ahead string `json:"ahead_of_wall_clock"`
}

// advanceClock serves POST /demo/clock/advance?by=6m (emulator mode only):
// it moves the shared clock forward by a duration between 1 s and 24 h
// and answers the new time. The session JWTs the browser holds expire when
// the clock passes their exp (5 minutes after they were minted), so the
// next request with them is checked by the emulator, which mints fresh
// ones, and the guard re-issues the cookies.
func (d *demo) advanceClock(w http.ResponseWriter, r *http.Request) {
	by, err := time.ParseDuration(r.URL.Query().Get("by"))
	if err != nil || by < minClockStep || by > maxClockStep {
		writeJSONError(w, http.StatusBadRequest, "bad_request",
			fmt.Sprintf("by must be a Go duration between %v and %v, e.g. by=6m", minClockStep, maxClockStep))
		return
	}
	before := time.Now()
	d.app.clock.Advance(by)
	now := d.app.clock.Now()
	writeJSON(w, http.StatusOK, clockState{
		Now:        now.UTC().Truncate(time.Second),
		AdvancedBy: shortDuration(by),
		Ahead:      shortDuration(now.Sub(before).Round(time.Second)),
	})
}
