package main

import (
	"context"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// processFleet shares revocations between the guards of this process,
// through middleware.Config.Fleet. The demo has two guards (one per router)
// and a logout through one of them must reach the other at once, as it
// must reach every replica of a service: between processes that is
// fleet.Redis's job; inside one process a fan-out to the watching guards is
// all it takes. It shares no Authenticate answers (each guard keeps its own
// short cache) and is always current. It is safe for concurrent use.
type processFleet struct {
	mu       sync.Mutex
	next     int
	watchers map[int]func(sessionID string, until time.Time)
}

func newProcessFleet() *processFleet {
	return &processFleet{watchers: map[int]func(string, time.Time){}}
}

// Announce hands the revocation to every watching guard, the announcing one
// included, before it returns.
func (f *processFleet) Announce(_ context.Context, sessionID string, until time.Time) error {
	f.mu.Lock()
	fns := make([]func(string, time.Time), 0, len(f.watchers))
	for _, fn := range f.watchers {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(sessionID, until)
	}
	return nil
}

// Watch adds fn to the guards told of revocations until stop is called.
func (f *processFleet) Watch(fn func(sessionID string, until time.Time)) (stop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.watchers[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.watchers, id)
	}
}

// Current is always nil: nothing can cut a guard off from this process.
func (f *processFleet) Current() error { return nil }

// LoadAuthenticate always misses: answers are not shared.
func (f *processFleet) LoadAuthenticate(context.Context, string, string) (*client.AuthenticateResponse, error) {
	return nil, nil
}

// StoreAuthenticate keeps nothing.
func (f *processFleet) StoreAuthenticate(context.Context, string, string, *client.AuthenticateResponse, time.Duration) error {
	return nil
}

// ForgetSession has nothing to forget.
func (f *processFleet) ForgetSession(context.Context, string) error { return nil }
