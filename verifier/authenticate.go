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
//     except that a SessionJWT over Config.MaxTokenBytes or not of the JWS shape (three
//     base64url segments) is refused locally first.
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
//     refetch): the local *TokenError, with no call to Stytch.
//
// When the remote call is needed but no client is configured, the error
// matches ErrNoClient (and the local reason, if there was one). Remote
// errors are the client package's: this is one bare call, without the
// retry, Retry-After handling, coalescing and circuit breaker of package
// middleware. It is safe for concurrent use.
func (v *Verifier) AuthenticateJWT(ctx context.Context, p *client.AuthenticateJWTParams) (*client.AuthenticateResponse, error) {
	if p == nil || p.Body == nil {
		return nil, fmt.Errorf("verifier: %w: AuthenticateJWT needs params with a Body", client.ErrInvalidParams)
	}
	body := p.Body
	if body.SessionJWT == "" {
		return v.authenticateRemote(ctx, body, nil)
	}
	if p.MaxTokenAge <= 0 {
		// Always remote, but nothing malformed or oversized is sent to
		// Stytch (the local path checks the same before decoding).
		if len(body.SessionJWT) > v.maxTokenBytes {
			return nil, tokenErr(ErrTokenTooLarge, "longer than the configured maximum")
		}
		if err := checkShape(body.SessionJWT); err != nil {
			return nil, err
		}
		return v.authenticateRemote(ctx, body, nil)
	}
	session, _, err := v.VerifyShared(ctx, body.SessionJWT, p.MaxTokenAge, time.Time{})
	if err != nil {
		if CanRefreshRemotely(err) {
			return v.authenticateRemote(ctx, body, err)
		}
		return nil, err
	}
	resp := &client.AuthenticateResponse{MemberSession: *session}
	if body.SessionDurationMinutes != 0 || body.SessionCustomClaims != nil {
		return v.authenticateRemote(ctx, body, nil)
	}
	ms := &resp.MemberSession
	if body.AuthorizationCheck != nil {
		if v.authorizer == nil {
			return v.authenticateRemote(ctx, body, nil)
		}
		verdict, err := v.authorizer.Authorize(ctx, ms, body.AuthorizationCheck)
		switch {
		case err == nil:
			resp.Verdict = verdict
		case errors.Is(err, client.ErrForbidden):
			return nil, err
		default:
			v.log.Debug("verifier: local authorization undecided; asking Stytch", "error", err)
			return v.authenticateRemote(ctx, body, nil)
		}
	}
	return resp, nil
}

func (v *Verifier) authenticateRemote(ctx context.Context, body *client.AuthenticateParams, local error) (*client.AuthenticateResponse, error) {
	if v.remote == nil {
		if local != nil {
			return nil, fmt.Errorf("%w (%w)", ErrNoClient, local)
		}
		return nil, ErrNoClient
	}
	return v.remote.Sessions.Authenticate(ctx, body)
}
