// Package rbac authorizes Stytch B2B sessions locally: it answers an
// AuthorizationCheck (organization, resource, action) from the project's RBAC
// policy and the organization's policy, with exactly the decision the Stytch
// API makes for the authorization_check of a session authentication, and
// keeps those policies cached, refreshed and safe to use under load.
//
// # Decision
//
// [Index.Authorize] and [Index.Verdict] decide a check for a subject (the
// session's organization and roles):
//
//  1. A nil check asks nothing and is allowed.
//  2. Tenancy first: the subject's organization must equal the check's
//     organization exactly, else the refusal is an [*AuthorizationError]
//     with ErrorType "session_authorization_tenancy_error" ([ErrTenancy]).
//  3. The roles are the project's followed by the organization's (an
//     organization role adds to a project role of the same id, it never
//     replaces it). A session role the policy does not define grants
//     nothing.
//  4. A role grants when one of its permissions has a resource_id equal to
//     the check's resource (exact and case-sensitive; resources have no
//     wildcard) and lists the check's action or "*". A requested action "*"
//     matches only a permission listing "*"; "update.*" is a literal action.
//  5. Otherwise the refusal is an [*AuthorizationError] with ErrorType
//     "session_authorization_error" ([ErrPermissionDenied]).
//
// Both refusals match [ErrForbidden] (and client.ErrForbidden): HTTP 403.
// Unlike the reference SDK's local check, [Index.Verdict] also reports every
// granting role, as the API's verdict does.
//
// [Compile] turns the policies into an [Index] keyed by resource and role, so
// a check costs one map lookup for the resource and one per session role,
// and an allowed check does not allocate.
//
// # Cache
//
// [Cache] fetches the project policy and each organization's policy through
// the client on first use (one fetch per policy in flight, however many
// requests wait for it), refreshes the policies in use in the background,
// keeps serving the last good policy while refreshes fail, and stops using it
// once it is older than [Config].MaxStaleness: a check then fails with
// [ErrPolicyUnavailable], never allows. The number of organizations kept is
// bounded. [Cache.Authorize] has the shape of the authorizer hook of local
// session verification; when it returns [ErrPolicyUnavailable] no decision
// was made and the caller should ask the Stytch API (an Authenticate call
// with an authorization_check) instead of guessing.
//
// # Telemetry
//
// A Cache uses the OpenTelemetry API only (the SDK is the application's
// choice), through [Config].TracerProvider and [Config].MeterProvider, the
// otel globals by default. Each policy fetch runs in a span named
// [FetchSpanName], a child of the request that needed the policy even when
// the fetch outlives it; rounds of the background refresher start root
// spans. The gauge [MetricPolicyAge] and the counter [MetricPolicyFetches]
// report the project policy's age and the fetches by outcome, and
// [Cache.Status] gives the same state to a health check. A check answered
// from cached policies touches none of it.
//
// # Errors
//
// Errors never contain a credential. The categories are those of package
// client, defined there once; the sentinels of this package refine them.
// Branch with errors.Is: [ErrForbidden] (client.ErrForbidden), with
// [ErrTenancy] (client.ErrTenancy) or [ErrPermissionDenied], for a refusal;
// [ErrPolicyUnavailable] (client.ErrUnavailable) when no decision could be
// made. errors.As with [*AuthorizationError] gives the refused check and the
// API's error_type (client.ErrorTypeTenancy or client.ErrorTypePermission).
package rbac
