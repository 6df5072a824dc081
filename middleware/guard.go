package middleware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/rbac"
	"github.com/stytchguard/stytchguard/verifier"
)

// Guard authenticates requests with Stytch B2B sessions and authorizes them
// against the RBAC policy. Build it once with New; it is safe for concurrent
// use. Close stops its background work.
type Guard struct {
	cfg      Config
	client   *client.Client
	verifier *verifier.Verifier
	policies *rbac.Cache
	remote   *remote
	tel      *telemetry
	revoked  revocations
	// prefetch spaces the policy fetches of health probes.
	prefetch *rate.Limiter
	// stopWatch ends the fleet's revocation feed to this Guard.
	stopWatch func()

	// ownVerifier, ownPolicies: the Guard built them, on cfg.Now.
	ownVerifier, ownPolicies bool
	// ownClient: the Guard built the client and its private HTTP client.
	ownClient bool
}

// New validates cfg and builds a Guard: a client, a verifier (whose JWKS
// fetch starts in the background; New does not fail while Stytch is
// unreachable) and a policy cache, unless shared ones are given. Errors: an
// unusable Config (empty ProjectID, no Secret nor Client, negative limits).
func New(cfg Config) (*Guard, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	g := &Guard{cfg: cfg, client: cfg.Client, verifier: cfg.Verifier, policies: cfg.Policies,
		prefetch: rate.NewLimiter(rate.Every(prefetchEvery), 1)}
	if g.client != nil && g.client.ProjectID() != cfg.ProjectID {
		return nil, fmt.Errorf("%w: Client is for another project than ProjectID", errConfig)
	}
	if g.verifier != nil && g.verifier.ProjectID() != cfg.ProjectID {
		return nil, fmt.Errorf("%w: Verifier is for another project than ProjectID", errConfig)
	}
	if g.verifier != nil && g.verifier.MaxTokenBytes() < cfg.MaxCredentialBytes {
		// The cap is MaxCredentialBytes alone: a shared verifier with a
		// smaller one would refuse, later and as another error, what the
		// guard admitted.
		return nil, fmt.Errorf("%w: MaxCredentialBytes (%d) is over the shared Verifier's MaxTokenBytes (%d)",
			errConfig, cfg.MaxCredentialBytes, g.verifier.MaxTokenBytes())
	}
	if g.policies != nil && g.policies.ProjectID() != cfg.ProjectID {
		return nil, fmt.Errorf("%w: Policies are for another project than ProjectID", errConfig)
	}
	if g.client == nil {
		c, err := client.New(client.Config{ProjectID: cfg.ProjectID, Secret: cfg.Secret, BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient})
		if err != nil {
			return nil, err
		}
		g.client, g.ownClient = c, cfg.HTTPClient == nil
	}
	if g.policies == nil {
		p, err := rbac.New(rbac.Config{Client: g.client, Now: cfg.Now, Logger: cfg.Logger,
			TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
		if err != nil {
			return nil, err
		}
		g.policies, g.ownPolicies = p, true
	}
	if g.verifier == nil {
		v, err := verifier.New(context.Background(), verifier.Config{
			ProjectID:          cfg.ProjectID,
			BaseURL:            g.client.BaseURL(),
			HTTPClient:         cfg.HTTPClient,
			Leeway:             cfg.Leeway,
			Now:                cfg.Now,
			CustomDomainIssuer: cfg.CustomDomainIssuer,
			MaxTokenBytes:      cfg.MaxCredentialBytes,
			Client:             g.client,
			TracerProvider:     cfg.TracerProvider,
			Authorizer:         g.policies,
			Logger:             cfg.Logger,
		})
		if err != nil {
			if g.ownPolicies {
				_ = g.policies.Close()
			}
			return nil, err
		}
		g.verifier, g.ownVerifier = v, true
	}
	tel, err := newTelemetry(&g.cfg, g)
	if err != nil {
		g.closeOwned()
		return nil, err
	}
	g.tel = tel
	g.remote = newRemote(g.client, &g.cfg, tel)
	if f := cfg.Fleet; f != nil {
		g.stopWatch = f.Watch(g.heard)
	}
	return g, nil
}

// Close stops the background work of the verifier and policy cache the Guard
// built (not shared ones) and waits for in-flight remote calls to end.
func (g *Guard) Close() error {
	if g.stopWatch != nil {
		g.stopWatch()
	}
	g.remote.close()
	errs := []error{g.tel.close()}
	return errors.Join(append(errs, g.closeOwned())...)
}

// closeOwned closes what the Guard built.
func (g *Guard) closeOwned() error {
	var errs []error
	if g.ownVerifier {
		errs = append(errs, g.verifier.Close())
	}
	if g.ownPolicies {
		errs = append(errs, g.policies.Close())
	}
	if g.ownClient {
		g.client.HTTPClient().CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// Authenticate requires a valid session: requests without one get 401 (or
// 503 when Stytch is needed and unreachable). The handler finds the
// Principal with FromContext. A CORS preflight passes untouched unless
// Config.GuardOPTIONS is set; every other request, OPTIONS included, is
// guarded.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return g.serve(next, &route{})
}

// Optional authenticates when a credential is present: a request without a
// usable session (none, malformed, forged, expired or revoked) reaches the
// handler with no Principal (one an outer guard or NewContext stored is
// removed), and cookies are cleared when Stytch said the session is gone.
// Only when Stytch is needed and unreachable does it refuse with 503, so
// that a signed-in user is not shown a signed-out page.
func (g *Guard) Optional(next http.Handler) http.Handler {
	return g.serve(next, &route{optional: true})
}

// Require authenticates like Authenticate, then authorizes action on
// resource in the route's organization (Config.OrganizationID, or the
// session's own): another organization is 403 tenancy_mismatch, a permission
// no session role grants is 403 forbidden. The policy is evaluated locally;
// when no usable policy exists, Stytch's Authenticate with an
// authorization_check decides (503 when unreachable). Guards compose: a
// route may carry several, and the session is authenticated once.
//
// Require panics when resource or action is empty: that is a programming
// error of the route table, caught when routes are built.
func (g *Guard) Require(resource, action string) func(http.Handler) http.Handler {
	if resource == "" || action == "" {
		panic("middleware: Require needs a resource and an action")
	}
	rt := &route{resource: resource, action: action}
	return func(next http.Handler) http.Handler { return g.serve(next, rt) }
}

// RequireScopes admits M2M access tokens (Bearer only) whose scopes grant
// every listed scope, with Stytch's rule: a scope is "action:resource",
// split at the first colon, and a held resource "*" grants any resource.
// A member session gets 403 forbidden, and so does a token lacking a scope;
// the challenge names what is missing (error="insufficient_scope",
// scope="read:documents"). When Config.OrganizationID names an organization
// for the request, the token's Config.M2MOrganizationClaim must equal it
// (else 403 tenancy_mismatch). M2M tokens are verified locally only: an
// expired one is 401 with no call to Stytch.
//
// RequireScopes panics without a scope, or with an empty one: that is a
// programming error of the route table.
func (g *Guard) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 || slices.Contains(scopes, "") {
		panic("middleware: RequireScopes needs non-empty scopes")
	}
	rt := &route{scopes: slices.Clone(scopes)}
	return func(next http.Handler) http.Handler { return g.serve(next, rt) }
}

// RequireRecentAuth authenticates like Authenticate, then requires that the
// session's most recent authentication factor is younger than maxAge (RFC
// 9470 step-up): otherwise the answer is 401 with WWW-Authenticate: Bearer
// error="insufficient_user_authentication", max_age=N, and the cookies are
// kept (the user signs in again with a factor, not from scratch). A factor
// exactly maxAge old is too old. It works on local and remote decisions
// alike, and refuses M2M principals (no user authenticated). Use it after
// Require on a route that needs both; RequireRecentMFA and
// RequireRecentFactor count only some factor types.
//
// RequireRecentAuth panics when maxAge is not positive.
func (g *Guard) RequireRecentAuth(maxAge time.Duration) func(http.Handler) http.Handler {
	return g.RequireRecentFactor(maxAge)
}

// RequireRecentFactor is RequireRecentAuth counting only the factors of the
// given types (Stytch's authentication factor "type", for example "totp");
// with no types every factor counts.
//
// RequireRecentFactor panics when maxAge is not positive.
func (g *Guard) RequireRecentFactor(maxAge time.Duration, factorTypes ...string) func(http.Handler) http.Handler {
	if maxAge <= 0 {
		panic("middleware: RequireRecentAuth needs a positive maxAge")
	}
	rt := &route{recent: maxAge, factorTypes: slices.Clone(factorTypes)}
	return func(next http.Handler) http.Handler { return g.serve(next, rt) }
}

// MFAFactorTypes returns the authentication factor types Stytch B2B uses
// for a second factor: SMS one-time passcodes, authenticator apps and
// recovery codes. The caller may modify the result.
func MFAFactorTypes() []string { return []string{"otp", "totp", "recovery_codes"} }

// RequireRecentMFA is RequireRecentAuth counting only MFA factors
// (MFAFactorTypes).
func (g *Guard) RequireRecentMFA(maxAge time.Duration) func(http.Handler) http.Handler {
	return g.RequireRecentFactor(maxAge, MFAFactorTypes()...)
}

// route is what one guarded route asks for beyond a valid session.
type route struct {
	optional         bool
	resource, action string
	recent           time.Duration // step-up: the latest factor's maximum age
	factorTypes      []string      // step-up: the factor types that count
	scopes           []string      // RequireScopes: machine clients only
}

// serve is the one handler behind every guard method.
func (g *Guard) serve(next http.Handler, rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.preflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		varyOnCredentials(w.Header())
		r, span := g.tel.startDecision(r)
		start := g.start(r)
		now := g.now()
		// fleetErr is a failure of the fleet's shared cache met on the
		// way, for Decision.FleetErr.
		var fleetErr error
		p, r2, err := g.authenticate(w, r, now, rt, &fleetErr)
		switch {
		case err != nil:
		case p.m2mClaims() != nil || rt.scopes != nil:
			err = g.authorizeClient(r, p, rt)
		case rt.resource != "":
			err = g.authorize(w, r, p, rt.resource, rt.action, now, &fleetErr)
		}
		if err == nil && rt.recent > 0 {
			err = g.recentEnough(p, rt, now)
		}
		if (err != nil || p.Source != SourceLocal) && setsCookies(w) {
			// A response that sets or clears the session cookies is never
			// stored by a shared cache, whatever the handler says.
			w = noStore(w)
		}
		switch {
		case err == nil:
			g.decided(r, start, span, p, rt, nil, false, fleetErr)
			next.ServeHTTP(w, r2)
			finished(w)
		case rt.optional && !errors.Is(err, ErrUnavailable):
			// Optional goes on anonymously, except when Stytch is needed
			// and down: answering as if signed out would log the user out
			// of the page. No principal means none: one an outer guard or
			// NewContext stored is removed.
			g.decided(r, start, span, p, rt, err, true, fleetErr)
			next.ServeHTTP(w, withoutPrincipal(r))
			finished(w)
		default:
			g.decided(r, start, span, p, rt, err, false, fleetErr)
			g.cfg.ErrorHandler(w, r, err)
		}
	})
}

