// Package stytchtest is a Stytch-compatible emulator of the B2B sessions,
// RBAC and M2M API for tests. It is ordinary library code, meant to be imported
// by the tests of any program that talks to Stytch: start a [Server], point
// the code under test at [Server.URL] with the server's ProjectID and
// Secret, create sessions with [Server.NewSession], and exercise real HTTP
// over loopback instead of mocks.
//
// # What it serves
//
// A Server listens on 127.0.0.1 with a random port and answers, with the
// paths, methods, JSON shapes, status codes and error bodies of the real
// API:
//
//   - POST /v1/b2b/sessions/authenticate (session token or JWT, expiry
//     extension, custom-claims merge, authorization_check with verdict)
//   - GET /v1/b2b/sessions?organization_id=…&member_id=… (active sessions)
//   - POST /v1/b2b/sessions/exchange (full session, or an intermediate
//     session token with primary_required, see
//     [Server.SetOrganizationAuthMethods], or mfa_required, see
//     [Server.SetOrganizationMFARequired])
//   - POST /v1/b2b/sessions/migrate (tokens registered with
//     [Server.RegisterExternalToken])
//   - POST /v1/b2b/sessions/revoke (one of member_session_id,
//     session_token, session_jwt, member_id; honours the
//     X-Stytch-Member-Session and X-Stytch-Member-SessionJWT headers)
//   - GET /v1/b2b/sessions/jwks/{project_id} (with or without Basic auth)
//   - GET /v1/b2b/rbac/policy
//   - GET and PUT /v1/b2b/rbac/organizations/{organization_id}
//   - POST /v1/public/{project_id}/oauth2/token (M2M access tokens, see
//     [Server.NewM2MClient] and below)
//   - POST /v1/m2m/clients, POST /v1/m2m/clients/search, and GET, PUT and
//     DELETE /v1/m2m/clients/{client_id} (the M2M clients API)
//
// Every other endpoint requires HTTP Basic auth with the project id and
// secret (401 unauthorized_credentials otherwise). Every response carries a
// request_id "request-id-test-<uuid>" and a status_code equal to the HTTP
// status; errors have the API's body {status_code, request_id, error_type,
// error_message, error_url}. Responses contain every key the API sends,
// empty or not: the Organization, Member and MemberSession objects carry
// every key the official Go and Node SDKs declare, with a fresh project's
// values ([] and {} for empty lists and maps, null for an absent SCIM
// connection or member lock, "NOT_ALLOWED" and "ALL_ALLOWED" where the docs
// name those defaults), and every authentication factor carries
// sequence_order "PRIMARY" as the docs' sample does. Timestamps are RFC 3339 UTC with whole seconds; ids look
// like "member-test-<uuid>"; session tokens are 44 base64url characters.
//
// # Tokens
//
// Minted session JWTs carry the header {alg RS256, kid, typ JWT} and the
// claims iss "stytch.com/<project id>" (or Options.CustomDomainIssuer), aud
// [project id], sub (member id), iat, nbf = iat, exp = iat + 5 minutes
// (capped at the session's expiry), the "https://stytch.com/session" and
// "https://stytch.com/organization" objects, and the session's custom
// claims at the top level. Authenticate accepts a JWT whose exp has passed
// as long as its signature verifies against a published key and its
// session is alive, and returns a fresh one. Keys can be rotated
// ([Server.RotateKey]), published and withdrawn; [Server.SignClaims] signs
// arbitrary claims for attack tests.
//
// # M2M access tokens
//
// The token endpoint is the OAuth 2.0 client-credentials grant (RFC 6749
// §4.4). It is authenticated by an M2M client, never by the project
// secret, and accepts the client id and secret in a form body (what the
// Go SDK sends), in a JSON body, or as HTTP Basic credentials with a form
// body (form-encoded first, as RFC 6749 §2.3.1 says, or raw). A scope
// parameter narrows the token to some of the client's scopes; without it
// the token carries them all. The answer is {status_code, request_id,
// access_token, token_type "bearer", expires_in 3600} with Cache-Control:
// no-store. The token is signed RS256 with the current key and carries sub
// (the client id), iss, aud [project id], scope (one space-separated
// string), iat = nbf = now and exp = iat + 3600, plus the client's custom
// claims at the top level; it has no session or organization claim.
//
// Every error of the token endpoint, faults included, has the OAuth 2.0
// body {status_code, request_id, error, error_description, error_uri}.
// The checks run in this order: an unreadable body, a repeated parameter,
// two client authentication methods or a Basic user that differs from the
// body's client_id give 400 invalid_request; a missing grant_type 400
// invalid_request and another grant type 400 unsupported_grant_type;
// missing client credentials, an unknown client, a wrong secret, an
// inactive or deleted client, or another project's id in the path 401
// invalid_client (one body for all, with a Basic challenge when Basic was
// used); a scope the client does not hold 400 invalid_scope. A fault
// without an ErrorType answers server_error (500), temporarily_unavailable
// (503), or the session API's type for other statuses (too_many_requests).
//
// The M2M clients API answers 200 with {m2m_client} (the secret only from
// create) and errors of the session API's shape: 404 m2m_client_not_found,
// 400 duplicate_m2m_client_id, insecure_m2m_client_secret (a chosen secret
// under 8 characters), m2m_client_invalid_client_id, invalid_m2m_client_scope,
// m2m_client_invalid_status, and the m2m_search_* types for a malformed
// query. Search filters client_id, client_name and scopes take arrays of
// strings; pages hold 100 clients unless limit says otherwise (at most
// 1000), in creation order. Secret rotation is not modelled.
//
// # Authorization
//
// The server checks authorization_check itself, independently of any client
// library: the check's organization must be the session's (else 403
// session_authorization_tenancy_error), and some session role of the
// project policy followed by the organization's custom roles must list the
// exact resource with the action or "*" (else 403
// session_authorization_error). The verdict lists every granting role in
// policy order. The project policy starts as [DefaultPolicy].
//
// # Time, faults and counters
//
// Options.Now drives every time decision (session expiry, JWT times); a
// [Clock] makes tests independent of the wall clock. [Server.SetFault]
// makes an endpoint answer with an error status (with Retry-After), a raw
// non-JSON or huge body, added latency, a dropped connection or a request
// that hangs until the client gives up; [Server.Calls] counts requests per
// endpoint. [Server.Close] releases hanging requests, so no goroutine
// outlives it.
//
// # Choices where the API is not documented
//
// Malformed JSON gives 400 bad_request; an unknown route 404 not_found; a
// wrong method 405 method_not_allowed; a JWKS request for another project
// 404 project_not_found. A session JWT that is malformed, badly signed or
// signed by an unpublished key gives 400 unable_to_parse_session_jwt (and
// 401 with that type when sent in X-Stytch-Member-SessionJWT); a wrong
// issuer or audience 400 jwt_invalid_issuer / jwt_invalid_audience.
// Reserved or https://stytch.com/ custom claims are rejected (400) rather
// than ignored. The organization policy endpoint answers {"roles":[]} for
// any organization without custom roles. Exchange never asks for MFA and
// keeps the original session alive. Migrate of a token that was not
// registered gives 400 migrate_from_external_unexpected_response, and of a
// member absent from the organization 404
// migrate_from_external_email_does_not_exist. Implicit SSO roles are not
// modelled. The verdict key is present only when an authorization_check
// was sent and passed.
//
// # Seeds, fixed addresses and TLS
//
// A [Seed] describes a project's content (the RBAC policy, organizations
// with custom roles and members, M2M clients); [LoadSeed] reads one from
// JSON and [Server.ApplySeed] creates it and returns ready session tokens
// and JWTs. Options.Listener serves on a listener of the caller's (a fixed
// address) and Options.TLS serves HTTPS. GET [PathHealth] answers 200
// {"status":"ok"}. The command cmd/stytchtest puts these together into a
// standalone emulator for programs in any language.
//
// # Start-up cost
//
// NewServer takes a couple of milliseconds when Options.SigningKey is set
// and far longer when it has to generate an RSA-2048 key; a test suite
// that starts many servers should generate one key and pass it to all of
// them.
package stytchtest
