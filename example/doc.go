// Command example is a runnable demo of stytchguard: an HTTP API whose routes
// are protected by Stytch B2B sessions and RBAC, on chi and on net/http's
// ServeMux.
//
// # Run
//
//	go run ./example            # embedded Stytch emulator, demo data, no network
//	go run ./example -addr :9000 -v
//	go run ./example -session-ttl 10m
//
// Without configuration it starts an embedded [stytchtest] emulator, seeds the
// organizations acme and globex, the members alice (admin), bob (editor) and
// carol (viewer) of acme and dave (admin) of globex, and a policy:
//
//	admin:  documents *, invoices *
//	editor: documents read/write, invoices read
//	viewer: documents read
//
// It prints, for each member, a curl line with a session JWT and the session
// token. A session JWT lives 5 minutes; after that the guard has Stytch (the
// emulator) check it on each request. In a browser, /demo/login?member=alice
// sets fresh session cookies and /demo shows which requests the guards allow
// and refuse for that member.
//
// # Seeing the refresh path at once
//
// In emulator mode the emulator and the guards share a demo clock. It reads
// the wall clock until the "+6 min" button of /demo (POST
// /demo/clock/advance?by=6m) moves it forward: the session JWT in the
// browser's cookies has then expired for both, so the next request is
// checked by the emulator, which mints a fresh JWT, and the guard re-issues
// the cookies. -session-ttl sets the lifetime of the demo sessions (default
// 24h, whole minutes from 5m, as Stytch allows); with -session-ttl 10m two
// presses end the session itself, and the next request is refused with 401
// session_expired.
//
// With STYTCH_PROJECT_ID and STYTCH_SECRET set it uses that Stytch project
// instead (STYTCH_BASE_URL optionally overrides the API base URL): no demo
// data, no /demo pages. The start-up output says which one is used.
//
// # Routes
//
//	GET    /healthz                       public; the guard's HealthHandler (200 ready, 503 not)
//	GET    /metrics                       public; the guards' OpenTelemetry metrics, Prometheus text format
//	GET    /me                            any session; the Principal as JSON
//	POST   /logout                        revokes the session, clears the cookies; 204
//	GET    /orgs/{orgID}/documents        documents:read
//	GET    /orgs/{orgID}/documents/{id}   documents:read
//	POST   /orgs/{orgID}/documents        documents:write; Content-Type: application/json, {"title": "..."}
//	DELETE /orgs/{orgID}/documents/{id}   documents:delete
//	GET    /orgs/{orgID}/invoices         invoices:read
//	GET    /m2m/orgs/{orgID}/documents    M2M access token with scope read:documents (Bearer only)
//	GET    /m2m/orgs/{orgID}/invoices     M2M access token with scope read:invoices (Bearer only)
//
// The same routes are served by http.ServeMux under /std/. {orgID} must be
// the session's own organization, or the request is refused with 403
// tenancy_mismatch. Documents live in memory, per organization; their ids
// are doc-N (doc-1, doc-2 and doc-3 are seeded), as the POST answers them.
// The list and get answers carry granting_roles, the roles that granted the
// route (Principal.Verdict), or for an M2M client its client_id and scopes.
//
// The /m2m routes are guarded by RequireScopes: they take M2M access tokens
// (OAuth 2.0 client credentials, see client.M2M.Token) whose scopes grant the
// route's, and whose organization_id custom claim names {orgID}. In emulator
// mode the client m2m-client-test-reporting holds read:documents for acme;
// the start-up output prints its secret and curl lines that get a token from
// the emulator's token endpoint and call the routes. The member routes
// refuse M2M tokens (401) and the /m2m routes member sessions (403), since
// the guards do not set middleware.Config.AcceptM2M.
//
// /metrics serves the metrics the guards and the policy cache record through
// the OpenTelemetry API (stytchguard_decisions_total by outcome, source and
// subject, stytchguard_remote_duration_seconds, cache lookups, key and
// policy ages, breaker state), exported by the OpenTelemetry Prometheus
// exporter from an SDK MeterProvider the example sets as
// middleware.Config.MeterProvider. A real service would serve it on an
// internal address.
//
// In emulator mode, /demo is the browser demo, /demo/login?member=NAME signs
// in, POST /demo/clock/advance?by=6m moves the demo clock and POST
// /demo/csrf replays a cross-site request (see the page). Every response
// that sets cookies then carries the demo-only header X-Demo-Set-Cookie
// naming them and their expiry (never their values), so the page can show
// the HttpOnly cookies the guard re-issued.
//
// SIGINT or SIGTERM shuts the server down gracefully, then closes the guards
// and the emulator.
//
// [stytchtest]: https://pkg.go.dev/github.com/stytchguard/stytchguard/stytchtest
package main