// authorizeClient decides a route for an M2M principal, and refuses a
// member session on a RequireScopes route.
func (g *Guard) authorizeClient(r *http.Request, p *Principal, rt *route) error {
	m := p.m2mClaims()
	if m == nil {
		e := newError(ErrPermissionDenied, "route is for machine clients", nil)
		e.Scope = strings.Join(rt.scopes, " ")
		return e
	}
	required := rt.scopes
	switch {
	case required != nil:
	case !g.cfg.AcceptM2M:
		return newError(ErrInvalidToken, "M2M access tokens are not accepted here", nil)
	case rt.resource != "":
		// Stytch's scope for the session check's (resource, action).
		required = []string{rt.action + ":" + rt.resource}
	}
	if hook := g.cfg.OrganizationID; hook != nil && (rt.resource != "" || rt.scopes != nil) {
		org := hook(r)
		if org == "" && rt.resource != "" {
			return newError(ErrTenancyMismatch, "route names no organization", nil)
		}
		if claim, _ := m.CustomClaims[g.cfg.M2MOrganizationClaim].(string); org != "" && claim != org {
			return newError(ErrTenancyMismatch, "client is bound to another organization", nil)
		}
	}
	if missing := missingScopes(m.Scopes, required); missing != nil {
		e := newError(ErrPermissionDenied, "client lacks a required scope", nil)
		e.Scope = strings.Join(missing, " ")
		return e
	}
	return nil
}

