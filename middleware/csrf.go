package middleware

import "net/http"

// crossOrigin runs Config.CrossOrigin on a request authenticated by
// cookies. Safe methods pass; an unsafe one (judged by the method the
// request claims, override headers included) must come from the same
// origin, a same-origin Sec-Fetch-Site, a trusted origin, or a client that
// is no browser (neither Sec-Fetch-Site nor Origin).
func (g *Guard) crossOrigin(r *http.Request) error {
	if m := effectiveMethod(r); m != r.Method {
		r2 := *r // shallow: only the method differs
		r2.Method = m
		r = &r2
	}
	if err := g.cfg.CrossOrigin.Check(r); err != nil {
		return newError(ErrCrossOrigin, "", err)
	}
	return nil
}
