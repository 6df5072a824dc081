package verifier

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// Sent is what a remote Authenticate call was asked about.
type Sent struct {
	SessionJWT   string                     // the JWT sent, if any
	SessionToken string                     // the opaque token sent, if any
	Identity     Identity                   // the session the credential is known to be about (Verified.Identity), if known
	Check        *client.AuthorizationCheck // the authorization_check sent, if any
}

// ErrUnboundAnswer reports a 200 answer from Stytch that is not about what
// was sent, or is incomplete. It is an upstream fault (a misbehaving
// gateway or proxy, an API change), never a verdict on the credential: it
// matches client.ErrUnavailable, never ErrInvalidToken.
var ErrUnboundAnswer = newCategory("verifier: answer not bound to the credential sent", client.ErrUnavailable)

// unbound is the error of a failed binding rule; rule is fixed text that
// quotes nothing from the answer or the credential.
func unbound(rule string) error { return &bindError{rule} }

type bindError struct{ rule string }

func (e *bindError) Error() string { return ErrUnboundAnswer.Error() + ": " + e.rule }
func (e *bindError) Unwrap() error { return ErrUnboundAnswer }

// BindAnswer checks that resp, a successful answer of the remote
// Authenticate, is about what was sent, before anything uses it, caches it
// or turns it into cookies:
//
//   - resp carries a complete member_session (member_session_id, member_id
//     and organization_id); member.member_id, member.organization_id and
//     organization.organization_id, when present, are the session's;
//   - the session id, member id and organization are sent.Identity's when
//     it is set (for either credential: a caller that decided the
//     credential before knows its session); for a JWT sent, they are the
//     JWT's (the identity decoded from sent.SessionJWT when sent.Identity
//     is zero); for an opaque token sent, the answer's session_token, which
//     every 200 of Authenticate carries, is the one sent;
//   - a returned session_jwt is a session JWT about member_session (session
//     id, subject, organization) and verifies against the JWKS; when no
//     usable keys are held, its claims are still compared, decoded without
//     the signature check. A forged, malformed or M2M session_jwt fails;
//   - with sent.Check, the answer carries a verdict with authorized true,
//     for the check's organization (when it names one) being the session's,
//     and every granting role is one of the session's roles.
//
// A failure is an error matching ErrUnboundAnswer (and so
// client.ErrUnavailable) naming the rule in fixed text: no token and no id
// from the answer. now is the time for the session_jwt check; the zero Time
// reads the clock. A returned session_jwt that verifies is kept in the
// verified-token cache. It is safe for concurrent use.
func (v *Verifier) BindAnswer(ctx context.Context, resp *client.AuthenticateResponse, sent Sent, now time.Time) error {
	if resp == nil {
		return unbound("no answer")
	}
	ms := &resp.MemberSession
	if ms.MemberSessionID == "" || ms.MemberID == "" || ms.OrganizationID == "" {
		return unbound("member_session missing or incomplete")
	}
	if id := resp.Member.MemberID; id != "" && id != ms.MemberID {
		return unbound("member is not the session's member")
	}
	if id := resp.Member.OrganizationID; id != "" && id != ms.OrganizationID {
		return unbound("member is not in the session's organization")
	}
	if id := resp.Organization.OrganizationID; id != "" && id != ms.OrganizationID {
		return unbound("organization is not the session's")
	}
	if sent.SessionJWT == "" && sent.SessionToken == "" {
		return unbound("nothing was sent to bind the answer to")
	}
	id := sent.Identity
	if id == (Identity{}) && sent.SessionJWT != "" {
		var ok bool
		if id, ok = decodedIdentity(sent.SessionJWT); !ok {
			return unbound("the JWT sent names no session")
		}
	}
	if id != (Identity{}) && id != sessionIdentity(ms) {
		return unbound("member_session is not the session of the credential sent")
	}
	if sent.SessionJWT == "" && resp.SessionToken != sent.SessionToken {
		// An answer about an opaque token names it: one that does not is
		// about some other session, or about nothing that can be checked.
		return unbound("session_token is not the one sent")
	}
	if resp.SessionJWT != "" {
		e, err := v.lookup(ctx, resp.SessionJWT, kindSession, 0, now)
		switch {
		case err == nil, errors.Is(err, ErrKeysUnavailable) && e != nil:
			// Verified, or decoded with its claims checked where no keys
			// can check its signature.
		default:
			return unbound("session_jwt does not verify as a session JWT")
		}
		if e.ident != sessionIdentity(ms) {
			return unbound("session_jwt is not about member_session")
		}
	}
	if c := sent.Check; c != nil {
		if resp.Verdict == nil || !resp.Verdict.Authorized {
			return unbound("no authorized verdict for the authorization check sent")
		}
		if c.OrganizationID != "" && c.OrganizationID != ms.OrganizationID {
			return unbound("authorized verdict for another organization than the session's")
		}
		for _, role := range resp.Verdict.GrantingRoles {
			if !slices.Contains(ms.Roles, role) {
				return unbound("verdict granted by a role the session does not hold")
			}
		}
	}
	return nil
}

// sessionIdentity is the Identity a member session names.
func sessionIdentity(ms *client.MemberSession) Identity {
	return Identity{SessionID: ms.MemberSessionID, MemberID: ms.MemberID, OrganizationID: ms.OrganizationID}
}

// decodedIdentity decodes, without verifying, the identity of a session
// JWT.
func decodedIdentity(tok string) (Identity, bool) {
	t, err := parse(tok)
	if err != nil || t.p.kind() != kindSession || t.p.Organization == nil {
		return Identity{}, false
	}
	id := t.p.identity()
	return id, id.SessionID != "" && id.MemberID != "" && id.OrganizationID != ""
}