// recentEnough is the step-up check of RequireRecentAuth.
func (g *Guard) recentEnough(p *Principal, rt *route, now time.Time) error {
	s := p.session()
	if s == nil {
		return stepUp(rt.recent, "no user authentication")
	}
	if now.IsZero() || p.Source != SourceLocal {
		now = g.cfg.Now()
	}
	var latest time.Time
	for i := range s.AuthenticationFactors {
		f := &s.AuthenticationFactors[i]
		if len(rt.factorTypes) > 0 && !slices.Contains(rt.factorTypes, f.Type) {
			continue
		}
		if f.LastAuthenticatedAt != nil && f.LastAuthenticatedAt.After(latest) {
			latest = *f.LastAuthenticatedAt
		}
	}
	if latest.IsZero() {
		return stepUp(rt.recent, "no qualifying authentication factor")
	}
	if now.Sub(latest) >= rt.recent { // younger than maxAge, strictly
		return stepUp(rt.recent, "authentication is too old")
	}
	return nil
}

// now reads the clock once for the verifier and the policy cache when they
// share it (the Guard built both on cfg.Now); otherwise it returns the zero
// Time, and each reads its own.
// Reading the clock costs tens of nanoseconds on some machines, a fair share
// of a cached decision.
func (g *Guard) now() time.Time {
	if g.ownVerifier && g.ownPolicies {
		return g.cfg.Now()
	}
	return time.Time{}
}

