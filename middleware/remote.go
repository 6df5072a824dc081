package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/verifier"
)

// remote calls Stytch's Authenticate with a timeout, one retry, coalescing
// per credential, a short result cache, a concurrency limit and a circuit
// breaker.
type remote struct {
	c        *client.Client
	timeout  time.Duration
	sem      chan struct{}
	group    singleflight.Group
	breaker  *gobreaker.CircuitBreaker[*client.AuthenticateResponse]
	openFor  time.Duration
	now      func() time.Time
	cacheTTL time.Duration
	tel      *telemetry
	fleet    Fleet
	log      *slog.Logger
	// fleetLogged is when a fleet failure was last logged (unix ns).
	fleetLogged atomic.Int64
	// last is the last call's outcome.
	last atomic.Pointer[outcome]
	// outageMaxAge is Config.FleetOutageMaxTokenAge: the oldest cached
	// session answer served while the fleet is not current.
	outageMaxAge time.Duration

	// cache holds definite answers for cacheTTL, bounded in size; nil when
	// the cache is off.
	cache *otter.Cache[[32]byte, remoteEntry]

	// base outlives any one request and is cancelled by close, which then
	// waits for the calls in flight.
	// notBefore (unix nanoseconds, real time like the breaker's) is when
	// Stytch's last Retry-After ends; until then calls fail fast.
	notBefore atomic.Int64

	base   context.Context
	cancel context.CancelFunc
	life   sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

type remoteEntry struct {
	resp *client.AuthenticateResponse
	err  error
	ttl  time.Duration
	at   time.Time // when it was stored (Config.Now)
}

// clockOf makes the guard's clock the cache's, without the periodic
// clean-up goroutine: expired entries are never served, and the size bound
// evicts them.
type clockOf func() time.Time

func (c clockOf) NowNano() int64                      { return c().UnixNano() }
func (c clockOf) Tick(time.Duration) <-chan time.Time { return nil }

func newRemote(c *client.Client, cfg *Config, tel *telemetry) *remote {
	rm := &remote{
		c:        c,
		tel:      tel,
		fleet:    cfg.Fleet,
		log:      cfg.Logger,
		timeout:  cfg.Remote.Timeout,
		sem:      make(chan struct{}, cfg.Remote.MaxConcurrent),
		openFor:  cfg.Remote.BreakerOpenFor,
		now:      cfg.Now,
		cacheTTL: cfg.Remote.CacheTTL,

		outageMaxAge: cfg.FleetOutageMaxTokenAge,
	}
	if rm.cacheTTL > 0 {
		rm.cache = otter.Must(&otter.Options[[32]byte, remoteEntry]{
			MaximumSize: cfg.Remote.CacheSize,
			ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[32]byte, remoteEntry]) time.Duration {
				return e.Value.ttl
			}),
			Clock: clockOf(cfg.Now),
		})
	}
	rm.base, rm.cancel = context.WithCancel(context.Background())
	failures := uint32(cfg.Remote.BreakerFailures)
	rm.breaker = gobreaker.NewCircuitBreaker[*client.AuthenticateResponse](gobreaker.Settings{
		Name:        "stytch-authenticate",
		MaxRequests: 1,
		Timeout:     cfg.Remote.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsSuccessful: func(err error) bool {
			// Only an outage counts against Stytch; a definite "no" is an
			// answer.
			return err == nil || errors.Is(err, context.Canceled) ||
				!errors.Is(err, client.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded)
		},
	})
	return rm
}

// key derives the coalescing and cache key; the credential itself is not
// kept as a map key.
func remoteKey(p *client.AuthenticateParams) [32]byte {
	var stack [2048]byte // a credential fits; a larger one spills to the heap
	b := append(stack[:0], p.SessionJWT...)
	b = append(b, 0)
	b = append(b, p.SessionToken...)
	if ac := p.AuthorizationCheck; ac != nil {
		b = append(b, 1)
		b = append(b, ac.OrganizationID...)
		b = append(b, 0)
		b = append(b, ac.ResourceID...)
		b = append(b, 0)
		b = append(b, ac.Action...)
	}
	return sha256.Sum256(b)
}

// binder checks that an answer is about what was asked (see
// verifier.BindAnswer) before it is used, cached or shared.
type binder func(*client.AuthenticateResponse) error

// flight is the outcome of one remote call, shared by its waiters.
type flight struct {
	resp *client.AuthenticateResponse
	// span is the remote call's span, linked from the decision spans of
	// the requests that waited on it.
	span trace.SpanContext
	// parent is the span of the request that made the call.
	parent trace.SpanID
	// shared: the answer came from the fleet's shared cache, not Stytch.
	shared bool
	// fleetErr is the failure of the fleet's shared cache on this call (a
	// load or a store), nil when it worked or was not used.
	fleetErr error
}

// record keeps a call's outcome for health: an outage, or an answer.
func (rm *remote) record(err error) {
	o := &outcome{at: time.Now()}
	if err != nil && (errors.Is(err, client.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, verifier.ErrUnboundAnswer)) {
		o.err = err
	}
	rm.last.Store(o)
}

