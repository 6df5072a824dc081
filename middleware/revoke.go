package middleware

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/verifier"
)

// Fleet is state shared by the replicas of a service: a feed of revoked
// sessions and a shared cache of Stytch's Authenticate answers. fleet.Redis
// implements it over Redis. Set it as Config.Fleet; the Guard does not
// close it (several Guards may share one).
type Fleet interface {
	// Announce publishes that sessionID is revoked, to be remembered until
	// until. It returns nil once the fleet has it; otherwise the
	// announcement may be queued for later delivery, and the error says
	// what happened.
	Announce(ctx context.Context, sessionID string, until time.Time) error
	// Watch calls fn for every revocation announced by any replica, this
	// one included, and for those missed while cut off once the replica is
	// back. The returned func stops the calls.
	Watch(fn func(sessionID string, until time.Time)) (stop func())
	// Current returns nil while this replica is current with the feed, and
	// why not otherwise. It is called on every decision and must be cheap
	// and allocation-free.
	Current() error
	// LoadAuthenticate returns the answer stored for credential and
	// variant, or nil and no error on a miss.
	LoadAuthenticate(ctx context.Context, credential, variant string) (*client.AuthenticateResponse, error)
	// StoreAuthenticate stores an answer for credential and variant for
	// ttl.
	StoreAuthenticate(ctx context.Context, credential, variant string, resp *client.AuthenticateResponse, ttl time.Duration) error
	// ForgetSession drops every answer stored for sessionID.
	ForgetSession(ctx context.Context, sessionID string) error
}

// DefaultFleetOutageMaxTokenAge is the default Config.FleetOutageMaxTokenAge.
const DefaultFleetOutageMaxTokenAge = 30 * time.Second

// maxJWTLifetime is the longest a Stytch session JWT lives (exp - iat).
const maxJWTLifetime = 5 * time.Minute

// revocations is the set of sessions revoked on this replica or announced
// by the fleet, each kept until no JWT minted before its revocation, and no
// remote answer cached before it, can still be valid.
//
// Reads are lock-free and allocation-free: one atomic load of an immutable
// revSet and at most two map lookups. Writers (serialized by mu) replace
// the revSet: an add copies only the small recent map (at most recentMax
// entries) and shares the base; when recent is full, or once something
// held has expired (at most once per sweepEvery), both are merged into a
// new base without the expired entries. An add therefore costs
// O(recentMax) plus, amortized, O(n/recentMax) for a set of n, instead of
// a copy of the whole set, and the set shrinks back at the first add after
// its entries expire.
type revocations struct {
	set atomic.Pointer[revSet]
	mu  sync.Mutex // serializes writers
}

// revSet is one immutable state of revocations: neither map is modified
// once stored.
type revSet struct {
	base, recent map[string]time.Time
	// n is the number of sessions held, expired ones included until the
	// next merge.
	n int
	// earliest is the earliest end held (zero when none); notBefore is
	// sweepEvery after the last merge (or the first add). From the later
	// of the two on, the next add merges even though recent is not full,
	// dropping what has expired.
	earliest, notBefore time.Time
}

// sweepDue reports whether an add at now should merge to drop expired
// entries.
func (s *revSet) sweepDue(now time.Time) bool {
	return !s.earliest.IsZero() && !now.Before(s.earliest) && !now.Before(s.notBefore)
}

const (
	// recentMax is the most entries of the recent map; the next add
	// merges it into the base.
	recentMax = 256
	// sweepEvery is the shortest time between two merges made to drop
	// expired entries, so that a steady stream of expiries does not make
	// every add copy the base.
	sweepEvery = time.Minute
)

