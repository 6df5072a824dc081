package middleware

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/stytchguard/stytchguard/client"
)

// methodOverrideHeaders are the headers through which frameworks let a
// request claim another method than its own.
var methodOverrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// effectiveMethod is the method r claims: its own, or the one an override
// header names (the guard treats the request like the method it claims, as
// a framework behind it may).
func effectiveMethod(r *http.Request) string {
	for _, h := range methodOverrideHeaders {
		if v := r.Header[h]; len(v) > 0 {
			if m := strings.ToUpper(strings.TrimSpace(v[0])); m != "" && m != r.Method {
				return m
			}
		}
	}
	return r.Method
}

// varyCredentials is the Vary value of every guarded response: what the
// guard decides depends on these request headers.
const varyCredentials = "Cookie, Authorization"

// varyValue is the Vary header the guard sets on a response that has none
// yet. Its capacity is its length, so Header.Add appends to a new array and
// never writes into it; it is never handed out for modification otherwise.
var varyValue = []string{varyCredentials}

// varyOnCredentials tells caches that the response depends on the
// credential headers. It allocates nothing on a response without Vary.
func varyOnCredentials(h http.Header) {
	if v := h["Vary"]; len(v) > 0 {
		h["Vary"] = append(v, varyCredentials)
		return
	}
	h["Vary"] = varyValue[:1:1]
}

// setsCookies reports whether the response so far sets a cookie.
func setsCookies(w http.ResponseWriter) bool { return len(w.Header()["Set-Cookie"]) > 0 }

// noStore wraps w so that the response carries "Cache-Control: no-store"
// however the handler sets Cache-Control: it sets or clears session
// cookies, and a shared cache must never store it.
func noStore(w http.ResponseWriter) http.ResponseWriter {
	w.Header().Set("Cache-Control", "no-store")
	return &noStoreWriter{ResponseWriter: w}
}

type noStoreWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *noStoreWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		w.Header().Set("Cache-Control", "no-store")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noStoreWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// finished sets "Cache-Control: no-store" once more after the handler
// returned, for a handler that set Cache-Control and wrote nothing: the
// server then sends the header map as it stands.
func finished(w http.ResponseWriter) {
	if ns, ok := w.(*noStoreWriter); ok && !ns.wrote {
		ns.Header().Set("Cache-Control", "no-store")
	}
}

// Flush implements http.Flusher when the wrapped writer does.
func (w *noStoreWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the wrapped writer does.
func (w *noStoreWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *noStoreWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withoutPrincipal returns r without any Principal in its context.
func withoutPrincipal(r *http.Request) *http.Request {
	if r.Context().Value(ctxKey{}) == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, (*Principal)(nil)))
}

// redacted is err's text with the credential that was sent cut out, so
// that no token reaches a log even if an upstream message echoes it.
func redacted(err error, cred Credential) string {
	msg := err.Error()
	for _, c := range [...]string{cred.SessionJWT, cred.SessionToken} {
		if c == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, c, "[redacted]")
		// A JWT's segments alone (its signature, its payload) identify it
		// as well.
		for seg := range strings.SplitSeq(c, ".") {
			if len(seg) >= 16 {
				msg = strings.ReplaceAll(msg, seg, "[redacted]")
			}
		}
	}
	return msg
}

// redactedError is an error whose text has a credential cut out; it still
// unwraps to the original for errors.Is and errors.As.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// requestID is the request_id of Stytch's answer behind err, if any.
func requestID(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.RequestID
	}
	return ""
}
