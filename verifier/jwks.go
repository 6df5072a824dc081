package verifier

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stytchguard/stytchguard/client"
)

// keySnapshot is an immutable set of verification keys. The hot path loads
// it from an atomic pointer and reads it without locks; a refresh builds a
// new one and swaps it in.
type keySnapshot struct {
	keys      map[string]*rsa.PublicKey
	kids      []string // sorted
	fetchedAt time.Time
}

// JWKSStatus describes the state of the key cache, for health checks and
// debugging. Times come from Config.Now.
type JWKSStatus struct {
	// Ready is true when usable keys are held (fetched and not older than
	// the maximum staleness).
	Ready bool
	// KeyIDs are the ids of the held keys, sorted.
	KeyIDs []string
	// LastSuccess is when the held keys were fetched; zero before the first
	// good fetch.
	LastSuccess time.Time
	// LastAttempt is when the last fetch started.
	LastAttempt time.Time
	// LastError is the error of the last fetch, nil when it succeeded.
	LastError error
	// Fetches counts JWKS requests; Failures counts those that did not
	// produce a usable key set; ConsecutiveFailures counts failures since
	// the last success.
	Fetches             int64
	Failures            int64
	ConsecutiveFailures int64
	// SkippedKeys is how many keys of the last good set were unusable
	// (wrong type, size, use or alg, duplicated kid).
	SkippedKeys int
}

// Status returns a copy of the key cache's state. It is safe for concurrent
// use.
func (v *Verifier) Status() JWKSStatus {
	v.statusMu.Lock()
	st := v.status
	v.statusMu.Unlock()
	if s := v.keys.Load(); s != nil {
		st.KeyIDs = slices.Clone(s.kids)
		st.LastSuccess = s.fetchedAt
		st.Ready = v.usableSnapshot(v.now()) != nil
	}
	return st
}

// usableSnapshot returns the key set if it is not older than the maximum
// staleness, else nil.
func (v *Verifier) usableSnapshot(now time.Time) *keySnapshot {
	s := v.keys.Load()
	if s == nil || now.Sub(s.fetchedAt) > v.maxStale {
		return nil
	}
	return s
}

// flightKey is the single singleflight key: all JWKS fetches share one flight.
const flightKey = "jwks"

var (
	errRateLimited = errors.New("verifier: JWKS refetch rate-limited")
	errClosed      = errors.New("verifier: closed")
)

// fetchJWKS performs one JWKS request bounded by the fetch timeout and the
// body cap, and installs the key set when it is usable. A failure keeps the
// previous snapshot.
func (v *Verifier) fetchJWKS(parent context.Context) error {
	v.closeMu.RLock()
	if v.closed {
		v.closeMu.RUnlock()
		return errClosed
	}
	v.fetchWG.Add(1)
	v.closeMu.RUnlock()
	defer v.fetchWG.Done()

	v.statusMu.Lock()
	v.status.Fetches++
	v.status.LastAttempt = v.now()
	v.statusMu.Unlock()

	ks, err := v.download(parent)
	v.warnWeakKeys(ks.weak)
	keys, skipped := ks.keys, ks.skipped
	if err == nil {
		old := v.keys.Load()
		kids := make([]string, 0, len(keys))
		for kid, k := range keys {
			kids = append(kids, kid)
			// Keep the previous pointer for unchanged keys: cached tokens
			// record the key they were verified with and stay valid only
			// while the same key is published under their kid.
			if old != nil {
				if prev := old.keys[kid]; prev != nil && prev.E == k.E && prev.N.Cmp(k.N) == 0 {
					keys[kid] = prev
				}
			}
		}
		slices.Sort(kids)
		v.keys.Store(&keySnapshot{keys: keys, kids: kids, fetchedAt: v.now()})
	}

	v.statusMu.Lock()
	v.status.LastError = err
	if err != nil {
		v.status.Failures++
		v.status.ConsecutiveFailures++
	} else {
		v.status.ConsecutiveFailures = 0
		v.status.SkippedKeys = skipped
	}
	v.statusMu.Unlock()

	if err != nil {
		v.log.Warn("verifier: JWKS fetch failed; keeping the previous keys", "error", err)
	} else {
		v.log.Debug("verifier: JWKS fetched", "keys", len(keys), "skipped", skipped)
	}
	return err
}