// add records sessionID as revoked until until (keeping a later end
// already recorded). now is the clock of the expiry: merges drop what
// ended by now.
func (rv *revocations) add(sessionID string, until, now time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	old := rv.set.Load()
	if old == nil {
		old = &revSet{}
	}
	if u, ok := old.recent[sessionID]; ok && !until.After(u) {
		return
	}
	if u, ok := old.base[sessionID]; ok && !until.After(u) {
		return
	}
	if len(old.recent) >= recentMax || old.sweepDue(now) {
		rv.set.Store(merge(old, sessionID, until, now))
		return
	}
	recent := make(map[string]time.Time, len(old.recent)+1)
	maps.Copy(recent, old.recent)
	next := &revSet{base: old.base, recent: recent, n: old.n, earliest: old.earliest, notBefore: old.notBefore}
	_, inRecent := recent[sessionID]
	if _, inBase := old.base[sessionID]; !inRecent && !inBase {
		next.n++
	}
	recent[sessionID] = until
	if next.notBefore.IsZero() {
		next.notBefore = now.Add(sweepEvery)
	}
	if next.earliest.IsZero() || until.Before(next.earliest) {
		next.earliest = until
	}
	rv.set.Store(next)
}

// merge returns a new revSet whose base holds old's entries still in force
// at now, and sessionID's, and whose recent map is empty.
func merge(old *revSet, sessionID string, until, now time.Time) *revSet {
	base := make(map[string]time.Time, len(old.base)+len(old.recent)+1)
	var earliest time.Time
	put := func(id string, u time.Time) {
		if !u.After(now) {
			return
		}
		if prev, ok := base[id]; ok && !u.After(prev) {
			return
		}
		base[id] = u
		if earliest.IsZero() || u.Before(earliest) {
			earliest = u
		}
	}
	for id, u := range old.base {
		put(id, u)
	}
	for id, u := range old.recent {
		put(id, u)
	}
	put(sessionID, until)
	return &revSet{base: base, n: len(base), earliest: earliest, notBefore: now.Add(sweepEvery)}
}

// revoked reports whether sessionID is revoked at now. It takes no lock and
// allocates nothing.
func (rv *revocations) revoked(sessionID string, now time.Time) bool {
	s := rv.set.Load()
	if s == nil || s.n == 0 {
		return false
	}
	if u, ok := s.recent[sessionID]; ok && now.Before(u) {
		return true
	}
	u, ok := s.base[sessionID]
	return ok && now.Before(u)
}

// size is the number of sessions held, expired ones included until the
// next merge.
func (rv *revocations) size() int {
	if s := rv.set.Load(); s != nil {
		return s.n
	}
	return 0
}

// ErrNotAnnounced reports that Revoke revoked the session at Stytch and on
// this replica, but could not announce it to the fleet yet; the cause (for
// fleet.Redis, fleet.ErrQueued when the announcement waits in its queue for
// Redis to come back) tells more.
var ErrNotAnnounced = errors.New("middleware: revocation not announced to the fleet yet")

// ErrNoSession is returned by Revoke for a principal without a member
// session (an M2M client, or none).
var ErrNoSession = errors.New("middleware: principal has no member session")

// Revoke ends p's session: it revokes it at Stytch (Sessions.Revoke by
// member_session_id), refuses its JWTs and session token on this replica at
// once (401 session_expired, cookies cleared), and announces it to the
// fleet, whose replicas refuse it as soon as they hear of it. The local
// refusal lasts as long as a JWT minted before now can be valid or a
// remote answer cached before now can be served: max(5 minutes,
// Remote.CacheTTL) plus twice the leeway; a replica that hears of it keeps
// it at least its own Remote.CacheTTL from then. It happens even when
// Stytch cannot be reached, so that a logout always takes effect here.
//
// Errors: ErrNoSession; Stytch's error (the session may still be valid
// there; retry); an error matching ErrNotAnnounced when the fleet did not
// take the announcement (it may be queued). Several can be joined.
func (g *Guard) Revoke(ctx context.Context, p *Principal) error {
	var s *client.MemberSession
	if p != nil {
		s = p.session()
	}
	if s == nil || s.MemberSessionID == "" {
		return ErrNoSession
	}
	id := s.MemberSessionID
	now := g.cfg.Now()
	until := now.Add(g.retention())
	g.revoked.add(id, until, now)
	var errs []error
	if _, err := g.client.Sessions.Revoke(ctx, &client.RevokeParams{MemberSessionID: id}); err != nil && !errors.Is(err, client.ErrSessionInvalid) {
		errs = append(errs, fmt.Errorf("middleware: revoking the session at Stytch: %w", err))
	}
	if f := g.cfg.Fleet; f != nil {
		if err := f.Announce(ctx, id, until); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrNotAnnounced, err))
		}
		if err := f.ForgetSession(ctx, id); err != nil {
			g.cfg.Logger.Warn("stytchguard: could not drop the shared answers of a revoked session", "error", err)
		}
	}
	return errors.Join(errs...)
}

