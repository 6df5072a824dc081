package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/stytchguard/stytchguard/client"
	"github.com/stytchguard/stytchguard/middleware"
)

// Limits of a created document.
const (
	maxDocumentBody  = 16 << 10
	maxDocumentTitle = 200
)

// routes builds the app's handler: the API on chi at the root, the same API
// on http.ServeMux under /std/, and the demo pages in emulator mode.
func (a *app) routes(chiGuard, stdGuard *middleware.Guard) http.Handler {
	// chi: guards are route middleware, attached with With.
	chiAPI := api{store: a.store, param: chi.URLParam}
	r := chi.NewRouter()
	// Health and metrics are unguarded: a load balancer and Prometheus
	// scrape them without a session. They hold no credential.
	r.Method(http.MethodGet, "/healthz", chiGuard.HealthHandler())
	r.Method(http.MethodGet, "/metrics", a.metrics)
	r.With(chiGuard.Authenticate).Get("/me", me)
	// Logout revokes the session at Stytch, refuses it on every guard
	// (through Config.Fleet) and clears the cookies. Optional lets a
	// request without a session log out too (204 either way). Optional
	// treats a cross-origin cookie POST as anonymous, and the handler would
	// still clear the cookies, so another site could sign the member out:
	// net/http's cross-origin protection in front refuses that first.
	xo := http.NewCrossOriginProtection()
	r.Method(http.MethodPost, "/logout", xo.Handler(chiGuard.Optional(chiGuard.LogoutHandler(nil))))
	r.Route("/orgs/{orgID}", func(r chi.Router) {
		r.With(chiGuard.Require("documents", "read")).Get("/documents", chiAPI.listDocuments)
		r.With(chiGuard.Require("documents", "read")).Get("/documents/{id}", chiAPI.getDocument)
		r.With(chiGuard.Require("documents", "write")).Post("/documents", chiAPI.createDocument)
		r.With(chiGuard.Require("documents", "delete")).Delete("/documents/{id}", chiAPI.deleteDocument)
		r.With(chiGuard.Require("invoices", "read")).Get("/invoices", chiAPI.listInvoices)
	})
	// Machine clients: M2M access tokens (Bearer only) by scope, and the
	// token's organization_id claim must name {orgID}. Member sessions are
	// refused here (403), and M2M tokens on the member routes above (401),
	// since the guards do not set AcceptM2M.
	r.Route("/m2m/orgs/{orgID}", func(r chi.Router) {
		r.With(chiGuard.RequireScopes("read:documents")).Get("/documents", chiAPI.listDocuments)
		r.With(chiGuard.RequireScopes("read:invoices")).Get("/invoices", chiAPI.listInvoices)
	})
	if a.Mode == modeEmulator {
		d := &demo{app: a, guard: chiGuard}
		r.With(chiGuard.Optional).Get("/demo", d.page)
		r.Get("/demo/login", d.login)
		// The demo's POST endpoints that no guard covers get net/http's
		// cross-origin protection directly; /demo/csrf is behind Optional,
		// whose cross-origin check covers requests with cookies.
		r.Method(http.MethodPost, "/demo/clock/advance", xo.Handler(http.HandlerFunc(d.advanceClock)))
		r.With(chiGuard.Optional).Method(http.MethodPost, "/demo/csrf", xo.Handler(http.HandlerFunc(d.replayCrossSite)))
		r.Method(http.MethodPost, "/demo/m2m/token", xo.Handler(http.HandlerFunc(d.m2mToken)))
	}
	r.Get("/", a.index)

	// http.ServeMux (Go 1.22 patterns): a guard wraps each handler.
	stdAPI := api{store: a.store, param: func(r *http.Request, name string) string { return r.PathValue(name) }}
	std := http.NewServeMux()
	std.Handle("GET /std/healthz", stdGuard.HealthHandler())
	std.Handle("GET /std/me", stdGuard.Authenticate(http.HandlerFunc(me)))
	std.Handle("POST /std/logout", xo.Handler(stdGuard.Optional(stdGuard.LogoutHandler(nil))))
	std.Handle("GET /std/orgs/{orgID}/documents", stdGuard.Require("documents", "read")(http.HandlerFunc(stdAPI.listDocuments)))
	std.Handle("GET /std/orgs/{orgID}/documents/{id}", stdGuard.Require("documents", "read")(http.HandlerFunc(stdAPI.getDocument)))
	std.Handle("POST /std/orgs/{orgID}/documents", stdGuard.Require("documents", "write")(http.HandlerFunc(stdAPI.createDocument)))
	std.Handle("DELETE /std/orgs/{orgID}/documents/{id}", stdGuard.Require("documents", "delete")(http.HandlerFunc(stdAPI.deleteDocument)))
	std.Handle("GET /std/orgs/{orgID}/invoices", stdGuard.Require("invoices", "read")(http.HandlerFunc(stdAPI.listInvoices)))
	std.Handle("GET /std/m2m/orgs/{orgID}/documents", stdGuard.RequireScopes("read:documents")(http.HandlerFunc(stdAPI.listDocuments)))
	std.Handle("GET /std/m2m/orgs/{orgID}/invoices", stdGuard.RequireScopes("read:invoices")(http.HandlerFunc(stdAPI.listInvoices)))

	top := http.NewServeMux()
	top.Handle("/std/", std)
	top.Handle("/", r)
	if a.Mode == modeEmulator {
		return demoCookieEcho(top)
	}
	return top
}

// paramFunc reads a path parameter the way one router stores it.
type paramFunc func(r *http.Request, name string) string

// api serves the organization routes for one router. The handlers read the
// organization with the same param function the router's guard uses, so they
// act on exactly the organization the guard authorized.
type api struct {
	store *store
	param paramFunc
}