// preflight reports whether r passes untouched: a CORS preflight (OPTIONS
// with Origin and Access-Control-Request-Method, claiming no other method
// through an override header), unless Config.GuardOPTIONS is set.
func (g *Guard) preflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && !g.cfg.GuardOPTIONS &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" &&
		effectiveMethod(r) == http.MethodOptions
}

// authenticate returns the request's Principal (reusing one an outer guard
// stored) and the request carrying it. now is g.now()'s reading; a failure
// of the fleet's shared cache is left in *fleetErr.
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request, now time.Time, rt *route, fleetErr *error) (*Principal, *http.Request, error) {
	// Reuse the session an outer guard of this Guard decided; a Principal
	// from another Guard (other project or MaxTokenAge) or from NewContext
	// is not trusted.
	// (Read without FromContext, which would copy the principal out for a
	// handler.)
	if p, ok := r.Context().Value(ctxKey{}).(*Principal); ok && p != nil && p.guard == g {
		return p, r, nil
	}
	cred, err := g.extract(r)
	if err != nil {
		return nil, r, err
	}
	if cred.FromCookies {
		// A browser sends cookies with cross-site requests too: an unsafe
		// method authenticated by them must come from a trusted origin.
		if err := g.crossOrigin(r); err != nil {
			return nil, r, err
		}
	}
	pc, ctx := newPrincipal(r.Context())
	if err := g.decide(w, r.Context(), cred, &pc.p, now, rt, fleetErr); err != nil {
		return nil, r, err
	}
	pc.p.guard = g
	return &pc.p, r.WithContext(ctx), nil
}

