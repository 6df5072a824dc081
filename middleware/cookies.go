package middleware

import (
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard/client"
)

// setCookies re-issues both session cookies after Stytch returned a fresh
// JWT and token; they expire with the session.
func (g *Guard) setCookies(w http.ResponseWriter, resp *client.AuthenticateResponse) {
	var exp time.Time
	if resp.MemberSession.ExpiresAt != nil {
		exp = *resp.MemberSession.ExpiresAt
	}
	g.SetSessionCookies(w, resp.SessionJWT, resp.SessionToken, exp)
}

// SetSessionCookies sets the session cookies with the Guard's names and
// attributes, for login handlers: sessionJWT and sessionToken (each only
// when non-empty), expiring at expires (the session's expires_at; zero
// means a browser-session cookie).
func (g *Guard) SetSessionCookies(w http.ResponseWriter, sessionJWT, sessionToken string, expires time.Time) {
	if !expires.IsZero() {
		expires = expires.UTC()
	}
	if sessionJWT != "" {
		http.SetCookie(w, g.cookie(g.cfg.JWTCookie, sessionJWT, expires))
	}
	if sessionToken != "" {
		http.SetCookie(w, g.cookie(g.cfg.TokenCookie, sessionToken, expires))
	}
}

// ClearSessionCookies expires both session cookies, for logout handlers.
func (g *Guard) ClearSessionCookies(w http.ResponseWriter) { g.clearCookies(w) }

// clearCookies expires both session cookies.
func (g *Guard) clearCookies(w http.ResponseWriter) {
	for _, name := range []string{g.cfg.JWTCookie, g.cfg.TokenCookie} {
		c := g.cookie(name, "", time.Unix(0, 0))
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
}

func (g *Guard) cookie(name, value string, expires time.Time) *http.Cookie {
	a := g.cfg.Cookies
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     a.Path,
		Domain:   a.Domain,
		Expires:  expires,
		Secure:   !a.AllowInsecure,
		HttpOnly: !a.ScriptReadable,
		SameSite: a.SameSite,
	}
}