// LogoutHandler revokes the request's session with Revoke, clears the
// session cookies and answers 204 No Content (then calls next, when not
// nil, instead of answering). A request without a session gets 204 and
// cleared cookies too: logging out twice is not an error. When Revoke
// fails at Stytch the session is still refused on this replica and its
// cookies cleared; the failure is logged, and the answer is 204.
//
// Wrap it in Authenticate or Optional so that it sees the principal, e.g.
// mux.Handle("POST /logout", g.Optional(g.LogoutHandler(nil))). A request
// that carries session cookies must pass Config.CrossOrigin (else 403
// cross_origin), so that another site cannot sign a user out.
func (g *Guard) LogoutHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.CookiesNamed(g.cfg.JWTCookie))+len(r.CookiesNamed(g.cfg.TokenCookie)) > 0 {
			if err := g.crossOrigin(r); err != nil {
				g.cfg.ErrorHandler(w, r, err)
				return
			}
		}
		if p, ok := r.Context().Value(ctxKey{}).(*Principal); ok && p != nil && p.guard == g {
			// A client that goes away must not cancel its own logout.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), logoutTimeout)
			err := g.Revoke(ctx, p)
			cancel()
			if err != nil {
				g.cfg.Logger.Warn("stytchguard: logout", "error", err)
			}
		}
		g.clearCookies(w)
		w.Header().Set("Cache-Control", "no-store")
		if next != nil {
			next.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// logoutTimeout bounds LogoutHandler's revocation, which runs detached
// from the request.
const logoutTimeout = 10 * time.Second

// retention is how long Revoke keeps a session refused on this replica:
// as long as a JWT minted just before can be valid (iat + 5 min, plus the
// leeway on exp, and its iat may itself run ahead by the leeway), and as
// long as a remote answer about it, cached just before, can be served
// (Remote.CacheTTL, which may be longer). Another replica extends what it
// hears to its own Remote.CacheTTL (see heard).
func (g *Guard) retention() time.Duration {
	return max(maxJWTLifetime, g.cfg.Remote.CacheTTL) + 2*g.leeway()
}

// heard records a revocation announced by the fleet. The announcer chose
// until for JWTs and for its own cache; this replica also keeps it as long
// as an answer its own remote cache took before hearing of it can be
// served.
func (g *Guard) heard(sessionID string, until time.Time) {
	now := g.cfg.Now()
	if ttl := g.cfg.Remote.CacheTTL; ttl > 0 {
		if u := now.Add(ttl); u.After(until) {
			until = u
		}
	}
	g.revoked.add(sessionID, until, now)
}

// leeway is the clock skew the Guard's verifier allows: the configured one
// for a verifier the Guard built, the largest a Verifier can have for a
// shared one (whose setting the Guard cannot see).
func (g *Guard) leeway() time.Duration {
	switch {
	case !g.ownVerifier:
		return verifier.MaxLeeway
	case g.cfg.Leeway < 0:
		return 0
	case g.cfg.Leeway == 0:
		return verifier.DefaultLeeway
	}
	return g.cfg.Leeway
}
