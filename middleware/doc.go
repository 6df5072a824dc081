// Package middleware protects net/http handlers with Stytch B2B sessions.
//
// # Use
//
// Build one [Guard] with [New] and wrap handlers:
//
//	g, err := middleware.New(middleware.Config{
//		ProjectID:      os.Getenv("STYTCH_PROJECT_ID"),
//		Secret:         os.Getenv("STYTCH_SECRET"),
//		OrganizationID: func(r *http.Request) string { return r.PathValue("orgID") },
//	})
//	defer g.Close()
//	mux.Handle("GET /orgs/{orgID}/documents", g.Require("documents", "read")(listDocuments))
//
// With chi: r.Use(g.Authenticate) and r.With(g.Require("documents", "write")).
// Handlers read the session with [FromContext], [MemberSessionFromContext]
// and [ClaimsFromContext].
//
// # How a request is decided
//
//  1. The credential comes from "Authorization: Bearer" (exactly one header;
//     scheme case-insensitive) or the stytch_session_jwt / stytch_session
//     cookies; the header wins when both are present. A credential of
//     neither JWT nor session-token shape, over 8 KiB, or ambiguous
//     (duplicate cookies) is refused with 401 and never sent to Stytch.
//  2. A session JWT is verified locally against the cached JWKS: no network
//     call. Only when Stytch can still accept it (expired or older than
//     MaxTokenAge with a valid signature, or signing keys unavailable) is it
//     sent to Stytch's Authenticate; a forged or malformed JWT is refused
//     with 401 at once.
//  3. An opaque session token goes to Stytch's Authenticate; concurrent
//     requests with the same credential share one call, and the answer is
//     reused for a few seconds.
//  4. When Stytch returned a fresh JWT and the request used cookies, both
//     cookies are re-issued, so the next request is local again. When
//     Stytch said the session is gone, they are cleared.
//  5. Require checks the route's organization against the session's
//     (403 tenancy_mismatch), then the RBAC policy locally (403 forbidden);
//     without a usable policy, Stytch decides.
//  6. The [Principal] goes into the request context.
//
// # Several replicas
//
// With [Config].Fleet (fleet.Redis implements [Fleet]) the replicas of a
// service share revocations and Stytch's answers. [Guard.Revoke] (and
// [Guard.LogoutHandler]) revokes a session at Stytch, refuses it here at
// once and announces it; every replica refuses it as soon as it hears of
// it (one lock-free lookup on the hit path). A revoked session is kept as
// long as something issued before the revocation can still let it in:
// max(5 minutes, Remote.CacheTTL) plus twice the leeway where it was
// revoked, and at least the hearing replica's own Remote.CacheTTL
// elsewhere. While a replica is not current with the feed it trusts JWTs
// and cached answers for at most [Config].FleetOutageMaxTokenAge, and asks
// Stytch about older ones. [Decision].FleetErr tells [Config].OnDecision
// when the fleet is behind or its Redis failed for that decision.
//
// # Errors
//
// Refusals reach the [ErrorHandler] as an [*Error]; [DefaultErrorHandler]
// writes {"error": code, "error_description": text} with 401 and an RFC 6750
// WWW-Authenticate challenge (error="invalid_token" on every 401, a missing
// credential included), 403, or 503 with Retry-After. 503 means Stytch
// was needed but unreachable: a user is never logged out because Stytch is
// down. No token, cookie value or secret appears in a body or log record.
package middleware
