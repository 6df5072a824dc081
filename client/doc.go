// Package client is a client for the Stytch B2B sessions, RBAC policy and
// M2M APIs, with every request and response type of the reference under its
// exact JSON names.
//
// # Calls
//
// [New] validates a [Config] and returns a [Client] whose [Client.Sessions]
// has Authenticate, Get, Exchange, Migrate, Revoke and GetJWKS, and whose
// [Client.RBAC] has Policy and OrgPolicy. Each call takes a context and a
// params struct; parameters are validated before any request is sent
// ([ErrInvalidParams]).
//
// # M2M
//
// [M2M.Token] obtains an M2M access token with the OAuth 2.0
// client-credentials grant at POST /v1/public/{project_id}/oauth2/token. It
// sends the form body the reference SDK sends and no project credentials:
// the M2M client's id and secret authenticate the request. The token is a
// JWT signed with the project's keys, valid for an hour
// ([M2MTokenLifetime]); verify it locally (package verifier) rather than
// asking Stytch. [M2M.Clients] manages the M2M clients with the project
// secret (create, get, update, delete, search).
//
// The base URL follows the project id ("project-live-" selects the live API,
// anything else the test API) unless [Config.BaseURL] names another one, such
// as a custom domain or the emulator of package stytchtest. Requests carry
// HTTP Basic auth, JSON headers and a User-Agent naming this library.
//
// # Errors
//
// Only HTTP 200 and 201 succeed. Any other answer is an [*Error] carrying the
// HTTP status, request id, error type, message and URL. Callers branch with
// errors.Is on the categories:
//
//   - [ErrSessionInvalid]: Stytch says the credential is bad (404
//     session_not_found, a 401 that does not blame the project credentials,
//     400 about the token): log the user out.
//   - [ErrForbidden]: an authorization check was refused (403
//     session_authorization_error or session_authorization_tenancy_error).
//   - [ErrUnavailable]: no answer could be had (5xx, 429 with
//     [RetryAfter], timeouts, transport errors, bodies that are not JSON):
//     try later, and do not log the user out.
//   - [ErrUnauthorizedCredentials]: the project id or secret is wrong.
//   - [ErrInvalidClient]: the M2M token endpoint refused the M2M client
//     (401 invalid_client: unknown client, wrong secret, deactivated
//     client; unauthorized_client). Fix the client's credentials or
//     status; retrying does not help.
//   - [ErrBadRequest]: another 4xx (including a 404 or 403 of another
//     type, and the token endpoint's invalid_request,
//     unsupported_grant_type and invalid_scope): it says nothing about the
//     session.
//
// The token endpoint answers errors in the OAuth 2.0 shape {error,
// error_description, error_uri}; they arrive as an [*Error] whose ErrorType,
// ErrorMessage and ErrorURL carry those three values unchanged, and never
// match [ErrSessionInvalid] or [ErrUnauthorizedCredentials].
//
// Response bodies are read through a 1 MiB cap. The secret is sent only in
// the Authorization header and appears in no error.
package client
