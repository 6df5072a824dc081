// Command stytchtest runs the Stytch B2B API emulator of package stytchtest
// as a standalone server, so that a service in any language, or a browser
// frontend, can be developed and tested against it without a Stytch
// project.
//
// It serves the B2B sessions endpoints (authenticate, get, exchange,
// migrate, revoke, JWKS), the RBAC policy endpoints, the M2M token endpoint
// and the M2M clients API with the wire format of the real API, plus GET
// /healthz. It keeps everything in memory and trusts whoever reaches it: it
// is a development tool, not a Stytch replacement, and listens on loopback
// unless told otherwise.
//
// # Usage
//
//	go run ./cmd/stytchtest [flags]
//
//	-addr address      where to listen (default 127.0.0.1:0, a free port)
//	-project-id id     project id (default: the seed's, else generated)
//	-secret secret     project secret (default: the seed's, else generated)
//	-seed file         JSON seed: policy, organizations, members, M2M clients
//	-tls               serve HTTPS with a certificate signed by a CA made for this run
//	-ca-file file      with -tls, where to write the CA certificate (default: a
//	                   temporary file, removed on exit)
//	-json              print the start-up information as one line of JSON
//	-log               log every request to stderr
//
// Once it listens it prints the base URL, the project id and secret, the
// JWKS and health URLs, a ready session token and session JWT for every
// seeded member, and the id and secret of every seeded M2M client, then
// serves until SIGINT or SIGTERM and shuts down gracefully (requests in
// flight finish). With -json the same information is one JSON object:
//
//	{"base_url", "project_id", "secret", "jwks_url", "health_url", "ca_file",
//	 "sessions": [{"organization_id", "organization_slug", "member_id",
//	   "email_address", "roles", "session_token", "session_jwt", "expires_at"}],
//	 "m2m_clients": [{"client_id", "client_secret", "scopes"}]}
//
// The seed format is stytchtest.Seed; testdata/seed.json is an example with
// two organizations, members with the roles admin, editor and viewer, a
// policy with a documents resource (read, write, delete) and an M2M client
// holding read:documents. Session JWTs last five minutes; authenticate the
// session token to get a fresh one.
//
// # Recipe
//
// Start the emulator with the example seed and fixed credentials:
//
//	go run ./cmd/stytchtest -addr 127.0.0.1:4010 -seed cmd/stytchtest/testdata/seed.json \
//	    -project-id project-test-local -secret secret-test-local
//
// Authenticate a printed session token as your backend would:
//
//	curl -s -u project-test-local:secret-test-local -H 'Content-Type: application/json' \
//	    -d '{"session_token":"<session_token>"}' http://127.0.0.1:4010/v1/b2b/sessions/authenticate
//
// Get an M2M access token for the seeded client:
//
//	curl -s -u m2m-client-test-indexer:indexer-secret-change-me -d grant_type=client_credentials \
//	    http://127.0.0.1:4010/v1/public/project-test-local/oauth2/token
//
// Point a Go service at it with client.Config{ProjectID, Secret, BaseURL:
// "http://127.0.0.1:4010"} (or the same three values in this module's
// middleware and verifier). The official Node SDK accepts only https://
// base URLs, so start the emulator with -tls and trust its CA:
//
//	go run ./cmd/stytchtest -tls -addr 127.0.0.1:4443 -ca-file /tmp/stytchtest-ca.pem \
//	    -seed cmd/stytchtest/testdata/seed.json -project-id project-test-local -secret secret-test-local
//	NODE_EXTRA_CA_CERTS=/tmp/stytchtest-ca.pem node app.js   # custom_base_url: "https://127.0.0.1:4443"
//
// A script runs it in the background and reads the start-up line of -json,
// for example with jq:
//
//	go build -o /tmp/stytchtest ./cmd/stytchtest
//	/tmp/stytchtest -json -seed cmd/stytchtest/testdata/seed.json > /tmp/stytchtest.json &
//	until [ -s /tmp/stytchtest.json ]; do sleep 0.1; done
//	jq -r '.sessions[0].session_token' /tmp/stytchtest.json
//	kill %1   # SIGTERM: a clean shutdown
package main