// lastOutcome returns the last call's outage error (nil when Stytch
// answered) and whether any call was made.
func (rm *remote) lastOutcome() (error, bool) {
	o := rm.last.Load()
	if o == nil {
		return nil, false
	}
	return o.err, true
}

// fleetKey is the credential and variant under which the fleet shares an
// answer to p.
func fleetKey(p *client.AuthenticateParams) (credential, variant string) {
	credential = p.SessionJWT
	if credential == "" {
		credential = p.SessionToken
	}
	if ac := p.AuthorizationCheck; ac != nil {
		variant = ac.OrganizationID + "\x00" + ac.ResourceID + "\x00" + ac.Action
	}
	return credential, variant
}

// shared returns the fleet's stored answer to p when there is one and it
// passes bind; nil otherwise (no fleet, a miss, a Redis failure, or an
// answer about something else), with the fleet's error when the load
// failed.
func (rm *remote) shared(ctx context.Context, p *client.AuthenticateParams, bind binder) (*client.AuthenticateResponse, error) {
	if rm.fleet == nil || rm.cacheTTL <= 0 {
		return nil, nil
	}
	cred, variant := fleetKey(p)
	resp, err := rm.fleet.LoadAuthenticate(ctx, cred, variant)
	if err != nil {
		rm.fleetTrouble(err)
		return nil, err
	}
	rm.tel.cacheLookup(ctx, cacheFleet, resp != nil)
	if resp == nil {
		return nil, nil
	}
	if bind != nil && bind(resp) != nil {
		return nil, nil
	}
	return resp, nil
}

// fleetTrouble logs a failure of the fleet's shared cache, once per burst:
// Redis being slow or down must not flood the log.
func (rm *remote) fleetTrouble(err error) {
	now := time.Now().UnixNano()
	last := rm.fleetLogged.Load()
	if now-last < int64(10*time.Second) || !rm.fleetLogged.CompareAndSwap(last, now) {
		return
	}
	rm.log.Warn("stytchguard: fleet shared cache unavailable; asking Stytch", "error", err)
}

// authenticate returns Stytch's answer for p, bound by bind, whether it
// came from a cache (this replica's or the fleet's), and the failure of the
// fleet's shared cache on the call the answer came from (nil when it
// worked, was not used, or the answer came from this replica's cache).
// Errors: *client.Error / *client.TransportError from the client,
// gobreaker.ErrOpenState or ErrTooManyRequests when the breaker refuses,
// bind's error, ctx.Err() when the caller gave up.
//
// The call runs detached from any one caller, so that it serves every
// waiter, but keeps the first caller's context values: its span is that
// request's child, and the others link to it.
func (rm *remote) authenticate(ctx context.Context, p *client.AuthenticateParams, bind binder) (resp *client.AuthenticateResponse, fromCache bool, fleetErr, err error) {
	k := remoteKey(p)
	if resp, err, ok := rm.cached(k); ok {
		rm.tel.cacheLookup(ctx, cacheRemote, true)
		return resp, true, nil, err
	}
	rm.tel.cacheLookup(ctx, cacheRemote, false)
	ch := rm.group.DoChan(string(k[:]), func() (any, error) {
		// A call that just finished may have filled the cache between the
		// check above and this flight.
		if resp, err, ok := rm.cached(k); ok {
			return flight{resp: resp}, err
		}
		rm.life.Lock()
		if rm.closed {
			rm.life.Unlock()
			return flight{}, errClosed
		}
		rm.wg.Add(1)
		rm.life.Unlock()
		defer rm.wg.Done()
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		defer context.AfterFunc(rm.base, cancel)()
		resp, fleetErr := rm.shared(fctx, p, bind)
		if resp != nil {
			rm.store(k, resp, nil)
			return flight{resp: resp, shared: true}, nil
		}
		fctx, span := rm.tel.startRemote(fctx, p)
		start := time.Now()
		resp, err := rm.call(fctx, p, bind)
		rm.tel.endRemote(fctx, span, start, err)
		rm.record(err)
		rm.store(k, resp, err)
		if err == nil && rm.fleet != nil && rm.cacheTTL > 0 {
			cred, variant := fleetKey(p)
			if serr := rm.fleet.StoreAuthenticate(fctx, cred, variant, resp, rm.cacheTTL); serr != nil {
				rm.fleetTrouble(serr)
				fleetErr = joinErrors(fleetErr, serr)
			}
		}
		return flight{resp: resp, span: span.SpanContext(), parent: trace.SpanFromContext(ctx).SpanContext().SpanID(), fleetErr: fleetErr}, err
	})
	select {
	case res := <-ch:
		f, _ := res.Val.(flight)
		if res.Shared {
			rm.tel.linkRemote(ctx, f)
		}
		return f.resp, f.shared, f.fleetErr, res.Err
	case <-ctx.Done():
		return nil, false, nil, ctx.Err()
	}
}