func (g *Guard) extract(r *http.Request) (Credential, error) {
	for _, ex := range g.cfg.Extractors {
		cred, err := ex(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				err = newError(ErrMalformedCredentials, "", err)
			}
			return Credential{}, err
		}
		if !cred.empty() {
			// Whatever the extractor, nothing of the wrong shape or size
			// goes further (and never to Stytch); the built-in ones have
			// checked already.
			if cred.shaped {
				return cred, nil
			}
			if cred.SessionJWT != "" && Classify(cred.SessionJWT, g.cfg.MaxCredentialBytes) != KindJWT ||
				cred.SessionToken != "" && Classify(cred.SessionToken, g.cfg.MaxCredentialBytes) != KindSessionToken {
				return Credential{}, newError(ErrMalformedCredentials, "", nil)
			}
			return cred, nil
		}
	}
	return Credential{}, newError(ErrMissingCredentials, "", nil)
}

// decide runs steps 2-4 of the decision flow: local verification of a JWT,
// and the remote Authenticate only when it can succeed.
// It fills p, and *fleetErr when the fleet's shared cache failed.
func (g *Guard) decide(w http.ResponseWriter, ctx context.Context, cred Credential, p *Principal, now time.Time, rt *route, fleetErr *error) error {
	// A RequireScopes route admits machine clients only: a member's
	// credential is refused there without asking Stytch anything.
	notForMembers := func() error {
		e := newError(ErrPermissionDenied, "route is for machine clients", nil)
		e.Scope = strings.Join(rt.scopes, " ")
		return e
	}
	if cred.SessionJWT != "" {
		maxAge := g.cfg.MaxTokenAge
		if f := g.cfg.Fleet; f != nil && f.Current() != nil {
			// Cut off from the revocation feed: trust only young JWTs, and
			// let Stytch judge the others.
			maxAge = min(cmp.Or(maxAge, g.cfg.FleetOutageMaxTokenAge), g.cfg.FleetOutageMaxTokenAge)
		}
		// The values are the verified-token cache's own, shared read-only;
		// the principal hands out copies.
		v, err := g.verifier.VerifyShared(ctx, cred.SessionJWT, maxAge, now)
		g.tel.cacheLookup(ctx, cacheVerified, v.Cached)
		if err == nil {
			if v.M2M != nil {
				if cred.FromCookies {
					// A machine client has no browser: an M2M token in a
					// cookie was planted there.
					return newError(ErrInvalidToken, "M2M access token in a cookie", nil)
				}
				p.shared = shared{m2m: v.M2M}
				p.Source, p.cred = SourceLocal, cred
				return nil
			}
			if rt.scopes != nil {
				return notForMembers()
			}
			if g.isRevoked(v.Session.MemberSessionID, now) {
				return g.refuseRevoked(w, cred)
			}
			p.shared = shared{session: v.Session, claims: v.Claims}
			p.Source, p.cred = SourceLocal, cred
			return nil
		}
		if !verifier.CanRefreshRemotely(err) {
			return newError(ErrInvalidToken, "", err)
		}
		if rt.scopes != nil {
			return notForMembers()
		}
		if errors.Is(err, verifier.ErrKeysUnavailable) {
			g.cfg.Logger.Warn("stytchguard: signing keys unavailable; asking Stytch", "error", err)
		}
		sent := verifier.Sent{SessionJWT: cred.SessionJWT, Identity: v.Identity}
		return g.remoteDecide(w, ctx, cred, &client.AuthenticateParams{SessionJWT: cred.SessionJWT}, sent, p, fleetErr)
	}
	if rt.scopes != nil {
		return notForMembers()
	}
	sent := verifier.Sent{SessionToken: cred.SessionToken}
	return g.remoteDecide(w, ctx, cred, &client.AuthenticateParams{SessionToken: cred.SessionToken}, sent, p, fleetErr)
}

// binder returns the check of the answers to a remote call about sent: an
// answer that fails it is an upstream fault, logged once with Stytch's
// request id.
func (g *Guard) binder(ctx context.Context, sent verifier.Sent) binder {
	return func(resp *client.AuthenticateResponse) error {
		if err := g.verifier.BindAnswer(ctx, resp, sent, time.Time{}); err != nil {
			g.cfg.Logger.Error("stytchguard: Stytch's answer is not about the credential sent; refusing it",
				"error", err, "request_id", resp.RequestID)
			return err // matches verifier.ErrUnboundAnswer and client.ErrUnavailable
		}
		return nil
	}
}

