package middleware

import "net/http"

// crossOrigin runs Config.CrossOrigin on a request authenticated by
// cookies. Safe methods pass; an unsafe one must come from the same origin,
// a same-origin Sec-Fetch-Site, a trusted origin, or a client that is no
// browser (neither Sec-Fetch-Site nor Origin). A method-override header
// can only make the check stricter: the request is refused when either its
// own method or the one it claims is unsafe and the origin is foreign.
func (g *Guard) crossOrigin(r *http.Request) error {
	if err := g.cfg.CrossOrigin.Check(r); err != nil {
		return newError(ErrCrossOrigin, "", err)
	}
	if m := effectiveMethod(r); m != r.Method {
		r2 := *r // shallow: only the method differs
		r2.Method = m
		if err := g.cfg.CrossOrigin.Check(&r2); err != nil {
			return newError(ErrCrossOrigin, "", err)
		}
	}
	return nil
}