func (rm *remote) call(ctx context.Context, p *client.AuthenticateParams, bind binder) (*client.AuthenticateResponse, error) {
	if d := time.Until(time.Unix(0, rm.notBefore.Load())); d > 0 {
		return nil, &retryLaterError{wait: d}
	}
	resp, err := rm.guarded(ctx, p, bind)
	if d, ok := client.RetryAfter(err); ok && errors.Is(err, client.ErrUnavailable) {
		d = min(d, MaxRetryAfter)
		until := time.Now().Add(d).UnixNano()
		for {
			cur := rm.notBefore.Load()
			if cur >= until || rm.notBefore.CompareAndSwap(cur, until) {
				break
			}
		}
	}
	return resp, err
}

// retryLaterError fails a call fast while Stytch's Retry-After runs.
type retryLaterError struct{ wait time.Duration }

func (e *retryLaterError) Error() string {
	return fmt.Sprintf("middleware: Stytch asked to retry after %v", e.wait.Round(time.Second))
}

// Is reports that the wait is an outage answer.
func (e *retryLaterError) Is(target error) bool { return target == client.ErrUnavailable }

func (rm *remote) guarded(ctx context.Context, p *client.AuthenticateParams, bind binder) (*client.AuthenticateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*rm.timeout+time.Second)
	defer cancel()
	select {
	case rm.sem <- struct{}{}:
		defer func() { <-rm.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return rm.breaker.Execute(func() (*client.AuthenticateResponse, error) {
		resp, err := rm.once(ctx, p)
		if err != nil && retryable(err) && ctx.Err() == nil {
			resp, err = rm.once(ctx, p)
		}
		if err == nil && bind != nil {
			// An answer about something else is an upstream fault: it
			// counts against the breaker and is never cached.
			if berr := bind(resp); berr != nil {
				return nil, berr
			}
		}
		return resp, err
	})
}

func (rm *remote) once(ctx context.Context, p *client.AuthenticateParams) (*client.AuthenticateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, rm.timeout)
	defer cancel()
	return rm.c.Sessions.Authenticate(ctx, p)
}

// remoteOutcome names the outcome of a remote call for metrics and spans.
func remoteOutcome(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, client.ErrSessionInvalid):
		return "session_invalid"
	case errors.Is(err, client.ErrForbidden):
		return "forbidden"
	case errors.Is(err, verifier.ErrUnboundAnswer):
		return "unbound"
	case errors.Is(err, client.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	}
	return "error"
}

// retryable: 5xx and timeouts are retried once; 429 is not (Stytch said when
// to come back).
func retryable(err error) bool {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.StatusCode >= 500
	}
	var te *client.TransportError
	return errors.As(err, &te)
}

func (rm *remote) cached(k [32]byte) (*client.AuthenticateResponse, error, bool) {
	if rm.cache == nil {
		return nil, nil, false
	}
	e, ok := rm.cache.GetIfPresent(k)
	if ok && e.resp != nil && rm.fleet != nil && rm.fleet.Current() != nil && rm.now().Sub(e.at) > rm.outageMaxAge {
		// Cut off from the revocation feed: as for a JWT, a session
		// answer older than FleetOutageMaxTokenAge may be about a session
		// revoked elsewhere meanwhile; Stytch decides again.
		return nil, nil, false
	}
	return e.resp, e.err, ok
}

// store caches definite answers only: a session, or "session invalid".
// Outages are never cached, so recovery is immediate. An answer lives
// cacheTTL, and never past the session's expiry.
func (rm *remote) store(k [32]byte, resp *client.AuthenticateResponse, err error) {
	if rm.cache == nil {
		return
	}
	if err != nil && !errors.Is(err, client.ErrSessionInvalid) && !errors.Is(err, client.ErrForbidden) {
		return
	}
	ttl := rm.cacheTTL
	if resp != nil && resp.MemberSession.ExpiresAt != nil {
		ttl = min(ttl, resp.MemberSession.ExpiresAt.Sub(rm.now()))
	}
	if ttl <= 0 {
		return
	}
	rm.cache.Set(k, remoteEntry{resp: resp, err: err, ttl: ttl, at: rm.now()})
}

// MaxRetryAfter caps how long a Retry-After from Stytch stops remote calls,
// so a wrong header cannot stop them for hours.
const MaxRetryAfter = time.Minute

// errClosed is returned for remote calls after Guard.Close.
var errClosed = fmt.Errorf("middleware: guard closed: %w", client.ErrUnavailable)

func (rm *remote) close() {
	rm.life.Lock()
	rm.closed = true
	rm.life.Unlock()
	rm.cancel()
	rm.wg.Wait()
}

// retryAfter suggests when to come back after err.
func (rm *remote) retryAfter(err error) time.Duration {
	if d, ok := client.RetryAfter(err); ok {
		return min(d, MaxRetryAfter)
	}
	var rl *retryLaterError
	if errors.As(err, &rl) {
		return rl.wait
	}
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return rm.openFor
	}
	return time.Second
}
