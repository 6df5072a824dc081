// Package reliability holds the reliability harness of stytchguard: scenario
// tests that drive the whole stack (the stytchtest emulator, the client, the
// verifier, the rbac policy cache and the middleware behind a real
// http.Server on loopback, called by real HTTP clients) through Stytch
// outages, floods, thundering herds and hostile HTTP input, assert each
// scenario's pass criterion and print its figures with t.Log.
//
// The package has no non-test code. Run it with
//
//	go test -race -v ./internal/reliability
//
// for the bounded form used in CI (well under a minute), and with
//
//	go test -race -v -timeout 30m ./internal/reliability -args -long
//
// (or STYTCHGUARD_LONG=1 in the environment) for the full durations and
// counts. Hours and days of Stytch time pass on a fake clock
// (stytchtest.Clock); only the background refresh loops, timeouts and the
// circuit breaker run on the real clock, with intervals shortened in the
// bounded form.
//
// # Scenarios
//
//  1. JWKS outage with a warm cache (503, hang, HTML, 2 MiB body) over 24 h
//     of fake time: no valid request fails, JWKS attempts stay within the
//     retry policy, the heap stays flat.
//  2. Cold start with the JWKS down: the remote path (or 503) meanwhile, no
//     request waits past its timeouts, local verification resumes within one
//     retry step.
//  3. Key rotation under load: no failure, at most one extra JWKS fetch.
//  4. Unknown-kid flood: at most one JWKS fetch per refetch window, no remote
//     call, valid traffic unaffected.
//  5. Authenticate faults (500, 429, 2.5 s latency, resets) for expired-JWT
//     traffic: only 503 or success, the breaker opens, probes and recovers.
//  6. Herds: one remote call for 1,000 concurrent requests with one expired
//     JWT; remote concurrency within the limit for distinct JWTs.
//  7. Policy outage: the stale policy serves until its maximum staleness,
//     then Stytch decides, or 503; never an allow without a policy.
//  8. Hostile HTTP input: 400, 401 or 431, never a 500 or a panic, and a
//     bounded cost per rejection.
//  9. Leaks: goroutines return to their baseline after Close (goleak).
//
// The load driver that measures throughput and latency lives in
// internal/loadtest.
package reliability