// isRevoked reports whether the session was revoked through Revoke or the
// fleet's feed. now is g.now()'s reading (zero: read the clock).
func (g *Guard) isRevoked(sessionID string, now time.Time) bool {
	if g.revoked.size() == 0 {
		return false
	}
	if now.IsZero() {
		now = g.cfg.Now()
	}
	return g.revoked.revoked(sessionID, now)
}

// refuseRevoked answers a revoked session as Stytch would: 401
// session_expired, cookies cleared.
func (g *Guard) refuseRevoked(w http.ResponseWriter, cred Credential) error {
	if cred.FromCookies {
		g.clearCookies(w)
	}
	return newError(ErrSessionExpired, "session revoked", nil)
}

func (g *Guard) remoteDecide(w http.ResponseWriter, ctx context.Context, cred Credential, params *client.AuthenticateParams, sent verifier.Sent, p *Principal, fleetErr *error) error {
	resp, fromCache, ferr, err := g.remote.authenticate(ctx, params, g.binder(ctx, sent))
	*fleetErr = ferr
	if err != nil {
		return g.remoteError(w, cred, nil, err)
	}
	src := SourceRemote
	if fromCache {
		src = SourceCache
	}
	if g.isRevoked(resp.MemberSession.MemberSessionID, time.Time{}) {
		return g.refuseRevoked(w, cred)
	}
	// The answer is shared with the requests it was coalesced or cached
	// for: the principal points into it, and hands out copies.
	p.shared = shared{session: &resp.MemberSession, member: &resp.Member, org: &resp.Organization}
	p.Source, p.cred, p.verdict = src, cred, resp.Verdict
	if cred.FromCookies && resp.SessionJWT != "" {
		g.setCookies(w, resp)
		p.cred = Credential{SessionJWT: resp.SessionJWT, SessionToken: resp.SessionToken, FromCookies: true}
	}
	return nil
}

// remoteError maps a remote failure to the Guard's errors: a definite "no"
// is 401 (cookies cleared), an outage is 503 (cookies kept). check is the
// authorization check sent, if any: a refusal of it names the permission
// (insufficient_scope), and a permission refusal when none was sent is not
// about the request (an upstream fault, 503). The cause it keeps prints
// with the credential cut out, since an upstream message may quote it and
// the error reaches OnDecision and the ErrorHandler.
func (g *Guard) remoteError(w http.ResponseWriter, cred Credential, check *client.AuthorizationCheck, err error) *Error {
	e := g.remoteErrorOf(w, cred, check, err)
	if e.Cause != nil {
		e.Cause = &redactedError{err: e.Cause, text: redacted(e.Cause, cred)}
	}
	return e
}

