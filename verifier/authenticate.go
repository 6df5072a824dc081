package verifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// AuthenticateJWT authenticates p.Body.SessionJWT, locally when it can and
// through the remote Authenticate only when the remote can succeed where the
// local check could not.
//
//   - p.MaxTokenAge zero or negative, or an empty SessionJWT: remote, with
//     p.Body as is (reference semantics: zero means "always ask the API"),
//     except that a SessionJWT is decoded, without verification, first: one
//     over Config.MaxTokenBytes, malformed, breaking the header rules or
//     that is an M2M access token (ErrM2MToken) is refused locally.
//   - A valid token with a Body that changes the session
//     (SessionDurationMinutes or SessionCustomClaims set): remote, since
//     only Stytch can apply the change (the reference SDK would silently
//     drop it on a local success).
//   - The token verifies locally and is younger than MaxTokenAge: the result
//     is local and holds the MemberSession only (no tokens, member,
//     organization or request id). With an AuthorizationCheck, the
//     Config.Authorizer decides: a pass adds its Verdict, a denial (an error
//     matching client.ErrForbidden) is returned as is; without an
//     Authorizer, or when it cannot decide, the request goes remote.
//   - The token is authentic but expired or too old, or no usable keys are
//     held (CanRefreshRemotely): remote, which returns a fresh JWT.
//   - Any other local failure (bad signature, wrong alg, issuer or audience,
//     malformed, forbidden header, kid still unknown after the shared
//     refetch, an M2M access token, expired or not): the local *TokenError,
//     with no call to Stytch.
//
// Every remote answer is bound to what was sent with BindAnswer before it
// is returned: one that fails is an error matching ErrUnboundAnswer (and
// client.ErrUnavailable), and the answer is not returned. When the remote
// call is needed but no client is configured, the error matches
// ErrNoClient (and the local reason, if there was one). Remote
// errors are the client package's: this is one bare call, without the
// retry, Retry-After handling, coalescing and circuit breaker of package
// middleware. It is safe for concurrent use.
func (v *Verifier) AuthenticateJWT(ctx context.Context, p *client.AuthenticateJWTParams) (*client.AuthenticateResponse, error) {
	if p == nil || p.Body == nil {
		return nil, fmt.Errorf("verifier: %w: AuthenticateJWT needs params with a Body", client.ErrInvalidParams)
	}
	body := p.Body
	sent := Sent{SessionJWT: body.SessionJWT, SessionToken: body.SessionToken, Check: body.AuthorizationCheck}
	if body.SessionJWT == "" {
		return v.authenticateRemote(ctx, body, sent, nil)
	}
	if p.MaxTokenAge <= 0 {
		// Always remote, but nothing oversized, malformed or of the wrong
		// kind is sent to Stytch: the token is decoded (not verified) first.
		if len(body.SessionJWT) > v.maxTokenBytes {
			return nil, tokenErr(ErrTokenTooLarge, "longer than the configured maximum")
		}
		t, err := parse(body.SessionJWT)
		if err == nil && t.p.kind() == kindM2M {
			err = m2mErr(tokenErr(ErrM2MToken, "an M2M access token, not a session JWT"))
		}
		if err != nil {
			return nil, err
		}
		return v.authenticateRemote(ctx, body, sent, nil) // BindAnswer decodes the identity
	}
	e, err := v.lookup(ctx, body.SessionJWT, kindSession, p.MaxTokenAge, time.Time{})
	if e != nil {
		sent.Identity = e.ident
	}
	if err != nil {
		if CanRefreshRemotely(err) {
			return v.authenticateRemote(ctx, body, sent, err)
		}
		return nil, err
	}
	resp := &client.AuthenticateResponse{MemberSession: e.res.session}
	if body.SessionDurationMinutes != 0 || body.SessionCustomClaims != nil {
		return v.authenticateRemote(ctx, body, sent, nil)
	}
	ms := &resp.MemberSession
	if body.AuthorizationCheck != nil {
		if v.authorizer == nil {
			return v.authenticateRemote(ctx, body, sent, nil)
		}
		verdict, err := v.authorizer.Authorize(ctx, ms, body.AuthorizationCheck)
		switch {
		case err == nil:
			resp.Verdict = verdict
		case errors.Is(err, client.ErrForbidden):
			return nil, err
		default:
			v.log.Debug("verifier: local authorization undecided; asking Stytch", "error", err)
			return v.authenticateRemote(ctx, body, sent, nil)
		}
	}
	return resp, nil
}

// authenticateRemote calls the remote Authenticate and binds its answer to
// what was sent: an answer that fails BindAnswer is returned as its error,
// never as a response.
func (v *Verifier) authenticateRemote(ctx context.Context, body *client.AuthenticateParams, sent Sent, local error) (*client.AuthenticateResponse, error) {
	if v.remote == nil {
		if local != nil {
			return nil, fmt.Errorf("%w (%w)", ErrNoClient, local)
		}
		return nil, ErrNoClient
	}
	resp, err := v.remote.Sessions.Authenticate(ctx, body)
	if err != nil {
		return nil, err
	}
	if err := v.BindAnswer(ctx, resp, sent, time.Time{}); err != nil {
		return nil, err
	}
	return resp, nil
}
