package client

// M2MClaims are the verified claims of an M2M access token (an OAuth 2.0
// client-credentials token issued by POST /v1/public/{project_id}/oauth2/token),
// in the shape of the Stytch SDK's AuthenticateToken response.
type M2MClaims struct {
	// ClientID is the M2M client the token was issued to (the token's sub).
	ClientID string `json:"client_id"`
	// Scopes are the token's scopes, split from its space-separated scope
	// claim, in order.
	Scopes []string `json:"scopes"`
	// CustomClaims are the client's custom claims: every top-level claim
	// other than exp, nbf, iat, aud, sub, iss and scope, as Stytch's
	// AuthenticateToken reports them.
	CustomClaims map[string]any `json:"custom_claims"`
}