func (g *Guard) remoteErrorOf(w http.ResponseWriter, cred Credential, check *client.AuthorizationCheck, err error) *Error {
	switch {
	case errors.Is(err, verifier.ErrUnboundAnswer):
		// Logged once, with Stytch's request id, where it was found.
		return unavailable("", time.Second, err)
	case errors.Is(err, client.ErrSessionInvalid):
		if cred.FromCookies {
			g.clearCookies(w)
		}
		return newError(ErrSessionExpired, "", err)
	case check == nil && errors.Is(err, client.ErrForbidden):
		// No authorization check was sent: a refusal of one is about
		// something else.
		g.cfg.Logger.Error("stytchguard: Stytch refused a permission that was not asked", "error", redacted(err, cred), "request_id", requestID(err))
		return unavailable("", time.Second, err)
	case errors.Is(err, client.ErrTenancy):
		return newError(ErrTenancyMismatch, "", err)
	case errors.Is(err, client.ErrForbidden):
		e := newError(ErrPermissionDenied, "", err)
		e.Scope = check.ResourceID + ":" + check.Action
		return e
	case errors.Is(err, client.ErrBadRequest), errors.Is(err, client.ErrInvalidParams):
		// An answer that says nothing about the session: never a reason
		// to log the user out.
		g.cfg.Logger.Error("stytchguard: Stytch refused the request", "error", redacted(err, cred), "request_id", requestID(err))
		return unavailable("", time.Second, err)
	case errors.Is(err, client.ErrUnauthorizedCredentials):
		g.cfg.Logger.Error("stytchguard: Stytch rejected the project credentials", "error", redacted(err, cred), "request_id", requestID(err))
		return unavailable("", time.Minute, err)
	}
	var rl *retryLaterError
	failFast := errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) || errors.As(err, &rl)
	if !failFast && !errors.Is(err, context.Canceled) {
		// Fast failures are the breaker and Retry-After at work: logging
		// each would flood the log during an outage.
		g.cfg.Logger.Warn("stytchguard: Stytch unavailable", "error", redacted(err, cred), "request_id", requestID(err))
	}
	return unavailable("", g.remote.retryAfter(err), err)
}

// authorize runs step 5: tenancy, then the local policy, then Stytch when no
// usable policy exists (a failure of the fleet's shared cache on that call
// is added to *fleetErr).
func (g *Guard) authorize(w http.ResponseWriter, r *http.Request, p *Principal, resource, action string, now time.Time, fleetErr *error) error {
	sess := p.shared.session
	org := sess.OrganizationID
	if g.cfg.OrganizationID != nil {
		// A hook that names no organization fails closed: it usually reads
		// the wrong router or a misspelt parameter, while the handler acts
		// on the organization in the path.
		org = g.cfg.OrganizationID(r)
		if org == "" {
			return newError(ErrTenancyMismatch, "route names no organization", nil)
		}
	}
	check := client.AuthorizationCheck{OrganizationID: org, ResourceID: resource, Action: action}
	if org != sess.OrganizationID {
		return newError(ErrTenancyMismatch, "", nil)
	}
	if p.Source != SourceLocal {
		now = time.Time{} // read before a call to Stytch: read the clock again
	}
	ix, err := g.policies.IndexAt(r.Context(), sess.OrganizationID, now)
	if err == nil {
		// p.check lives on the heap already: checking through it costs no
		// allocation.
		p.check = check
		// Tenancy was checked above: a refusal here is a permission.
		if err := ix.Authorize(sess.OrganizationID, sess.Roles, &p.check); err != nil {
			e := newError(ErrPermissionDenied, "", err)
			e.Scope = resource + ":" + action
			return e
		}
		p.index, p.verdict = ix, nil
		return nil
	}
	// No usable policy: let Stytch decide with the same credential (a
	// Principal this Guard decided always carries it).
	cred := p.cred
	remoteCheck := check // only this copy escapes, and only on this path
	params := &client.AuthenticateParams{SessionJWT: cred.SessionJWT, AuthorizationCheck: &remoteCheck}
	if cred.SessionJWT == "" {
		params.SessionToken = cred.SessionToken
	}
	// The credential, JWT or opaque token, was decided before: bind the
	// answer to the session it was about.
	sent := verifier.Sent{SessionJWT: params.SessionJWT, SessionToken: params.SessionToken, Check: &remoteCheck,
		Identity: verifier.Identity{SessionID: sess.MemberSessionID, MemberID: sess.MemberID, OrganizationID: sess.OrganizationID}}
	resp, _, ferr, rerr := g.remote.authenticate(r.Context(), params, g.binder(r.Context(), sent))
	*fleetErr = joinErrors(*fleetErr, ferr)
	if rerr != nil {
		return g.remoteError(w, cred, &remoteCheck, rerr)
	}
	// Bound: the verdict authorizes, with roles the session holds.
	p.index, p.verdict, p.Source = nil, resp.Verdict, SourceRemote
	return nil
}

// The policy cache is the verifier's authorizer.
var _ verifier.Authorizer = (*rbac.Cache)(nil)