func (v *Verifier) download(parent context.Context) (keySet, error) {
	ctx, cancel := context.WithTimeout(parent, v.fetchTimeout)
	defer cancel()
	// Stop the fetch when the Verifier closes, whatever the parent.
	stop := context.AfterFunc(v.life, cancel)
	defer stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return keySet{}, fmt.Errorf("verifier: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.jwksClient.Do(req)
	if err != nil {
		return keySet{}, fmt.Errorf("verifier: JWKS fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return keySet{}, fmt.Errorf("verifier: JWKS fetch: unexpected HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBodySize+1))
	if err != nil {
		return keySet{}, fmt.Errorf("verifier: JWKS read: %w", err)
	}
	if len(body) > MaxJWKSBodySize {
		return keySet{}, fmt.Errorf("verifier: JWKS body larger than %d bytes", MaxJWKSBodySize)
	}
	return parseJWKS(body)
}

// maxWarnedKIDs bounds the key ids whose weakness has been logged.
const maxWarnedKIDs = 1024

// warnWeakKeys logs one Warn record per weak key id over the Verifier's
// life (the record names the kid and the rule, never key material).
func (v *Verifier) warnWeakKeys(weak []weakKey) {
	for _, w := range weak {
		v.statusMu.Lock()
		_, done := v.warned[w.kid]
		if !done && len(v.warned) < maxWarnedKIDs {
			v.warned[w.kid] = struct{}{}
		} else {
			done = true
		}
		v.statusMu.Unlock()
		if !done {
			v.log.Warn("verifier: JWKS key skipped: "+w.reason, "kid", w.kid)
		}
	}
}

// sharedFetch joins the JWKS fetch in flight or starts one. limited fetches
// (caused by tokens) start only when the unknown-kid limiter allows;
// background fetches always start. The wait is bounded by the fetch timeout
// and ctx.
func (v *Verifier) sharedFetch(ctx context.Context, limited bool) error {
	// The fetch outlives the request that triggered it (it serves every
	// waiter and runs on the Verifier's lifetime), but its span is that
	// request's child.
	parent := trace.SpanFromContext(ctx).SpanContext().SpanID()
	fn := func() (any, error) {
		if limited && !v.limiter.AllowN(v.now(), 1) {
			return nil, errRateLimited
		}
		span, err := v.tracedFetch(ctx)
		return sharedJWKSFetch{span: span, parent: parent}, err
	}
	timer := time.NewTimer(v.fetchTimeout)
	defer timer.Stop()
	for {
		select {
		case r := <-v.flight.DoChan(flightKey, fn):
			linkJWKSFetch(ctx, r.Val)
			if !limited && errors.Is(r.Err, errRateLimited) {
				// The background refresh joined a token-triggered attempt
				// the limiter refused: it still owes its own fetch, within
				// the same bounds.
				continue
			}
			return r.Err
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return errors.New("verifier: timed out waiting for the JWKS refetch")
		case <-v.done:
			return errClosed
		}
	}
}

// sharedJWKSFetch is what a shared JWKS fetch hands every caller that
// waited on it: its span, and the span of the caller that started it.
type sharedJWKSFetch struct {
	span   trace.SpanContext
	parent trace.SpanID
}

// linkJWKSFetch links the span of ctx to the shared fetch val (a
// sharedJWKSFetch) it waited on. It does nothing for the caller that
// started the fetch (its span is the fetch's parent already) or when ctx's
// span is not recording.
func linkJWKSFetch(ctx context.Context, val any) {
	f, ok := val.(sharedJWKSFetch)
	if !ok || !f.span.IsValid() {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() && span.SpanContext().SpanID() != f.parent {
		span.AddLink(trace.Link{SpanContext: f.span, Attributes: []attribute.KeyValue{attribute.String("stytchguard.link", "coalesced JWKS fetch")}})
	}
}

// tracedFetch runs fetchJWKS on the Verifier's lifetime in a span that is a
// child of trigger's (a root span for the background refresh), and returns
// the span's context.
func (v *Verifier) tracedFetch(trigger context.Context) (trace.SpanContext, error) {
	_, span := v.tracer.Start(trigger, SpanFetchJWKS, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	err := v.fetchJWKS(trace.ContextWithSpan(v.life, span))
	if err != nil {
		span.SetStatus(codes.Error, "JWKS fetch failed")
		span.SetAttributes(attribute.String("stytchguard.outcome", "failure"))
	} else {
		span.SetAttributes(attribute.String("stytchguard.outcome", "success"))
	}
	return span.SpanContext(), err
}

// SpanFetchJWKS is the name of the span of a JWKS fetch.
const SpanFetchJWKS = "stytchguard.verifier.fetch_jwks"

// lookupKey returns the verification key for kid. An unknown kid (or no
// usable key set) triggers one shared, rate-limited refetch. While a usable
// key set is held, a kid it lacks after that refetch (or when the refetch
// is rate-limited, fails or takes too long) is ErrUnknownKey: Stytch
// publishes keys long before signing with them, so such tokens are treated
// as forged and never cost a remote call. Without a usable key set the
// answer is ErrKeysUnavailable, unless a refetch just succeeded without the
// kid.
func (v *Verifier) lookupKey(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	if s := v.usableSnapshot(now); s != nil {
		if k := s.keys[kid]; k != nil {
			return k, nil
		}
	}
	err := v.sharedFetch(ctx, true)
	s := v.usableSnapshot(v.now())
	if s != nil {
		if k := s.keys[kid]; k != nil { // brought by this or a concurrent fetch
			return k, nil
		}
	}
	switch {
	case err == nil && s != nil:
		return nil, tokenErr(ErrUnknownKey, "kid not in the JWKS after a refetch")
	case err == nil:
		return nil, tokenErr(ErrKeysUnavailable, "no usable JWKS")
	case s != nil && errors.Is(err, errRateLimited):
		return nil, tokenErr(ErrUnknownKey, "kid not in the JWKS")
	case s != nil:
		return nil, tokenErrCause(ErrUnknownKey, "kid not in the JWKS; refetch failed", err)
	case errors.Is(err, errRateLimited):
		return nil, tokenErr(ErrKeysUnavailable, "no usable JWKS; refetch rate-limited")
	default:
		return nil, tokenErrCause(ErrKeysUnavailable, "no usable JWKS; refetch failed", err)
	}
}

// refreshLoop refreshes the key set in the background: every refresh
// interval (with jitter) after a success, with exponential backoff after a
// failure, until Close.
func (v *Verifier) refreshLoop(firstOK bool) {
	defer v.loopWG.Done()
	var backoff time.Duration
	next := func(ok bool) time.Duration {
		if ok {
			backoff = 0
			return jitter(v.refreshInterval)
		}
		backoff = nextBackoff(backoff, v.retryMin, v.retryMax)
		return backoff
	}
	timer := time.NewTimer(next(firstOK))
	defer timer.Stop()
	for {
		select {
		case <-v.done:
			return
		case <-timer.C:
		}
		err := v.sharedFetch(v.life, false)
		if errors.Is(err, errClosed) {
			return
		}
		timer.Reset(next(err == nil))
	}
}

// nextBackoff doubles the previous retry delay (zero before the first
// failure) within [lo, hi]: with the defaults 1 s, 2 s, 4 s ... 60 s.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	return min(max(2*prev, lo), hi)
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	spread := int64(d / 10)
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}

// jwksPath is the JWKS path of a project, relative to the base URL.
func jwksPath(projectID string) string {
	return client.PathJWKSPrefix + projectID
}