func (h api) listDocuments(w http.ResponseWriter, r *http.Request) {
	org := h.param(r, "orgID")
	writeJSON(w, http.StatusOK, withSubject(r, map[string]any{
		"organization_id": org,
		"documents":       h.store.list(org),
	}))
}

func (h api) getDocument(w http.ResponseWriter, r *http.Request) {
	d, ok := h.store.get(h.param(r, "orgID"), h.param(r, "id"))
	if !ok {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such document in this organization")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"document":       d,
		"granting_roles": grantingRoles(r),
	})
}

func (h api) createDocument(w http.ResponseWriter, r *http.Request) {
	org := h.param(r, "orgID")
	// Requiring a JSON content type means a cross-site form cannot post
	// here, and a cross-origin fetch needs a CORS preflight we never grant.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the document as application/json")
		return
	}
	var in struct {
		Title string `json:"title"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDocumentBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad_request", `the body must be {"title": "..."}`)
		return
	}
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || utf8.RuneCountInString(in.Title) > maxDocumentTitle {
		writeJSONError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("title must hold 1 to %d characters", maxDocumentTitle))
		return
	}
	sess, ok := middleware.MemberSessionFromContext(r.Context())
	if !ok {
		// Unreachable behind Require; fail closed if the route is ever
		// registered without it.
		writeJSONError(w, http.StatusInternalServerError, "no_session", "route is not guarded")
		return
	}
	d, err := h.store.create(org, in.Title, sess.MemberID)
	if errors.Is(err, errStoreFull) {
		writeJSONError(w, http.StatusInsufficientStorage, "document_limit", err.Error())
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+d.ID)
	writeJSON(w, http.StatusCreated, d)
}

func (h api) deleteDocument(w http.ResponseWriter, r *http.Request) {
	if !h.store.delete(h.param(r, "orgID"), h.param(r, "id")) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such document in this organization")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h api) listInvoices(w http.ResponseWriter, r *http.Request) {
	org := h.param(r, "orgID")
	writeJSON(w, http.StatusOK, withSubject(r, map[string]any{
		"organization_id": org,
		"invoices":        h.store.listInvoices(org),
	}))
}

// withSubject adds to body who was let through: for a member session the
// roles that granted the route (granting_roles), for an M2M client its id
// and scopes.
func withSubject(r *http.Request, body map[string]any) map[string]any {
	if p, ok := middleware.FromContext(r.Context()); ok && p.M2M != nil {
		body["client_id"] = p.M2M.ClientID
		body["scopes"] = p.M2M.Scopes
		return body
	}
	body["granting_roles"] = grantingRoles(r)
	return body
}

// grantingRoles returns the roles that granted the route's permission, from
// the verdict of the guard that authorized the request.
func grantingRoles(r *http.Request) []string {
	if p, ok := middleware.FromContext(r.Context()); ok {
		if v, ok := p.Verdict(); ok {
			return v.GrantingRoles
		}
	}
	return nil
}

// meResponse is the body of GET /me: the Principal the guard stored.
type meResponse struct {
	// Source is "local" (JWT verified without a network call), "remote"
	// (Stytch answered) or "cache" (a recent remote answer reused).
	Source        string                `json:"source"`
	MemberSession *client.MemberSession `json:"member_session"`
	CustomClaims  map[string]any        `json:"custom_claims"`
	// Claims are the verified JWT claims; absent when the session was
	// decided from an opaque session token.
	Claims       *client.Claims       `json:"claims,omitempty"`
	Member       *client.Member       `json:"member,omitempty"`
	Organization *client.Organization `json:"organization,omitempty"`
}

func me(w http.ResponseWriter, r *http.Request) {
	p, ok := middleware.FromContext(r.Context())
	if !ok {
		writeJSONError(w, http.StatusInternalServerError, "no_session", "route is not guarded")
		return
	}
	custom := p.MemberSession.CustomClaims
	if custom == nil {
		custom = map[string]any{}
	}
	writeJSON(w, http.StatusOK, meResponse{
		Source:        string(p.Source),
		MemberSession: p.MemberSession,
		CustomClaims:  custom,
		Claims:        p.Claims,
		Member:        p.Member,
		Organization:  p.Organization,
	})
}

// index lists the routes, as plain text.
func (a *app) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "stytchguard example (%s mode)\n\n", a.Mode)
	fmt.Fprint(w, routeTable)
	if a.Mode == modeEmulator {
		fmt.Fprint(w, "\nIn a browser: /demo/login?member=alice (or bob, carol, dave)\n")
	}
}

// routeTable is the text of GET /.
const routeTable = `GET    /healthz                          public; the guard's health (200 ready, 503 not)
GET    /metrics                          public; the guard's metrics, Prometheus text format
GET    /me                               any session
POST   /logout                           revokes the session, clears the cookies (204)
GET    /orgs/{orgID}/documents           documents:read
GET    /orgs/{orgID}/documents/{id}      documents:read
POST   /orgs/{orgID}/documents           documents:write   Content-Type: application/json, {"title": "..."}
DELETE /orgs/{orgID}/documents/{id}      documents:delete
GET    /orgs/{orgID}/invoices            invoices:read
GET    /m2m/orgs/{orgID}/documents       M2M token with scope read:documents (Bearer)
GET    /m2m/orgs/{orgID}/invoices        M2M token with scope read:invoices (Bearer)

Document ids are doc-N (doc-1, doc-2, ...), as the POST answers them.
{orgID} must be the session's own organization, or an M2M token's
organization_id claim (else 403 tenancy_mismatch).
The same routes are served by net/http's ServeMux under /std/.
`

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError writes an error body of the same shape as the guards'.
func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
